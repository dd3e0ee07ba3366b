import { ReactWidget } from '@jupyterlab/ui-components';
import type { Message } from '@lumino/messaging';
import React, { useEffect, useState } from 'react';

import { ExecutionDetail, StatusBadge, when } from './ExecutionDetail';
import { ExecutionsAPI, KitaruApiError } from './request';
import { usePoll } from './usePoll';
import {
  ExecutionStatus,
  IExecutionPage,
  IJournalStatus,
  STATUSES
} from './types';

export const PAGE_SIZE = 50;

interface ISidebarProps {
  api: ExecutionsAPI;
  pollMs: number;
  /** changes each time the sidebar is shown again: refresh at once */
  shown?: number;
  /** polling pauses while this is false (sidebar collapsed) */
  isVisible?: () => boolean;
}

/** The list of the journal's executions (newest first, status filter, live refresh) and the detail view. */
export function ExecutionsSidebar(props: ISidebarProps): JSX.Element {
  const { api, pollMs, shown = 0, isVisible = () => true } = props;
  const [status, setStatus] = useState<ExecutionStatus | ''>('');
  const [flow, setFlow] = useState('');
  const [flowDraft, setFlowDraft] = useState('');
  const [offset, setOffset] = useState(0);
  const [page, setPage] = useState<IExecutionPage | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const [journal, setJournal] = useState<IJournalStatus | null>(null);

  useEffect(() => {
    api.status().then(setJournal, () => setJournal(null));
  }, [api, shown]);

  usePoll(
    async () => {
      if (selected !== null) {
        return;
      }
      try {
        setPage(await api.list({ status, flow, offset, limit: PAGE_SIZE }));
        setError(null);
      } catch (e) {
        setError(e instanceof KitaruApiError ? e.message : String(e));
      }
    },
    pollMs,
    [status, flow, offset, selected, shown],
    isVisible
  );

  if (selected !== null) {
    return (
      <ExecutionDetail
        api={api}
        execId={selected}
        pollMs={pollMs}
        shown={shown}
        isVisible={isVisible}
        onBack={() => setSelected(null)}
      />
    );
  }

  const total = page?.total ?? 0;
  return (
    <div className="kitaru-nb-list">
      <div className="kitaru-nb-header">
        <h2>Executions</h2>
        <span className="kitaru-nb-total">
          {page === null
            ? ''
            : `${total} ${total === 1 ? 'execution' : 'executions'}`}
        </span>
      </div>
      <div className="kitaru-nb-toolbar">
        <select
          aria-label="Status"
          className="kitaru-nb-status-filter jp-mod-styled"
          value={status}
          onChange={e => {
            setStatus(e.target.value as ExecutionStatus | '');
            setOffset(0);
          }}
        >
          <option value="">all statuses</option>
          {STATUSES.map(s => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
        <input
          className="kitaru-nb-flow-filter jp-mod-styled"
          placeholder="flow name"
          aria-label="Flow name"
          value={flowDraft}
          onChange={e => setFlowDraft(e.target.value)}
          onBlur={() => {
            setFlow(flowDraft.trim());
            setOffset(0);
          }}
          onKeyDown={e => {
            if (e.key === 'Enter') {
              setFlow(flowDraft.trim());
              setOffset(0);
            }
          }}
        />
      </div>
      {error !== null && (
        <div className="kitaru-nb-error" role="alert">
          {error}
        </div>
      )}
      {page !== null && page.executions.length === 0 && (
        <p className="kitaru-nb-empty">
          No executions{status ? ` with status ${status}` : ''}
          {flow ? ` of flow ${flow}` : ''} in the journal
          {journal !== null ? ` ${journal.journal}` : ''} yet.
        </p>
      )}
      <ul className="kitaru-nb-rows">
        {(page?.executions ?? []).map(e => (
          <li
            key={e.exec_id}
            className="kitaru-nb-row"
            data-exec-id={e.exec_id}
            data-status={e.status}
          >
            <button
              className="kitaru-nb-row-button"
              onClick={() => setSelected(e.exec_id)}
              title={`Open execution ${e.exec_id}`}
            >
              <StatusBadge status={e.status} />{' '}
              <span className="kitaru-nb-flow">{e.flow_name}</span>{' '}
              <code className="kitaru-nb-id">{e.short_id}</code>
              <span className="kitaru-nb-when">{when(e.started_at)}</span>
            </button>
          </li>
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

/** The left-sidebar widget; it polls only while it is shown. */
export class ExecutionsPanel extends ReactWidget {
  constructor(
    private readonly _api: ExecutionsAPI,
    private readonly _pollMs = 2000
  ) {
    super();
    this.id = 'kitaru-nb-executions';
    this.addClass('kitaru-nb-panel');
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this._shown += 1;
    this.update();
  }

  render(): JSX.Element {
    return (
      <ExecutionsSidebar
        api={this._api}
        pollMs={this._pollMs}
        shown={this._shown}
        isVisible={() => this.isVisible}
      />
    );
  }

  private _shown = 0;
}
