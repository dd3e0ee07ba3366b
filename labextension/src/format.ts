/**
 * One vocabulary for the sidebar, the same as the notebook panel's: status words, durations and
 * dates. Durations are the time attempts ran (kitaru_nb's `duration` fields), with the time a
 * checkpoint sat paused shown apart; dates are JupyterLab's locale-aware relative time with the
 * exact time on hover (what the file browser shows).
 */
import { Time } from '@jupyterlab/coreutils';

import type { ICheckpoint, ListStatus } from './types';

/** The words the list's status filter shows for each filter value. */
export const STATUS_LABELS: Record<ListStatus, string> = {
  running: 'running',
  waiting: 'waiting (any)',
  needs_input: 'needs input',
  paused_on_error: 'paused on error',
  completed: 'completed',
  failed: 'failed',
  cancelled: 'cancelled'
};

/**
 * A duration as the panel writes it: `584 µs`, `14.2 ms`, `3.25 s`, `2.5 min`; '' for null
 * (still running). The same thresholds as `kitaru_nb.widgets.render.fmt_duration`.
 */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) {
    return '';
  }
  if (seconds < 1e-3) {
    return `${(seconds * 1e6).toFixed(0)} µs`;
  }
  if (seconds < 1) {
    return `${(seconds * 1e3).toFixed(1)} ms`;
  }
  if (seconds < 120) {
    return `${seconds.toFixed(2)} s`;
  }
  return `${(seconds / 60).toFixed(1)} min`;
}

/** Seconds between two ISO times (a fallback when a payload has no `duration`). */
export function secondsBetween(
  start: string,
  end: string | null
): number | null {
  if (end === null) {
    return null;
  }
  const ms = Date.parse(end) - Date.parse(start);
  return Number.isFinite(ms) ? ms / 1000 : null;
}

/** `3 minutes ago` in the page's language, as JupyterLab writes it. */
export function relativeTime(iso: string | null): string {
  if (iso === null || Number.isNaN(Date.parse(iso))) {
    return iso ?? '';
  }
  return Time.formatHuman(iso);
}

/** The exact time in the page's language, shown on hover. */
export function exactTime(iso: string | null): string {
  if (iso === null || Number.isNaN(Date.parse(iso))) {
    return iso ?? '';
  }
  return Time.format(iso);
}

/** `3/20` or `3/20 done` (positions finished: checkpoints and answered waits), as the panel. */
export function formatProgress(
  progress: { done: number; total: number } | undefined,
  long = false
): string {
  if (progress === undefined) {
    return '';
  }
  const text = `${progress.done}/${progress.total}`;
  return long ? `${text} done` : text;
}

/** The notebook's file name (without folders) of an owner path. */
export function notebookName(path: string | null | undefined): string {
  if (!path) {
    return '';
  }
  const parts = path.split('/');
  return parts[parts.length - 1];
}

/** A checkpoint's status word, the panel's: "paused" for one paused on error. */
export function checkpointStatus(call: ICheckpoint): string {
  return call.display_status;
}

/** Seconds a checkpoint's attempts ran (time paused for a decision does not count). */
export function checkpointSeconds(call: ICheckpoint): number | null {
  return call.duration;
}

/** The `from` of a replay starting at this call: `name`, or `name#k` when the name repeats. */
export function replayFrom(call: ICheckpoint, all: ICheckpoint[]): string {
  const same = all.filter(c => c.name === call.name);
  if (same.length <= 1) {
    return call.name;
  }
  return `${call.name}#${same.findIndex(c => c.call_id === call.call_id) + 1}`;
}
