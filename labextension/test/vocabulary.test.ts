import { describe, expect, it } from 'vitest';

import {
  checkpointSeconds,
  checkpointStatus,
  formatDuration,
  formatProgress,
  notebookName,
  replayFrom
} from '../src/format';
import {
  answerSnippet,
  pythonLiteral,
  replaySnippet,
  retrySnippet
} from '../src/snippets';
import type { ICheckpoint } from '../src/types';

function call(over: Partial<ICheckpoint>): ICheckpoint {
  return {
    call_id: 'c1',
    name: 'fetch',
    index: 0,
    status: 'completed',
    started_at: '2026-01-01T00:00:00+00:00',
    ended_at: '2026-01-01T00:00:30.800000+00:00',
    failure: null,
    attempts: [],
    original_call_id: null,
    output_preview: null,
    paused: false,
    fingerprint: null,
    code_changed: null,
    duration: 0.0001,
    paused_seconds: 0,
    display_status: 'completed',
    metadata: {},
    checkpoint_type: null,
    artifacts: [],
    cached_from: null,
    ...over
  };
}

describe('formatDuration (the panel thresholds)', () => {
  it('writes µs, ms, s and min as the panel does', () => {
    expect(formatDuration(0.000584)).toBe('584 µs');
    expect(formatDuration(0.0142)).toBe('14.2 ms');
    expect(formatDuration(3.25)).toBe('3.25 s');
    expect(formatDuration(150)).toBe('2.5 min');
    expect(formatDuration(null)).toBe('');
    expect(formatDuration(undefined)).toBe('');
  });
});

describe('checkpoint numbers and words', () => {
  it("uses the payload's duration (time attempts ran), not end minus start", () => {
    // paused 30 s for a decision: started..ended spans 30.8 s, the attempts ran 14.2 ms
    expect(formatDuration(checkpointSeconds(call({ duration: 0.0142 })))).toBe(
      '14.2 ms'
    );
  });

  it('says paused for a checkpoint paused on error, like the panel', () => {
    expect(
      checkpointStatus(
        call({ status: 'failed', paused: true, display_status: 'paused' })
      )
    ).toBe('paused');
    expect(checkpointStatus(call({ status: 'completed' }))).toBe('completed');
  });

  it('names a repeated checkpoint by its call number for a replay', () => {
    const all = [
      call({ call_id: 'a', name: 'step', index: 0 }),
      call({ call_id: 'b', name: 'other', index: 1 }),
      call({ call_id: 'c', name: 'step', index: 2 })
    ];
    expect(replayFrom(all[1], all)).toBe('other');
    expect(replayFrom(all[0], all)).toBe('step#1');
    expect(replayFrom(all[2], all)).toBe('step#2');
  });

  it('shows progress and the notebook file name', () => {
    expect(formatProgress({ done: 3, total: 20 })).toBe('3/20');
    expect(formatProgress({ done: 3, total: 20 }, true)).toBe('3/20 done');
    expect(notebookName('work/reports/budget.ipynb')).toBe('budget.ipynb');
    expect(notebookName(null)).toBe('');
  });
});

describe('copy as code', () => {
  it('writes JSON values as Python literals', () => {
    expect(
      pythonLiteral({ ok: true, n: null, xs: [1, 2.5, 'a"b'], no: false })
    ).toBe('{"ok": True, "n": None, "xs": [1, 2.5, "a\\"b"], "no": False}');
  });

  it('writes the client calls of retry, replay and answer', () => {
    expect(retrySnippet('abc123')).toBe(
      'from kitaru_nb import KitaruClient\n\nexecutions = KitaruClient().executions\n' +
        'executions.retry("abc123")\n'
    );
    expect(replaySnippet('abc123', 'load#2')).toContain(
      'executions.replay("abc123", from_="load#2")'
    );
    expect(
      replaySnippet('abc123', 'load', { 'checkpoint.load': [1, 2] })
    ).toContain(
      'executions.replay("abc123", from_="load", overrides={"checkpoint.load": [1, 2]})'
    );
    expect(
      replaySnippet(
        'abc123',
        'load',
        { 'checkpoint.load': 1 },
        { nextFrom: 'total' }
      )
    ).toContain(
      'executions.replay("abc123", from_="total", overrides={"checkpoint.load": 1})'
    );
    expect(
      replaySnippet(
        'abc123',
        'total',
        { 'checkpoint.total': 1 },
        { nextFrom: null }
      )
    ).toContain(
      'executions.request_replay("abc123", from_="total", overrides={"checkpoint.total": 1}, after=True)'
    );
    expect(answerSnippet('abc123', 'approve', { approved: false })).toContain(
      'executions.input("abc123", wait="approve", value={"approved": False})'
    );
  });
});
