import { describe, expect, it } from 'vitest';

import {
  appendOlder,
  hiddenRows,
  holdsTheStart,
  MAX_STALE,
  refreshRows,
  staleIndexes
} from '../src/paging';
import type { IDetailRows } from '../src/paging';
import type { ICheckpoint, IExecution, ITimelineRow } from '../src/types';

function call(index: number, status = 'completed'): ICheckpoint {
  return {
    call_id: `c${index}`,
    name: 'step',
    index,
    status,
    display_status: status
  } as unknown as ICheckpoint;
}

function row(index: number, status = 'completed'): ITimelineRow {
  return { index, kind: 'checkpoint', name: 'step', status };
}

/**
 * A detail as the server sends it: `total` positions, rows `from`..`to` (and `open` ones before),
 * statuses from `status` (default completed).
 */
function detail(
  total: number,
  from: number,
  to: number,
  opts: {
    open?: number[];
    older?: boolean;
    status?: Record<number, string>;
    progress?: number;
  } = {}
): IExecution {
  const indexes = [...(opts.open ?? []), ...range(from, to)];
  const status = (i: number): string => opts.status?.[i] ?? 'completed';
  return {
    exec_id: 'e1',
    status: 'running',
    progress: { done: opts.progress ?? total, total },
    checkpoints: indexes.map(i => call(i, status(i))),
    timeline: indexes.map(i => row(i, status(i))),
    waits: [],
    partial: indexes.length < total,
    page: {
      total,
      first_index: to >= from ? from : null,
      last_index: to >= from ? to : null,
      older: opts.older ?? from > 0,
      newer: false,
      limit: 200
    }
  } as unknown as IExecution;
}

function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = from; i <= to; i++) {
    out.push(i);
  }
  return out;
}

function indexes(rows: IDetailRows): number[] {
  return rows.execution.timeline.map(r => r.index);
}

describe('show older rows', () => {
  it('adds the page before the rows held, once each, in position order', () => {
    let rows = refreshRows(null, detail(1000, 800, 999));
    expect(hiddenRows(rows.execution)).toBe(800);
    expect(holdsTheStart(rows.execution)).toBe(false);

    rows = appendOlder(rows, detail(1000, 600, 799));
    expect(indexes(rows)).toEqual(range(600, 999));
    expect(rows.execution.checkpoints.map(c => c.index)).toEqual(
      range(600, 999)
    );
    expect(rows.execution.page?.first_index).toBe(600);
    expect(rows.execution.page?.last_index).toBe(999);
    expect(hiddenRows(rows.execution)).toBe(600);
    expect(rows.execution.partial).toBe(true);

    // a page that overlaps an open row the default page carried holds it once
    rows = appendOlder(rows, detail(1000, 0, 599, { older: false }));
    expect(indexes(rows)).toEqual(range(0, 999));
    expect(hiddenRows(rows.execution)).toBe(0);
    expect(rows.execution.partial).toBe(false);
    expect(holdsTheStart(rows.execution)).toBe(true);
  });

  it('keeps an open row far back from the default page once', () => {
    let rows = refreshRows(
      null,
      detail(1000, 800, 999, { open: [5], status: { 5: 'failed' } })
    );
    expect(indexes(rows)).toEqual([5, ...range(800, 999)]);
    rows = appendOlder(
      rows,
      detail(1000, 0, 799, { older: false, status: { 5: 'failed' } })
    );
    expect(indexes(rows)).toEqual(range(0, 999));
  });
});

describe('a live refresh', () => {
  it('replaces the default page and keeps the older rows the user loaded', () => {
    let rows = refreshRows(null, detail(1000, 800, 999));
    rows = appendOlder(rows, detail(1000, 600, 799));
    // the flow ran on: 50 more rows, the default page moved
    rows = refreshRows(rows, detail(1050, 850, 1049));
    expect(indexes(rows)).toEqual(range(600, 1049));
    expect(rows.execution.page?.first_index).toBe(600);
    expect(rows.execution.page?.total).toBe(1050);
    expect(rows.execution.progress.total).toBe(1050);
    expect(hiddenRows(rows.execution)).toBe(600);
  });

  it('without older rows loaded, shows just the fresh page (no growth while a flow runs)', () => {
    let rows = refreshRows(null, detail(1000, 800, 999));
    rows = refreshRows(rows, detail(1050, 850, 1049));
    expect(indexes(rows)).toEqual(range(850, 1049));
    expect(rows.olderLoaded).toBe(false);
  });

  it('reads again the held rows that were open and changed', () => {
    let rows = refreshRows(
      null,
      detail(1000, 800, 999, { open: [5], status: { 5: 'failed' } })
    );
    rows = appendOlder(
      rows,
      detail(1000, 0, 799, { older: false, status: { 5: 'failed' } })
    );
    // row 5 was retried and completed: it is not among the fresh page's open rows any more
    const fresh = detail(1000, 800, 999);
    expect(staleIndexes(rows, fresh)).toEqual([5]);
    const reread = detail(1000, 5, 5);
    rows = refreshRows(rows, fresh, [reread]);
    expect(indexes(rows)).toEqual(range(0, 999));
    expect(rows.execution.timeline[5].status).toBe('completed');
    // nothing held is stale now
    expect(staleIndexes(rows, fresh)).toEqual([]);
  });

  it('starts afresh when too many held rows changed', () => {
    const status: Record<number, string> = {};
    for (const i of range(0, MAX_STALE)) {
      status[i] = 'running';
    }
    let rows = refreshRows(null, detail(1000, 800, 999));
    rows = appendOlder(rows, detail(1000, 0, 799, { older: false, status }));
    rows = refreshRows(rows, detail(1000, 800, 999));
    expect(indexes(rows)).toEqual(range(800, 999));
    expect(rows.olderLoaded).toBe(false);
  });

  it('a small execution is whole and offers replay from every row', () => {
    const rows = refreshRows(null, detail(3, 0, 2, { older: false }));
    expect(hiddenRows(rows.execution)).toBe(0);
    expect(holdsTheStart(rows.execution)).toBe(true);
  });
});
