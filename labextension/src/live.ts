/**
 * How the sidebar learns of changes: pushed by the server (a `journal_changed` event on Jupyter's
 * event bus, emitted when the journal's change token moves), with a `@lumino/polling` Poll as the
 * fallback. The poll asks for the waiting counts and the change token (one small request) and
 * backs off when the server does not answer; it stands by while the page is hidden. While pushes
 * arrive (the server sends a heartbeat every 10 s) it only checks every `PUSH_ALIVE_POLL_MS`.
 */
import type { Event } from '@jupyterlab/services';
import { Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';

import type { ExecutionsAPI } from './request';
import type { IJournalChanged, IWaitingCounts } from './types';

export const EVENT_SCHEMA_ID =
  'https://events.kitaru-nb.dev/journal_changed/v1';

/** Without an event for this long, the push is taken as gone and the poll runs at its interval. */
export const PUSH_SILENCE_MS = 25_000;
/** How often the poll checks while pushes arrive. */
export const PUSH_ALIVE_POLL_MS = 30_000;

export interface ILiveSettings {
  /** seconds between two polls when no push arrives */
  pollInterval: number;
  /** listen to the server's pushes */
  push: boolean;
}

/** The data of an event-bus emission, when it is a `journal_changed` event. */
export function journalChanged(
  emission: Record<string, unknown>
): IJournalChanged | null {
  if (emission['schema_id'] !== EVENT_SCHEMA_ID) {
    return null;
  }
  const { reason, token, input, decision } = emission;
  if (
    (reason !== 'changed' && reason !== 'heartbeat') ||
    typeof token !== 'number' ||
    typeof input !== 'number' ||
    typeof decision !== 'number'
  ) {
    return null;
  }
  return { reason, token, input, decision };
}

export class LiveUpdates {
  constructor(
    private readonly _api: ExecutionsAPI,
    private readonly _events: Event.IManager | null,
    settings: ILiveSettings
  ) {
    this._settings = settings;
    this._poll = new Poll({
      factory: () => this._tick(),
      frequency: this._frequency(),
      standby: 'when-hidden',
      name: 'kitaru-nb:executions'
    });
    if (this._events !== null) {
      this._events.stream.connect(this._onEvent);
    }
  }

  /** The journal changed (or the first check after start): views refresh. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** New counts of executions waiting for a human. */
  get countsChanged(): ISignal<this, IWaitingCounts> {
    return this._countsChanged;
  }

  /** The mode changed: pushes started or stopped arriving. */
  get modeChanged(): ISignal<this, 'push' | 'poll'> {
    return this._modeChanged;
  }

  get counts(): IWaitingCounts | null {
    return this._counts;
  }

  /** 'push' while server pushes arrive, else 'poll'. */
  get mode(): 'push' | 'poll' {
    return this._pushAlive() ? 'push' : 'poll';
  }

  set settings(settings: ILiveSettings) {
    this._settings = settings;
    this._poll.frequency = this._frequency();
  }

  /** Check now (after an action of this page, or when the sidebar is shown). */
  refresh(): void {
    void this._poll.refresh();
  }

  dispose(): void {
    if (this._events !== null) {
      this._events.stream.disconnect(this._onEvent);
    }
    this._poll.dispose();
    Signal.clearData(this);
  }

  private _pushAlive(): boolean {
    return (
      this._settings.push &&
      this._lastPush !== null &&
      Date.now() - this._lastPush < PUSH_SILENCE_MS
    );
  }

  private _frequency(): { interval: number; backoff: boolean; max: number } {
    const interval = this._pushAlive()
      ? PUSH_ALIVE_POLL_MS
      : Math.max(500, this._settings.pollInterval * 1000);
    return { interval, backoff: true, max: Math.max(interval * 10, 60_000) };
  }

  private async _tick(): Promise<void> {
    const counts = await this._api.counts();
    this._setCounts(counts.input, counts.decision, counts.token);
    const frequency = this._frequency();
    if (frequency.interval !== this._poll.frequency.interval) {
      this._poll.frequency = frequency;
    }
    this._emitMode();
  }

  private _onEvent = (_: unknown, emission: Event.Emission): void => {
    if (!this._settings.push) {
      return;
    }
    const event = journalChanged(emission);
    if (event === null) {
      return;
    }
    const wasAlive = this._pushAlive();
    this._lastPush = Date.now();
    this._setCounts(event.input, event.decision, event.token);
    if (!wasAlive) {
      this._poll.frequency = this._frequency();
    }
    this._emitMode();
  };

  private _emitMode(): void {
    const mode = this.mode;
    if (mode !== this._lastMode) {
      this._lastMode = mode;
      this._modeChanged.emit(mode);
    }
  }

  private _setCounts(input: number, decision: number, token: number): void {
    const prev = this._counts;
    const counts = { input, decision, total: input + decision, token };
    this._counts = counts;
    if (prev === null || prev.input !== input || prev.decision !== decision) {
      this._countsChanged.emit(counts);
    }
    if (prev === null || prev.token !== token) {
      this._changed.emit(undefined);
    }
  }

  private _settings: ILiveSettings;
  private _poll: Poll;
  private _counts: IWaitingCounts | null = null;
  private _lastPush: number | null = null;
  private _changed = new Signal<this, void>(this);
  private _countsChanged = new Signal<this, IWaitingCounts>(this);
  private _modeChanged = new Signal<this, 'push' | 'poll'>(this);
  private _lastMode: 'push' | 'poll' = 'poll';
}
