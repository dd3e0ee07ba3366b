/**
 * The rows an execution's detail holds: the server's default page (the last rows and every open
 * one), the older pages the user asked for, and the live refreshes that replace what changed.
 *
 * A refresh reads only the default page: rows the user loaded before it stay, fresh rows replace
 * the held ones at the same position, and a held row that was not done (running, failed, paused,
 * waiting) but is not among the fresh page's open rows any more changed: the caller reads it again
 * (`stale`), so nothing shown is out of date and no refresh reads thousands of rows.
 */
import type { IDetailPage, IExecution } from './types';

/** Statuses of a position that does not change any more. */
const DONE = new Set(['completed', 'reused', 'skipped']);

/** At most this many changed rows are read again one by one; beyond, the view starts afresh. */
export const MAX_STALE = 20;

export interface IDetailRows {
  /** the execution as the detail renders it: the latest counts, the rows held */
  execution: IExecution;
  /** rows before the default page were loaded with "show older rows" (they stay on refresh) */
  olderLoaded: boolean;
}

interface IIndexed {
  index: number;
}

/** The rows of all lists by position, a later list's row replacing an earlier one's. */
function byIndex<T extends IIndexed>(...lists: T[][]): T[] {
  const rows = new Map<number, T>();
  for (const list of lists) {
    for (const row of list) {
      rows.set(row.index, row);
    }
  }
  return [...rows.values()].sort((a, b) => a.index - b.index);
}

function pick(
  execution: IExecution,
  keep: (index: number) => boolean
): Pick<IExecution, 'timeline' | 'checkpoints' | 'waits'> {
  return {
    timeline: execution.timeline.filter(r => keep(r.index)),
    checkpoints: execution.checkpoints.filter(c => keep(c.index)),
    waits: (execution.waits ?? []).filter(w => keep(w.index))
  };
}

/** `base` with the rows of `parts` merged in by position (later parts win) and `page`. */
function withRows(
  base: IExecution,
  page: IDetailPage | undefined,
  ...parts: Array<Pick<IExecution, 'timeline' | 'checkpoints' | 'waits'>>
): IExecution {
  const timeline = byIndex(...parts.map(p => p.timeline));
  const total = page?.total ?? timeline.length;
  return {
    ...base,
    timeline,
    checkpoints: byIndex(...parts.map(p => p.checkpoints)),
    waits: byIndex(...parts.map(p => p.waits ?? [])),
    page,
    partial: timeline.length < total
  };
}

/** Whether a timeline row's position is done (it does not change any more). */
export function isDone(status: string): boolean {
  return DONE.has(status);
}

/**
 * The positions of `held` a refresh with `fresh` (a default page) must read again: rows loaded
 * before the fresh page that were not done and are not among its rows any more.
 */
export function staleIndexes(
  held: IDetailRows | null,
  fresh: IExecution
): number[] {
  if (held === null || !held.olderLoaded) {
    return [];
  }
  const first = fresh.page?.first_index ?? null;
  const freshRows = new Set(fresh.timeline.map(r => r.index));
  return held.execution.timeline
    .filter(
      r =>
        (first === null || r.index < first) &&
        !isDone(r.status) &&
        !freshRows.has(r.index)
    )
    .map(r => r.index);
}

/**
 * What the detail holds after a refresh: `fresh` (the default page) with the older rows the user
 * loaded kept below it, and `reread` (pages of the `staleIndexes`) on top.
 */
export function refreshRows(
  held: IDetailRows | null,
  fresh: IExecution,
  reread: IExecution[] = []
): IDetailRows {
  const heldFirst = held?.execution.page?.first_index ?? null;
  const freshFirst = fresh.page?.first_index ?? null;
  if (
    held === null ||
    !held.olderLoaded ||
    held.execution.exec_id !== fresh.exec_id ||
    heldFirst === null ||
    freshFirst === null ||
    heldFirst >= freshFirst ||
    staleIndexes(held, fresh).length > MAX_STALE
  ) {
    return { execution: fresh, olderLoaded: false };
  }
  const stale = new Set(staleIndexes(held, fresh));
  const older = pick(held.execution, i => i < freshFirst && !stale.has(i));
  const page: IDetailPage | undefined =
    fresh.page === undefined
      ? undefined
      : {
          ...fresh.page,
          first_index: heldFirst,
          older: held.execution.page?.older ?? false
        };
  return {
    execution: withRows(
      fresh,
      page,
      older,
      ...reread.map(r => pick(r, i => stale.has(i))),
      fresh
    ),
    olderLoaded: true
  };
}

/** What the detail holds after "show older rows": `older` (the page before its rows) added. */
export function appendOlder(held: IDetailRows, older: IExecution): IDetailRows {
  const heldPage = held.execution.page;
  const olderPage = older.page;
  const page: IDetailPage | undefined =
    heldPage === undefined
      ? undefined
      : {
          ...heldPage,
          first_index: olderPage?.first_index ?? heldPage.first_index,
          older: olderPage?.older ?? false
        };
  return {
    execution: withRows(held.execution, page, held.execution, older),
    olderLoaded: true
  };
}

/** How many positions of the execution the detail does not hold. */
export function hiddenRows(execution: IExecution): number {
  const total = execution.page?.total ?? execution.timeline.length;
  return Math.max(0, total - execution.timeline.length);
}

/** Whether every position before the held rows is held too (a replay's `name#k` needs them). */
export function holdsTheStart(execution: IExecution): boolean {
  return execution.page === undefined || !execution.page.older;
}
