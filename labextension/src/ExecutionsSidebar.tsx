import { ReactWidget } from '@jupyterlab/ui-components';
import type { Message } from '@lumino/messaging';
import React, { useEffect, useState } from 'react';

import { ErrorLine, ExecutionDetail, StatusBadge } from './ExecutionDetail';
import { formatProgress, notebookName, STATUS_LABELS } from './format';
import type { LiveUpdates } from './live';
import { ExecutionsAPI, KitaruApiError } from './request';
import { When } from './Time';
import {
  IExecution,
  IExecutionPage,
  IJournalStatus,
  IWaitingCounts,
  LIST_STATUSES,
  ListStatus
} from './types';
import { useLive } from './useLive';

export const PAGE_SIZE = 50;
/** ms the flow filter waits after the last keystroke before it asks the server */
export const FILTER_DEBOUNCE_MS = 150;

interface ISidebarProps {
  api: ExecutionsAPI;
  live: LiveUpdates;
  /** changes each time the sidebar is shown again: refresh at once */
  shown?: number;
  /** refreshes pause while this is false (sidebar collapsed) */
  isVisible?: () => boolean;
}

/** What a waiting execution waits for, in the list's words. */
export function waitingWord(e: IExecution): string | null {
  if (e.status !== 'waiting') {
    return null;
  }
  if (e.waiting_for === 'decision') {
    return 'paused on error';
  }
  if (e.waiting_for === 'input') {
    return 'needs input';
  }
  // everything asked was answered: the kernel that defines the flow resumes it when idle
  return 'answered, resumes in its kernel';
}

function Row(props: { e: IExecution; onOpen: () => void }): JSX.Element {
  const { e } = props;
  const waiting = waitingWord(e);
  const notebook = notebookName(e.owner?.notebook);
  return (
    <li
      className="kitaru-nb-row"
      data-exec-id={e.exec_id}
      data-status={e.status}
      data-waiting-for={e.waiting_for ?? undefined}
    >
      <button
        className="kitaru-nb-row-button"
        onClick={props.onOpen}
        title={`Open execution ${e.exec_id}`}
      >
        <span className="kitaru-nb-row-line">
          <StatusBadge status={e.status} />
          <span className="kitaru-nb-flow">{e.flow_name}</span>
          <code className="kitaru-nb-id">{e.short_id}</code>
        </span>
        <span className="kitaru-nb-row-line kitaru-nb-row-meta">
          {waiting !== null && (
            <span className="kitaru-nb-waiting-for">{waiting}</span>
          )}
          {e.progress !== undefined && (
            <span
              className="kitaru-nb-progress"
              title={formatProgress(e.progress, true)}
            >
              <progress
                max={Math.max(e.progress.total, 1)}
                value={e.progress.done}
              />
              {formatProgress(e.progress)}
            </span>
          )}
          {notebook !== '' && (
            <span
              className="kitaru-nb-owner-notebook"
              title={e.owner?.notebook ?? ''}
            >
              {notebook}
            </span>
          )}
          <When iso={e.started_at} />
        </span>
      </button>
    </li>
  );
}

/** The list of the journal's executions (newest first, filters, live) and the detail view. */
export function ExecutionsSidebar(props: ISidebarProps): JSX.Element {
  const { api, live, shown = 0, isVisible = () => true } = props;
  const [status, setStatus] = useState<ListStatus | ''>('');
  const [flowDraft, setFlowDraft] = useState('');
  const [flow, setFlow] = useState('');
  const [offset, setOffset] = useState(0);
  const [page, setPage] = useState<IExecutionPage | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const [journal, setJournal] = useState<IJournalStatus | null>(null);
  const [counts, setCounts] = useState<IWaitingCounts | null>(live.counts);
  const [mode, setMode] = useState(live.mode);
  const [notice, setNotice] = useState<string | null>(null);

  useEffect(() => {
    api.status().then(setJournal, () => setJournal(null));
  }, [api, shown]);

  useEffect(() => {
    const onCounts = (_: unknown, c: IWaitingCounts): void => setCounts(c);
    const onMode = (_: unknown, m: 'push' | 'poll'): void => setMode(m);
    live.countsChanged.connect(onCounts);
    live.modeChanged.connect(onMode);
    return () => {
      live.countsChanged.disconnect(onCounts);
      live.modeChanged.disconnect(onMode);
    };
  }, [live]);

  // filter as you type: the server is asked once typing pauses
  useEffect(() => {
    const handle = window.setTimeout(() => {
      setFlow(flowDraft.trim());
      setOffset(0);
    }, FILTER_DEBOUNCE_MS);
    return () => window.clearTimeout(handle);
  }, [flowDraft]);

  useLive(
    live,
    async () => {
      if (selected !== null) {
        return;
      }
      try {
        setPage(
          await api.list({
            status,
            flowContains: flow,
            offset,
            limit: PAGE_SIZE
          })
        );
        setError(null);
      } catch (e) {
        setError(e instanceof KitaruApiError ? e.message : String(e));
      }
    },
    [status, flow, offset, selected, shown],
    isVisible
  );

  if (selected !== null) {
    return (
      <ExecutionDetail
        key={selected}
        api={api}
        live={live}
        execId={selected}
        shown={shown}
        isVisible={isVisible}
        onBack={() => {
          setNotice(null);
          setSelected(null);
        }}
        onOpen={setSelected}
        onDeleted={text => {
          const gone = selected;
          setNotice(text);
          // the list shows what it held until it is read again: without the deleted one
          setPage(p =>
            p === null
              ? p
              : {
                  ...p,
                  executions: p.executions.filter(e => e.exec_id !== gone),
                  total: Math.max(0, p.total - 1)
                }
          );
          setSelected(null);
        }}
      />
    );
  }

  const total = page?.total ?? 0;
  const stale = flow !== flowDraft.trim();
  return (
    <div className="kitaru-nb-list" data-live={mode}>
      <div className="kitaru-nb-header">
        <h2>Executions</h2>
        {counts !== null && counts.total > 0 && (
          <button
            className="kitaru-nb-waiting-summary"
            title="Show the executions that wait for a human"
            onClick={() => {
              setStatus(
                counts.input > 0 && counts.decision === 0
                  ? 'needs_input'
                  : counts.decision > 0 && counts.input === 0
                    ? 'paused_on_error'
                    : 'waiting'
              );
              setOffset(0);
            }}
          >
            {counts.total} waiting for you
          </button>
        )}
        <span className="kitaru-nb-total">
          {page === null
            ? ''
            : `${total} ${total === 1 ? 'execution' : 'executions'}`}
        </span>
      </div>
      <div className="kitaru-nb-toolbar">
        <input
          className="kitaru-nb-flow-filter jp-mod-styled"
          type="search"
          placeholder="Filter by flow name"
          aria-label="Filter by flow name"
          value={flowDraft}
          onChange={e => setFlowDraft(e.target.value)}
          onKeyDown={e => {
            if (e.key === 'Enter') {
              setFlow(flowDraft.trim());
              setOffset(0);
            }
          }}
        />
        <select
          aria-label="Status"
          className="kitaru-nb-status-filter jp-mod-styled"
          value={status}
          onChange={e => {
            setStatus(e.target.value as ListStatus | '');
            setOffset(0);
          }}
        >
          <option value="">all statuses</option>
          {LIST_STATUSES.map(s => (
            <option key={s} value={s}>
              {STATUS_LABELS[s]}
            </option>
          ))}
        </select>
      </div>
      <ErrorLine error={error} />
      {notice !== null && (
        <div className="kitaru-nb-notice" role="status">
          {notice}
        </div>
      )}
      {page !== null && page.executions.length === 0 && !stale && (
        <p className="kitaru-nb-empty">
          No executions
          {status ? ` with status ${STATUS_LABELS[status]}` : ''}
          {flow ? ` whose flow name contains "${flow}"` : ''} in the journal
          {journal !== null ? ` ${journal.journal}` : ''} yet.
        </p>
      )}
      <ul className="kitaru-nb-rows">
        {(page?.executions ?? []).map(e => (
          <Row
            key={e.exec_id}
            e={e}
            onOpen={() => {
              setNotice(null);
              setSelected(e.exec_id);
            }}
          />
        ))}
      </ul>
      {total > PAGE_SIZE && (
        <div className="kitaru-nb-pager">
          <button
            className="jp-mod-styled"
            disabled={offset === 0}
            onClick={() => setOffset(Math.max(0, offset - PAGE_SIZE))}
          >
            Newer
          </button>
          <span>
            {offset + 1}–{Math.min(offset + PAGE_SIZE, total)} of {total}
          </span>
          <button
            className="jp-mod-styled"
            disabled={offset + PAGE_SIZE >= total}
            onClick={() => setOffset(offset + PAGE_SIZE)}
          >
            Older
          </button>
        </div>
      )}
    </div>
  );
}

/** The left-sidebar widget; its views refresh only while it is shown. */
export class ExecutionsPanel extends ReactWidget {
  constructor(
    private readonly _api: ExecutionsAPI,
    private readonly _live: LiveUpdates
  ) {
    super();
    this.id = 'kitaru-nb-executions';
    this.addClass('kitaru-nb-panel');
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this._shown += 1;
    this._live.refresh();
    this.update();
  }

  render(): JSX.Element {
    return (
      <ExecutionsSidebar
        api={this._api}
        live={this._live}
        shown={this._shown}
        isVisible={() => this.isVisible}
      />
    );
  }

  private _shown = 0;
}
