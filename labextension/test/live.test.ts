import { Signal } from '@lumino/signaling';
import { afterEach, describe, expect, it } from 'vitest';

import { EVENT_SCHEMA_ID, journalChanged, LiveUpdates } from '../src/live';
import type { ExecutionsAPI } from '../src/request';
import type { IWaitingCounts } from '../src/types';

class FakeAPI {
  calls = 0;
  fail = false;
  counts: IWaitingCounts = { input: 0, decision: 0, total: 0, token: 1 };
  counts_(): Promise<IWaitingCounts> {
    this.calls += 1;
    return this.fail
      ? Promise.reject(new Error('server down'))
      : Promise.resolve({ ...this.counts });
  }
}

function fakeApi(): { fake: FakeAPI; api: ExecutionsAPI } {
  const fake = new FakeAPI();
  const api = { counts: () => fake.counts_() } as unknown as ExecutionsAPI;
  return { fake, api };
}

class FakeEvents {
  stream = new Signal<this, Record<string, unknown>>(this);
  isDisposed = false;
  dispose(): void {
    this.isDisposed = true;
  }
}

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

let live: LiveUpdates | null = null;
afterEach(() => {
  live?.dispose();
  live = null;
});

describe('journalChanged', () => {
  it('reads only our events', () => {
    expect(
      journalChanged({
        schema_id: EVENT_SCHEMA_ID,
        reason: 'changed',
        token: 3,
        input: 1,
        decision: 0
      })
    ).toEqual({ reason: 'changed', token: 3, input: 1, decision: 0 });
    expect(
      journalChanged({
        schema_id: 'https://events.jupyter.org/x',
        reason: 'changed'
      })
    ).toBeNull();
    expect(
      journalChanged({
        schema_id: EVENT_SCHEMA_ID,
        reason: 'changed',
        token: 'x'
      })
    ).toBeNull();
  });
});

describe('LiveUpdates', () => {
  it('tells views about a pushed change at once and counts what waits', async () => {
    const { api } = fakeApi();
    const events = new FakeEvents();
    live = new LiveUpdates(api, events as never, {
      pollInterval: 3600,
      push: true
    });
    let changes = 0;
    const seen: IWaitingCounts[] = [];
    live.changed.connect(() => (changes += 1));
    live.countsChanged.connect((_, c) => seen.push(c));
    await sleep(50); // the first poll
    expect(changes).toBe(1);
    expect(live.mode).toBe('poll');

    events.stream.emit({
      schema_id: EVENT_SCHEMA_ID,
      reason: 'changed',
      token: 2,
      input: 2,
      decision: 1
    });
    expect(changes).toBe(2);
    expect(seen[seen.length - 1]).toEqual({
      input: 2,
      decision: 1,
      total: 3,
      token: 2
    });
    expect(live.mode).toBe('push');

    // a heartbeat with the same token changes nothing
    events.stream.emit({
      schema_id: EVENT_SCHEMA_ID,
      reason: 'heartbeat',
      token: 2,
      input: 2,
      decision: 1
    });
    expect(changes).toBe(2);
  });

  it('ignores pushes when the setting turns them off', async () => {
    const { api } = fakeApi();
    const events = new FakeEvents();
    live = new LiveUpdates(api, events as never, {
      pollInterval: 3600,
      push: false
    });
    await sleep(50);
    let changes = 0;
    live.changed.connect(() => (changes += 1));
    events.stream.emit({
      schema_id: EVENT_SCHEMA_ID,
      reason: 'changed',
      token: 9,
      input: 0,
      decision: 0
    });
    expect(changes).toBe(0);
    expect(live.mode).toBe('poll');
  });

  it('falls back to polling at the configured interval, and sees changes by their token', async () => {
    const { fake, api } = fakeApi();
    live = new LiveUpdates(api, null, { pollInterval: 0.5, push: true });
    let changes = 0;
    live.changed.connect(() => (changes += 1));
    await sleep(50);
    expect(fake.calls).toBe(1);
    fake.counts = { input: 1, decision: 0, total: 1, token: 7 };
    await sleep(700);
    expect(fake.calls).toBeGreaterThanOrEqual(2);
    expect(changes).toBe(2);
    expect(live.counts?.input).toBe(1);
  });
});
