import React, { useRef, useState } from 'react';

import { CopyCode } from './CopyCode';
import { CheckpointExtras, Group, Metadata } from './Extras';
import {
  checkpointSeconds,
  checkpointStatus,
  formatDuration,
  formatProgress,
  notebookName,
  replayFrom
} from './format';
import { isGroup, leafName } from './groups';
import type { IGroup } from './groups';
import type { LiveUpdates } from './live';
import {
  appendOlder,
  hiddenRows,
  holdsTheStart,
  refreshRows,
  staleIndexes
} from './paging';
import type { IDetailRows } from './paging';
import { timelineItems } from './timeline';
import type { ITimelineItem } from './timeline';
import { ExecutionsAPI, KitaruApiError } from './request';
import { replaySnippet, retrySnippet } from './snippets';
import { When } from './Time';
import { useLive } from './useLive';
import { WaitForm } from './WaitForm';
import type {
  Decision,
  IAttempt,
  ICheckpoint,
  IExecution,
  IFailure,
  IRequest,
  ITimelineRow
} from './types';

export function StatusBadge(props: { status: string }): JSX.Element {
  return (
    <span className="kitaru-nb-badge" data-status={props.status}>
      {props.status}
    </span>
  );
}

function nextCheckpointFrom(
  call: ICheckpoint,
  all: ICheckpoint[]
): string | null {
  const later = all.filter(c => c.index > call.index);
  return later.length > 0 ? replayFrom(later[0], all) : null;
}

/** A failure: who is to blame, the exception, and its traceback, all as plain text. */
export function Failure(props: {
  failure: IFailure;
  open?: boolean;
}): JSX.Element {
  const { failure } = props;
  return (
    <div className="kitaru-nb-failure" data-origin={failure.origin}>
      <div className="kitaru-nb-failure-head">
        <span className="kitaru-nb-failure-origin">{failure.origin}</span>{' '}
        {failure.exception_type !== null && (
          <span className="kitaru-nb-failure-type">
            {failure.exception_type}:{' '}
          </span>
        )}
        <span className="kitaru-nb-failure-message">{failure.message}</span>
      </div>
      {failure.traceback !== null && failure.traceback !== '' && (
        <details className="kitaru-nb-traceback-box" open={props.open}>
          <summary>Traceback</summary>
          <pre className="kitaru-nb-traceback">{failure.traceback}</pre>
        </details>
      )}
    </div>
  );
}

function Attempt(props: { attempt: IAttempt }): JSX.Element {
  const { attempt } = props;
  const seconds = attempt.duration;
  return (
    <li
      className="kitaru-nb-attempt"
      data-number={attempt.number}
      data-status={attempt.status}
    >
      <span className="kitaru-nb-attempt-number">#{attempt.number}</span>{' '}
      <StatusBadge status={attempt.status} />{' '}
      <span className="kitaru-nb-duration">{formatDuration(seconds)}</span>
      {attempt.failure !== null && <Failure failure={attempt.failure} />}
    </li>
  );
}

/** A failed action's message, as text (nothing when there is none). */
export function ErrorLine(props: {
  error: string | null;
  field?: boolean;
}): JSX.Element | null {
  if (props.error === null) {
    return null;
  }
  const className = props.field
    ? 'kitaru-nb-error kitaru-nb-field-error'
    : 'kitaru-nb-error';
  return (
    <div className={className} role="alert">
      {props.error}
    </div>
  );
}

function errorText(e: unknown): string {
  return e instanceof KitaruApiError ? e.message : String(e);
}

/** Retry / Skip for a checkpoint paused on error: recorded by the server, carried out by the kernel. */
function DecisionButtons(props: {
  api: ExecutionsAPI;
  execId: string;
  call: ICheckpoint;
  onDecided: (fresh: IExecution, text: string) => void;
}): JSX.Element {
  const { api, execId, call, onDecided } = props;
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const decide = async (decision: Decision): Promise<void> => {
    setBusy(true);
    setError(null);
    try {
      const fresh = await api.decide(execId, call.name, decision);
      onDecided(
        fresh,
        `${decision === 'retry' ? 'Retry' : 'Skip'} of ${call.name} recorded. ` +
          `The kernel that runs ${fresh.flow_name} carries it out when it is idle.`
      );
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="kitaru-nb-decision" data-checkpoint={call.name}>
      <span className="kitaru-nb-paused">paused on error:</span>{' '}
      <button
        className="jp-mod-styled jp-mod-accept kitaru-nb-retry"
        disabled={busy}
        onClick={() => void decide('retry')}
      >
        Retry
      </button>{' '}
      <button
        className="jp-mod-styled kitaru-nb-skip"
        disabled={busy}
        onClick={() => void decide('skip')}
      >
        Skip
      </button>
      <ErrorLine error={error} />
    </div>
  );
}

/** An action button and its Cancel, both off while the action runs. */
function ActOrCancel(props: {
  label: string;
  className: string;
  cancelClassName?: string;
  busy: boolean;
  onAct: () => void;
  onCancel: () => void;
}): JSX.Element {
  return (
    <>
      <button
        className={`jp-mod-styled ${props.className}`}
        disabled={props.busy}
        onClick={props.onAct}
      >
        {props.label}
      </button>{' '}
      <button
        className={`jp-mod-styled jp-mod-reject ${props.cancelClassName ?? ''}`.trim()}
        disabled={props.busy}
        onClick={props.onCancel}
      >
        Cancel
      </button>
    </>
  );
}

/** "Replay from here": a new execution from this checkpoint, optionally with its output overridden. */
function ReplayFromHere(props: {
  api: ExecutionsAPI;
  execId: string;
  from: string;
  /** the `from` of the next checkpoint, null for the last one */
  nextFrom: string | null;
  name: string;
  onRequested: (text: string) => void;
}): JSX.Element {
  const { api, execId, from, nextFrom, name, onRequested } = props;
  const [open, setOpen] = useState(false);
  const [override, setOverride] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  let overrides: Record<string, unknown> | undefined;
  let parseError: string | null = null;
  if (override.trim() !== '') {
    try {
      overrides = { [`checkpoint.${name}`]: JSON.parse(override) as unknown };
    } catch (e) {
      parseError = `The override is not JSON: ${String(e)}`;
    }
  }
  const request = async (): Promise<void> => {
    if (parseError !== null) {
      setError(parseError);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      // with an override this checkpoint is reused with the new output and what follows runs
      const accepted = await api.replay(
        execId,
        from,
        overrides,
        overrides !== undefined
      );
      onRequested(accepted.message);
      setOpen(false);
      setOverride('');
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };
  if (!open) {
    return (
      <button
        className="jp-mod-styled kitaru-nb-replay-open"
        onClick={() => setOpen(true)}
      >
        Replay from here
      </button>
    );
  }
  return (
    <div className="kitaru-nb-replay" data-from={from}>
      <label className="kitaru-nb-label">
        Override the output of {name} (JSON, optional; empty: run it again, else
        keep this output and run what follows)
        <textarea
          className="jp-mod-styled kitaru-nb-override"
          value={override}
          onChange={e => setOverride(e.target.value)}
        />
      </label>
      <ErrorLine error={error} field />
      <div className="kitaru-nb-form-buttons">
        <ActOrCancel
          label="Replay"
          className="jp-mod-accept kitaru-nb-replay-submit"
          busy={busy}
          onAct={() => void request()}
          onCancel={() => setOpen(false)}
        />
      </div>
      <CopyCode
        what="replay"
        code={replaySnippet(
          execId,
          from,
          overrides,
          overrides !== undefined ? { nextFrom } : undefined
        )}
      />
    </div>
  );
}

function Checkpoint(props: {
  call: ICheckpoint;
  decision?: JSX.Element;
  replay?: JSX.Element;
  /** the name to show (a step's own name inside its construct's group) */
  label?: string;
  onOpen?: (execId: string) => void;
}): JSX.Element {
  const { call } = props;
  const type = call.checkpoint_type ?? null;
  const status = checkpointStatus(call);
  const failed = call.attempts.some(a => a.status !== 'completed');
  const paused = call.paused_seconds;
  return (
    <li
      className="kitaru-nb-checkpoint kitaru-nb-timeline-row"
      data-name={call.name}
      data-status={call.status}
      data-display-status={status}
      data-index={call.index}
    >
      <details open={failed}>
        <summary>
          <span className="kitaru-nb-index">{call.index}</span>{' '}
          <span className="kitaru-nb-checkpoint-name" title={call.name}>
            {props.label ?? call.name}
          </span>{' '}
          {type !== null && type !== 'step' && (
            <>
              <span className="kitaru-nb-type">{type}</span>{' '}
            </>
          )}
          <StatusBadge status={status} />{' '}
          {call.attempts.length > 0 && (
            <>
              <span className="kitaru-nb-attempt-count">
                {call.attempts.length}{' '}
                {call.attempts.length === 1 ? 'attempt' : 'attempts'}
              </span>{' '}
              <span
                className="kitaru-nb-duration"
                title="time its attempts ran"
              >
                {formatDuration(checkpointSeconds(call))}
              </span>
            </>
          )}
          {paused !== null && paused > 0 && (
            <span
              className="kitaru-nb-paused-time"
              title="time it waited for a decision"
            >
              {' '}
              (paused {formatDuration(paused)})
            </span>
          )}
        </summary>
        {props.decision}
        {call.output_preview !== null && (
          <div className="kitaru-nb-output">
            output: <code>{call.output_preview}</code>
          </div>
        )}
        <ol className="kitaru-nb-attempts">
          {call.attempts.map(a => (
            <Attempt key={a.attempt_id} attempt={a} />
          ))}
        </ol>
        {props.replay}
      </details>
      <CheckpointExtras call={call} onOpen={props.onOpen} />
    </li>
  );
}

/** A wait or a confirmation in the timeline: the question, and what was answered, from where, when. */
function HumanRow(props: { row: ITimelineRow; label?: string }): JSX.Element {
  const { row } = props;
  const question = row.question ?? null;
  const answeredAt = row.answered_at ?? null;
  const preview = row.answer_preview ?? null;
  const by = row.answered_by ?? null;
  return (
    <li
      className="kitaru-nb-human kitaru-nb-timeline-row"
      data-name={row.name}
      data-kind={row.kind}
      data-status={row.status}
      data-index={row.index}
    >
      <span className="kitaru-nb-index">{row.index}</span>{' '}
      <span className="kitaru-nb-kind">{row.kind}</span>{' '}
      <span className="kitaru-nb-checkpoint-name" title={row.name}>
        {props.label ?? row.name}
      </span>{' '}
      <StatusBadge status={row.status} />
      {question !== null && (
        <div className="kitaru-nb-question-text">{question}</div>
      )}
      {answeredAt !== null && (
        <div className="kitaru-nb-answer">
          answered{' '}
          {preview !== null && (
            <code className="kitaru-nb-answer-preview">{preview}</code>
          )}
          {by !== null && (
            <span className="kitaru-nb-answered-by"> from {by}</span>
          )}{' '}
          <When iso={answeredAt} />
        </div>
      )}
    </li>
  );
}

function Requests(props: {
  requests: IRequest[];
  onOpen: (execId: string) => void;
}): JSX.Element | null {
  if (props.requests.length === 0) {
    return null;
  }
  return (
    <section className="kitaru-nb-requests">
      <h4>Requests</h4>
      <ul>
        {props.requests.map(r => (
          <li
            key={r.request_id}
            className="kitaru-nb-request"
            data-kind={r.kind}
            data-status={r.status}
          >
            <span className="kitaru-nb-request-kind">{r.kind}</span>
            {typeof r.params['from'] === 'string' &&
              ` from ${r.params['from']}`}{' '}
            <StatusBadge status={r.status} /> <When iso={r.created_at} />
            {r.message !== null && r.message !== '' && (
              <div className="kitaru-nb-request-message">{r.message}</div>
            )}
            {r.result_exec_id !== null && (
              <button
                className="jp-mod-styled kitaru-nb-open-result"
                onClick={() => props.onOpen(r.result_exec_id as string)}
              >
                Open {r.result_exec_id.slice(0, 8)}
              </button>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}

/** Retry of a failed execution: recorded by the server, carried out by the kernel that owns it. */
function RetryExecution(props: {
  api: ExecutionsAPI;
  execution: IExecution;
  onRequested: (text: string) => void;
}): JSX.Element {
  const { api, execution, onRequested } = props;
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const pending = (execution.requests ?? []).some(
    r => r.kind === 'retry' && (r.status === 'pending' || r.status === 'taken')
  );
  return (
    <div className="kitaru-nb-actions">
      <button
        className="jp-mod-styled jp-mod-accept kitaru-nb-retry-execution"
        disabled={busy || pending}
        title="Run the failed checkpoint again with the current code; completed checkpoints are reused"
        onClick={() => {
          setBusy(true);
          setError(null);
          api.retry(execution.exec_id).then(
            accepted => {
              setBusy(false);
              onRequested(accepted.message);
            },
            (e: unknown) => {
              setBusy(false);
              setError(errorText(e));
            }
          );
        }}
      >
        {pending ? 'Retry requested' : 'Retry'}
      </button>
      <ErrorLine error={error} />
      <CopyCode what="retry" code={retrySnippet(execution.exec_id)} />
    </div>
  );
}

/** Statuses whose executions the sidebar offers to delete (nothing runs or waits any more). */
const DELETABLE = new Set(['completed', 'failed', 'cancelled']);

/** Delete a finished execution, after an inline confirmation. */
function DeleteExecution(props: {
  api: ExecutionsAPI;
  execution: IExecution;
  onDeleted: (text: string) => void;
}): JSX.Element {
  const { api, execution, onDeleted } = props;
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const what = `${execution.flow_name} ${execution.short_id}`;
  const remove = async (): Promise<void> => {
    setBusy(true);
    setError(null);
    try {
      await api.delete(execution.exec_id);
      onDeleted(`Deleted ${what}.`);
    } catch (e) {
      setError(errorText(e));
      setBusy(false);
    }
  };
  return (
    <div className="kitaru-nb-delete">
      {confirming ? (
        <div className="kitaru-nb-delete-confirm" role="group">
          <span className="kitaru-nb-delete-question">
            Delete {what} with its checkpoints, attempts and saved values? This
            cannot be undone.
          </span>{' '}
          <ActOrCancel
            label="Delete"
            className="jp-mod-warn kitaru-nb-delete-yes"
            cancelClassName="kitaru-nb-delete-no"
            busy={busy}
            onAct={() => void remove()}
            onCancel={() => setConfirming(false)}
          />
        </div>
      ) : (
        <button
          className="jp-mod-styled kitaru-nb-delete-open"
          title="Delete this execution from the journal"
          onClick={() => setConfirming(true)}
        >
          Delete
        </button>
      )}
      <ErrorLine error={error} />
    </div>
  );
}

/** How many rows the detail holds, and "Show older rows" when there are more before them. */
function OlderRows(props: {
  execution: IExecution;
  busy: boolean;
  onMore: () => void;
}): JSX.Element | null {
  const { execution, busy, onMore } = props;
  const page = execution.page;
  const hidden = hiddenRows(execution);
  if (page === undefined || hidden === 0) {
    return null;
  }
  const shown = execution.timeline.length;
  return (
    <div className="kitaru-nb-older" data-hidden={hidden}>
      <span className="kitaru-nb-rows-shown">
        {shown} of {page.total} rows shown
      </span>
      {page.older && (
        <>
          {' '}
          <button
            className="jp-mod-styled kitaru-nb-show-older"
            disabled={busy}
            title="Read the rows before these (Replay from here needs them)"
            onClick={onMore}
          >
            Show older rows
          </button>
        </>
      )}
    </div>
  );
}

function renderItems(
  items: Array<ITimelineItem | IGroup<ITimelineItem>>,
  grouped: boolean,
  renderRow: (item: ITimelineItem, grouped: boolean) => JSX.Element
): JSX.Element[] {
  return items.map(item =>
    isGroup(item) ? (
      <Group key={`${item.key}@${item.firstIndex}`} group={item}>
        {renderItems(item.items, true, renderRow)}
      </Group>
    ) : (
      renderRow(item, grouped)
    )
  );
}

interface IDetailProps {
  api: ExecutionsAPI;
  live: LiveUpdates;
  execId: string;
  /** changes each time the sidebar is shown again: refresh at once */
  shown: number;
  isVisible: () => boolean;
  onBack: () => void;
  /** open another execution (a replay's result) */
  onOpen: (execId: string) => void;
  /** the execution was deleted: back to the list, with this notice */
  onDeleted?: (text: string) => void;
}

/** One execution: status, owner, failure and actions, pending waits with forms, the timeline. */
export function ExecutionDetail(props: IDetailProps): JSX.Element {
  const { api, live, execId, shown, isVisible, onBack, onOpen } = props;
  const onDeleted = props.onDeleted ?? (() => onBack());
  const [rows, setRows] = useState<IDetailRows | null>(null);
  const rowsRef = useRef<IDetailRows | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [loadingOlder, setLoadingOlder] = useState(false);
  const execution = rows?.execution ?? null;

  const hold = (next: IDetailRows): void => {
    rowsRef.current = next;
    setRows(next);
  };
  /** A fresh default page (a refresh, or what an answer or decision returned) on top of what is held. */
  const setExecution = (fresh: IExecution, reread: IExecution[] = []): void =>
    hold(refreshRows(rowsRef.current, fresh, reread));

  // a refresh reads the default page, and again only the held rows that changed
  const load = async (): Promise<void> => {
    try {
      const fresh = await api.get(execId);
      const reread: IExecution[] = [];
      for (const index of staleIndexes(rowsRef.current, fresh)) {
        reread.push(await api.get(execId, { after: index - 1, limit: 1 }));
      }
      setExecution(fresh, reread);
      setError(null);
    } catch (e) {
      setError(errorText(e));
    }
  };
  useLive(live, load, [execId, shown], isVisible);

  const showOlder = async (): Promise<void> => {
    const first = rowsRef.current?.execution.page?.first_index ?? null;
    if (first === null) {
      return;
    }
    setLoadingOlder(true);
    try {
      const older = await api.get(execId, { before: first });
      if (rowsRef.current !== null) {
        hold(appendOlder(rowsRef.current, older));
      }
      setError(null);
    } catch (e) {
      setError(errorText(e));
    } finally {
      setLoadingOlder(false);
    }
  };

  const onAnswered = (fresh: IExecution, wait: string): void => {
    setExecution(fresh);
    setNotice(
      `Answer to ${wait} recorded. The kernel that runs ${fresh.flow_name} resumes the flow when it is idle.`
    );
  };
  const onRequested = (text: string): void => {
    setNotice(text);
    void load();
  };

  const byIndex = new Map<number, ICheckpoint>();
  for (const c of execution?.checkpoints ?? []) {
    byIndex.set(c.index, c);
  }
  const renderCheckpoint = (
    c: ICheckpoint,
    e: IExecution,
    label?: string
  ): JSX.Element => (
    <Checkpoint
      key={c.call_id}
      call={c}
      label={label}
      onOpen={onOpen}
      decision={
        c.paused && e.status === 'waiting' ? (
          <DecisionButtons
            api={api}
            execId={e.exec_id}
            call={c}
            onDecided={(fresh, text) => {
              setExecution(fresh);
              setNotice(text);
            }}
          />
        ) : undefined
      }
      replay={
        (c.status === 'completed' || c.status === 'reused') &&
        e.status !== 'running' &&
        e.kind === 'flow' &&
        holdsTheStart(e) ? (
          <ReplayFromHere
            api={api}
            execId={e.exec_id}
            from={replayFrom(c, e.checkpoints)}
            nextFrom={nextCheckpointFrom(c, e.checkpoints)}
            name={c.name}
            onRequested={onRequested}
          />
        ) : undefined
      }
    />
  );

  return (
    <div className="kitaru-nb-detail" data-exec-id={execId}>
      <div className="kitaru-nb-toolbar">
        <button className="jp-mod-styled kitaru-nb-back" onClick={onBack}>
          ← Executions
        </button>
      </div>
      <ErrorLine error={error} />
      {execution !== null && (
        <>
          <h3 className="kitaru-nb-title">
            <span className="kitaru-nb-flow">{execution.flow_name}</span>{' '}
            <code className="kitaru-nb-id">{execution.short_id}</code>{' '}
            <StatusBadge status={execution.status} />{' '}
            {execution.progress !== undefined && (
              <span className="kitaru-nb-progress">
                {formatProgress(execution.progress, true)}
              </span>
            )}
          </h3>
          <dl className="kitaru-nb-meta">
            <dt>started</dt>
            <dd>
              <When iso={execution.started_at} />
            </dd>
            {execution.ended_at !== null && (
              <>
                <dt>ended</dt>
                <dd>
                  <When iso={execution.ended_at} />
                </dd>
              </>
            )}
            {execution.owner !== undefined && execution.owner !== null && (
              <>
                <dt>kernel</dt>
                <dd className="kitaru-nb-owner">
                  {execution.owner.notebook !== null && (
                    <span
                      className="kitaru-nb-owner-notebook"
                      title={execution.owner.notebook}
                    >
                      {notebookName(execution.owner.notebook)}{' '}
                    </span>
                  )}
                  <span className="kitaru-nb-owner-process">
                    pid {execution.owner.pid} on {execution.owner.host}
                  </span>
                </dd>
              </>
            )}
            {execution.original_exec_id !== null && (
              <>
                <dt>replay of</dt>
                <dd>
                  <button
                    className="kitaru-nb-link"
                    onClick={() => onOpen(execution.original_exec_id as string)}
                  >
                    {execution.original_exec_id.slice(0, 8)}
                  </button>
                  {execution.replay_from !== null &&
                    ` from ${execution.replay_from}`}
                </dd>
              </>
            )}
            {Object.keys(execution.metadata ?? {}).length > 0 && (
              <>
                <dt>metadata</dt>
                <dd className="kitaru-nb-exec-metadata">
                  <Metadata metadata={execution.metadata} />
                </dd>
              </>
            )}
            {execution.result_preview !== null && (
              <>
                <dt>result</dt>
                <dd>
                  <code>{execution.result_preview}</code>
                </dd>
              </>
            )}
          </dl>
          {execution.status === 'waiting' &&
            (execution.status_reason ?? null) !== null && (
              <p className="kitaru-nb-status-reason">
                {execution.status_reason}
              </p>
            )}
          {execution.owner_hint !== undefined &&
            execution.owner_hint !== null &&
            execution.owner_hint !== '' && (
              <p className="kitaru-nb-owner-hint">{execution.owner_hint}</p>
            )}
          {notice !== null && (
            <div className="kitaru-nb-notice" role="status">
              {notice}
            </div>
          )}
          {execution.failure !== null && (
            <Failure failure={execution.failure} open={true} />
          )}
          {execution.status === 'failed' && (
            <RetryExecution
              api={api}
              execution={execution}
              onRequested={onRequested}
            />
          )}
          {DELETABLE.has(execution.status) && (
            <DeleteExecution
              api={api}
              execution={execution}
              onDeleted={onDeleted}
            />
          )}
          <Requests requests={execution.requests ?? []} onOpen={onOpen} />
          {execution.pending_waits.map(w => (
            <WaitForm
              key={`${execution.exec_id}:${w.name}`}
              api={api}
              execId={execution.exec_id}
              wait={w}
              onAnswered={onAnswered}
            />
          ))}
          <h4>Timeline</h4>
          <OlderRows
            execution={execution}
            busy={loadingOlder}
            onMore={() => void showOlder()}
          />
          {execution.checkpoints.length === 0 &&
          execution.timeline.length === 0 ? (
            <p className="kitaru-nb-empty">No checkpoint ran yet.</p>
          ) : (
            <ol className="kitaru-nb-checkpoints">
              {execution.timeline.length > 0
                ? renderItems(
                    timelineItems(execution, byIndex),
                    false,
                    (item, grouped) => {
                      const label = grouped ? leafName(item) : undefined;
                      return item.call !== undefined ? (
                        renderCheckpoint(item.call, execution, label)
                      ) : (
                        <HumanRow
                          key={`row-${item.index}`}
                          row={item.row}
                          label={label}
                        />
                      );
                    }
                  )
                : execution.checkpoints.map(c =>
                    renderCheckpoint(c, execution)
                  )}
            </ol>
          )}
        </>
      )}
    </div>
  );
}
