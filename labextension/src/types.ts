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
