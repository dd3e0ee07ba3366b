import React, { useState } from 'react';

import { ExecutionsAPI, KitaruApiError } from './request';
import { usePoll } from './usePoll';
import { WaitForm } from './WaitForm';
import type {
  Decision,
  IAttempt,
  ICheckpoint,
  IExecution,
  IFailure
} from './types';

/** `1.23 s` between two ISO times, or '' when still running. */
export function duration(start: string, end: string | null): string {
  if (end === null) {
    return '';
  }
  const ms = Date.parse(end) - Date.parse(start);
  return Number.isFinite(ms) ? `${(ms / 1000).toFixed(2)} s` : '';
}

export function when(iso: string | null): string {
  if (iso === null) {
    return '';
  }
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

export function StatusBadge(props: { status: string }): JSX.Element {
  return (
    <span className="kitaru-nb-badge" data-status={props.status}>
      {props.status}
    </span>
  );
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
  return (
    <li
      className="kitaru-nb-attempt"
      data-number={attempt.number}
      data-status={attempt.status}
    >
      <span className="kitaru-nb-attempt-number">#{attempt.number}</span>{' '}
      <StatusBadge status={attempt.status} />{' '}
      <span className="kitaru-nb-duration">
        {duration(attempt.started_at, attempt.ended_at)}
      </span>
      {attempt.failure !== null && <Failure failure={attempt.failure} />}
    </li>
  );
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
      setError(e instanceof KitaruApiError ? e.message : String(e));
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
      {error !== null && (
        <div className="kitaru-nb-error" role="alert">
          {error}
        </div>
      )}
    </div>
  );
}

function Checkpoint(props: {
  call: ICheckpoint;
  decision?: JSX.Element;
}): JSX.Element {
  const { call } = props;
  const failed = call.attempts.some(a => a.status !== 'completed');
  return (
    <li
      className="kitaru-nb-checkpoint"
      data-name={call.name}
      data-status={call.status}
    >
      <details open={failed}>
        <summary>
          <span className="kitaru-nb-checkpoint-name">{call.name}</span>{' '}
          <StatusBadge status={call.status} />{' '}
          <span className="kitaru-nb-attempt-count">
            {call.attempts.length}{' '}
            {call.attempts.length === 1 ? 'attempt' : 'attempts'}
          </span>{' '}
          <span className="kitaru-nb-duration">
            {duration(call.started_at, call.ended_at)}
          </span>
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
      </details>
    </li>
  );
}

interface IDetailProps {
  api: ExecutionsAPI;
  execId: string;
  pollMs: number;
  /** changes each time the sidebar is shown again: refresh at once */
  shown: number;
  isVisible: () => boolean;
  onBack: () => void;
}

/** One execution: status, failure, pending waits with their forms, checkpoints and attempts. */
export function ExecutionDetail(props: IDetailProps): JSX.Element {
  const { api, execId, pollMs, shown, isVisible, onBack } = props;
  const [execution, setExecution] = useState<IExecution | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  usePoll(
    async () => {
      try {
        setExecution(await api.get(execId));
        setError(null);
      } catch (e) {
        setError(e instanceof KitaruApiError ? e.message : String(e));
      }
    },
    pollMs,
    [execId, shown],
    isVisible
  );

  const onAnswered = (fresh: IExecution, wait: string): void => {
    setExecution(fresh);
    setNotice(
      `Answer to ${wait} recorded. The kernel that runs ${fresh.flow_name} resumes the flow.`
    );
  };

  return (
    <div className="kitaru-nb-detail" data-exec-id={execId}>
      <div className="kitaru-nb-toolbar">
        <button className="jp-mod-styled kitaru-nb-back" onClick={onBack}>
          ← Executions
        </button>
      </div>
      {error !== null && (
        <div className="kitaru-nb-error" role="alert">
          {error}
        </div>
      )}
      {execution !== null && (
        <>
          <h3 className="kitaru-nb-title">
            <span className="kitaru-nb-flow">{execution.flow_name}</span>{' '}
            <code className="kitaru-nb-id">{execution.short_id}</code>{' '}
            <StatusBadge status={execution.status} />
          </h3>
          <dl className="kitaru-nb-meta">
            <dt>started</dt>
            <dd>{when(execution.started_at)}</dd>
            {execution.ended_at !== null && (
              <>
                <dt>ended</dt>
                <dd>{when(execution.ended_at)}</dd>
              </>
            )}
            {execution.original_exec_id !== null && (
              <>
                <dt>replay of</dt>
                <dd>
                  <code>{execution.original_exec_id.slice(0, 8)}</code>
                  {execution.replay_from !== null &&
                    ` from ${execution.replay_from}`}
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
          {notice !== null && (
            <div className="kitaru-nb-notice" role="status">
              {notice}
            </div>
          )}
          {execution.failure !== null && (
            <Failure failure={execution.failure} open={true} />
          )}
          {execution.pending_waits.map(w => (
            <WaitForm
              key={`${execution.exec_id}:${w.name}`}
              api={api}
              execId={execution.exec_id}
              wait={w}
              onAnswered={onAnswered}
            />
          ))}
          <h4>Checkpoints</h4>
          {execution.checkpoints.length === 0 ? (
            <p className="kitaru-nb-empty">No checkpoint ran yet.</p>
          ) : (
            <ol className="kitaru-nb-checkpoints">
              {execution.checkpoints.map(c => (
                <Checkpoint
                  key={c.call_id}
                  call={c}
                  decision={
                    c.paused && execution.status === 'waiting' ? (
                      <DecisionButtons
                        api={api}
                        execId={execution.exec_id}
                        call={c}
                        onDecided={(fresh, text) => {
                          setExecution(fresh);
                          setNotice(text);
                        }}
                      />
                    ) : undefined
                  }
                />
              ))}
            </ol>
          )}
        </>
      )}
    </div>
  );
}
