/** What the server returns: the JSON of kitaru_nb's Execution models (models.py to_dict). */

export type ExecutionStatus =
  'running' | 'waiting' | 'completed' | 'failed' | 'cancelled';

export const STATUSES: readonly ExecutionStatus[] = [
  'running',
  'waiting',
  'completed',
  'failed',
  'cancelled'
];

export interface IFailure {
  origin: string;
  message: string;
  exception_type: string | null;
  traceback: string | null;
}

export interface IAttempt {
  attempt_id: string;
  number: number;
  status: string;
  started_at: string;
  ended_at: string | null;
  failure: IFailure | null;
  /** seconds the attempt ran; null while it runs */
  duration: number | null;
  /** the cluster worker that ran it (Dask), null when it ran in the flow's process */
  worker: string | null;
}

/** A value an execution produced: a checkpoint's output or a value saved with kitaru.save. */
export interface IArtifact {
  artifact_id: string;
  name: string;
  /** artifact type: prompt, response, context, input, output, blob */
  kind: string | null;
  /** "step_output" (a checkpoint's output) or "manual" (kitaru.save) */
  save_type: string;
  /** the checkpoint that produced it */
  producing_call: string | null;
  metadata: Record<string, unknown>;
  /** a short plain-text preview of the value */
  preview: string | null;
  tags: string[];
  exec_id: string | null;
  call_id: string | null;
}

export interface ICheckpoint {
  call_id: string;
  name: string;
  index: number;
  status: string;
  started_at: string;
  ended_at: string | null;
  failure: IFailure | null;
  attempts: IAttempt[];
  original_call_id: string | null;
  output_preview: string | null;
  paused: boolean;
  fingerprint: string | null;
  code_changed: boolean | null;
  /** seconds its attempts ran (time paused for a decision does not count); null while running */
  duration: number | null;
  /** seconds it sat paused on error, waiting for a decision */
  paused_seconds: number | null;
  /** "paused" for a checkpoint paused on error, else its status */
  display_status: string;
  /** what the checkpoint logged with kitaru.log */
  metadata: Record<string, unknown>;
  /** the type label of @checkpoint(type=...) */
  checkpoint_type: string | null;
  /** its output, then what it saved with kitaru.save */
  artifacts: IArtifact[];
  /** a call served from the cache: the execution its output came from */
  cached_from: string | null;
}

export interface IPendingWait {
  exec_id: string;
  name: string;
  index: number;
  question: string | null;
  schema: Record<string, unknown>;
  metadata: Record<string, unknown>;
  created_at: string;
  timeout: number | null;
  wait_id: string | null;
}

/** Which kernel runs (or ran) an execution. */
export interface IOwner {
  host: string;
  pid: number;
  /** start time of the process (tells a reused pid apart) */
  pid_start?: number | null;
  /** the notebook's path, when the kernel knows it */
  notebook?: string | null;
  kernel_id?: string | null;
  /** the execution count of the cell that defined the flow */
  cell?: number | null;
}

export interface IProgress {
  done: number;
  total: number;
}

/** One position of the durable call sequence: a checkpoint, a wait or a confirmation. */
export interface ITimelineRow {
  index: number;
  kind: 'checkpoint' | 'wait' | 'confirmation';
  name: string;
  status: string;
  /** checkpoints: how many attempts ran */
  attempts?: number;
  /** checkpoints: seconds the attempts ran */
  duration?: number | null;
  /** waits and confirmations: the question, when it was asked, what was answered, from where */
  question?: string | null;
  created_at?: string;
  answered_at?: string | null;
  answered_by?: string | null;
  answer_preview?: string | null;
}

/** A wait or confirmation of the execution, answered or not. */
export interface IWaitRecord {
  /** the wait's id (the REST input route and executions.input take it, or the name) */
  wait_id: string | null;
  /** the wait's metadata (a confirmation's step, kind and on_reject) */
  metadata: Record<string, unknown>;
  name: string;
  index: number;
  kind: 'wait' | 'confirmation';
  status: string;
  question: string | null;
  created_at: string;
  answered_at: string | null;
  answered_by: string | null;
  answer_preview: string | null;
}

/** A replay or retry asked for from the sidebar; the owning kernel carries it out. */
export interface IRequest {
  request_id: string;
  kind: 'replay' | 'retry';
  params: Record<string, unknown>;
  status: 'pending' | 'taken' | 'done' | 'failed';
  message: string | null;
  created_at: string;
  /** where it was asked for ("sidebar", ...) */
  created_by: string | null;
  /** the kernel that carries it out */
  taken_by: string | null;
  result_exec_id: string | null;
}

export interface IExecution {
  exec_id: string;
  short_id: string;
  flow_name: string;
  status: ExecutionStatus;
  started_at: string;
  ended_at: string | null;
  inputs: Record<string, unknown>;
  failure: IFailure | null;
  checkpoints: ICheckpoint[];
  pending_waits: IPendingWait[];
  pending_errors: string[];
  original_exec_id: string | null;
  replay_from: string | null;
  kind: string;
  result_preview: string | null;
  meta: Record<string, unknown>;
  owner: IOwner | null;
  /** waits and confirmations, answered or not (detail; empty in list rows) */
  waits: IWaitRecord[];
  waiting_for: 'input' | 'decision' | null;
  progress: IProgress;
  /** checkpoints, waits and confirmations in position order (detail; empty in list rows) */
  timeline: ITimelineRow[];
  /** detail only: whether the owning process is alive (null: unknown) */
  owner_alive?: boolean | null;
  /** detail only: one sentence on where the execution runs or what to do to continue it */
  owner_hint?: string | null;
  /** detail only */
  requests?: IRequest[];
  /** what the flow body logged with kitaru.log */
  metadata: Record<string, unknown>;
  /** why the execution is in its status, in a sentence (null for running and completed) */
  status_reason: string | null;
  /** true when checkpoints / waits / timeline hold only a page of the positions */
  partial: boolean;
  /** detail only: which timeline rows the page holds, and how to ask for more */
  page?: IDetailPage;
}

/**
 * Which positions an execution's detail holds. The default page is the last `limit` positions
 * (`first_index` .. `last_index`) plus every position not done before them (paused, failed,
 * waiting); `?before=first_index` reads the page before, `?after=last_index` the page after.
 */
export interface IDetailPage {
  /** positions (checkpoints, waits, confirmations) the execution has */
  total: number;
  /** the first and last position of the page's range (null: no rows) */
  first_index: number | null;
  last_index: number | null;
  /** positions before first_index were left out */
  older: boolean;
  /** positions after last_index were left out */
  newer: boolean;
  /** rows per page, as asked */
  limit: number;
}

/** The list's status filter: the execution statuses and what a waiting execution waits for. */
export type ListStatus = ExecutionStatus | 'needs_input' | 'paused_on_error';

export const LIST_STATUSES: readonly ListStatus[] = [
  'running',
  'waiting',
  'needs_input',
  'paused_on_error',
  'completed',
  'failed',
  'cancelled'
];

/** How many executions wait for a human. */
export interface IWaitingCounts {
  input: number;
  decision: number;
  total: number;
  token: number;
}

/** The data of a `journal_changed` event on Jupyter's event bus. */
export interface IJournalChanged {
  reason: 'changed' | 'heartbeat';
  token: number;
  input: number;
  decision: number;
}

/** A request recorded by the server (202). */
export interface IRequestAccepted {
  request: IRequest;
  message: string;
}

export interface IExecutionPage {
  executions: IExecution[];
  total: number;
  limit: number;
  offset: number;
}

/** One problem with a wait answer, as the server reports it (pydantic / jsonschema style). */
export interface IFieldError {
  loc: Array<string | number>;
  msg: string;
  type: string;
}

/** Which journal the server reads, and whether the file exists yet. */
export interface IJournalStatus {
  journal: string;
  exists: boolean;
}

/** What a human decides for a checkpoint paused on error. */
export type Decision = 'retry' | 'skip';
