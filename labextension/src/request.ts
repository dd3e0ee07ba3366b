import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import type {
  Decision,
  IExecution,
  IExecutionPage,
  IFieldError,
  IJournalStatus,
  IRequestAccepted,
  IWaitingCounts,
  ListStatus
} from './types';

/** The one URL prefix of the kitaru_nb server extension. */
export const API_PREFIX = ['kitaru-nb', 'api'] as const;

/** A non-2xx answer of the API: status, the server's message, per-field errors for a bad answer. */
export class KitaruApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly errors: IFieldError[] = []
  ) {
    super(message);
    this.name = 'KitaruApiError';
  }
}

function isFieldError(value: unknown): value is IFieldError {
  if (typeof value !== 'object' || value === null) {
    return false;
  }
  const v = value as Record<string, unknown>;
  return (
    Array.isArray(v.loc) &&
    v.loc.every(p => typeof p === 'string' || typeof p === 'number') &&
    typeof v.msg === 'string'
  );
}

/**
 * Call `<baseUrl>/kitaru-nb/api/<endPoint>` with the page's token and XSRF handling
 * and return the parsed JSON; anything but 2xx throws a `KitaruApiError`.
 */
export async function requestAPI<T>(
  endPoint: string,
  init: RequestInit = {},
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<T> {
  const url = URLExt.join(settings.baseUrl, ...API_PREFIX, endPoint);
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new KitaruApiError(
      0,
      `The Jupyter server is not reachable: ${String(error)}`
    );
  }
  const text = await response.text();
  let data: unknown = null;
  if (text.length > 0) {
    try {
      data = JSON.parse(text);
    } catch {
      throw new KitaruApiError(
        response.status,
        `The server answered ${response.status} with something that is not JSON` +
          (response.ok ? '' : ': is the kitaru_nb server extension enabled?')
      );
    }
  }
  if (!response.ok) {
    const body = (data ?? {}) as Record<string, unknown>;
    const message =
      typeof body.message === 'string' && body.message
        ? body.message
        : `Request failed: ${response.status} ${response.statusText}`;
    const errors = Array.isArray(body.errors)
      ? body.errors.filter(isFieldError)
      : [];
    throw new KitaruApiError(response.status, message, errors);
  }
  return data as T;
}

export interface IListQuery {
  status?: ListStatus | '';
  /** the exact flow name */
  flow?: string;
  /** part of the flow name, any case */
  flowContains?: string;
  limit?: number;
  offset?: number;
}

/** Query string for the list endpoint; empty values are left out. */
export function listQueryString(query: IListQuery): string {
  const params = new URLSearchParams();
  if (query.status) {
    params.set('status', query.status);
  }
  if (query.flow) {
    params.set('flow', query.flow);
  }
  if (query.flowContains) {
    params.set('flow_contains', query.flowContains);
  }
  if (query.limit !== undefined) {
    params.set('limit', String(query.limit));
  }
  if (query.offset !== undefined) {
    params.set('offset', String(query.offset));
  }
  const qs = params.toString();
  return qs ? `?${qs}` : '';
}

/** Which timeline rows of an execution's detail to read (the server's default: the last 200). */
export interface IDetailQuery {
  /** the rows after this position */
  after?: number;
  /** the last rows before this position */
  before?: number;
  /** rows per page */
  limit?: number;
}

/** Query string for the detail endpoint; absent values are left out. */
export function detailQueryString(query: IDetailQuery): string {
  const params = new URLSearchParams();
  for (const key of ['after', 'before', 'limit'] as const) {
    const value = query[key];
    if (value !== undefined) {
      params.set(key, String(value));
    }
  }
  const qs = params.toString();
  return qs ? `?${qs}` : '';
}

/** The API the sidebar uses. */
export class ExecutionsAPI {
  constructor(
    readonly settings: ServerConnection.ISettings = ServerConnection.makeSettings()
  ) {}

  /** The journal file the server reads. */
  status(): Promise<IJournalStatus> {
    return requestAPI<IJournalStatus>(
      'status',
      { method: 'GET' },
      this.settings
    );
  }

  list(query: IListQuery = {}): Promise<IExecutionPage> {
    return requestAPI<IExecutionPage>(
      'executions' + listQueryString(query),
      { method: 'GET' },
      this.settings
    );
  }

  /**
   * An execution's detail with one page of its timeline: by default the last rows and every
   * position not done; `before` / `after` a position for the page before / after it.
   */
  get(execId: string, page: IDetailQuery = {}): Promise<IExecution> {
    return requestAPI<IExecution>(
      `executions/${encodeURIComponent(execId)}` + detailQueryString(page),
      { method: 'GET' },
      this.settings
    );
  }

  /**
   * Delete an execution with everything journaled for it (204). The server refuses a running or
   * waiting one with 409 unless `force`.
   */
  async delete(execId: string, force = false): Promise<void> {
    await requestAPI<null>(
      `executions/${encodeURIComponent(execId)}` + (force ? '?force=true' : ''),
      { method: 'DELETE' },
      this.settings
    );
  }

  /**
   * Record Retry or Skip for a checkpoint paused on error. The server only records it; the
   * kernel that runs the flow carries it out when it is idle (409 when nothing is paused).
   */
  decide(
    execId: string,
    checkpoint: string,
    decision: Decision
  ): Promise<IExecution> {
    return requestAPI<IExecution>(
      `executions/${encodeURIComponent(execId)}/decision`,
      { method: 'POST', body: JSON.stringify({ checkpoint, decision }) },
      this.settings
    );
  }

  /** Answer a pending wait; the server validates against the stored schema (400 + errors). */
  answer(execId: string, wait: string, value: unknown): Promise<IExecution> {
    return requestAPI<IExecution>(
      `executions/${encodeURIComponent(execId)}/input`,
      { method: 'POST', body: JSON.stringify({ wait, value }) },
      this.settings
    );
  }

  /** How many executions wait for a human (the sidebar tab's badge). */
  counts(): Promise<IWaitingCounts> {
    return requestAPI<IWaitingCounts>(
      'counts',
      { method: 'GET' },
      this.settings
    );
  }

  /**
   * Ask for a retry of a failed execution (same exec id, the current code). The server records
   * the request (202); the kernel that defines the flow carries it out when it is idle (409 when
   * the execution is not failed).
   */
  retry(execId: string): Promise<IRequestAccepted> {
    return requestAPI<IRequestAccepted>(
      `executions/${encodeURIComponent(execId)}/retry`,
      { method: 'POST', body: '{}' },
      this.settings
    );
  }

  /**
   * Ask for a replay from a checkpoint (`name` or `name#k`), optionally overriding checkpoint
   * outputs (`{"checkpoint.NAME": value}`, validated by the server). `after`: the checkpoint
   * `from` is reused too (with its output overridden when given) and the replay runs live from
   * the position after it. 202 with the request; 400 with the recorded names when `from` is
   * unknown.
   */
  replay(
    execId: string,
    from: string,
    overrides?: Record<string, unknown>,
    after = false
  ): Promise<IRequestAccepted> {
    const body: Record<string, unknown> = { from };
    if (overrides !== undefined) {
      body['overrides'] = overrides;
    }
    if (after) {
      body['after'] = true;
    }
    return requestAPI<IRequestAccepted>(
      `executions/${encodeURIComponent(execId)}/replay`,
      { method: 'POST', body: JSON.stringify(body) },
      this.settings
    );
  }
}
