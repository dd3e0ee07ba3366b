/**
 * "Copy as code": the client calls that do what a sidebar button does, for a notebook cell or a
 * script. Values are written as Python literals (JSON true/false/null -> True/False/None).
 */

/** A JSON value as a Python literal. */
export function pythonLiteral(value: unknown, indent = 0): string {
  if (value === null || value === undefined) {
    return 'None';
  }
  if (value === true) {
    return 'True';
  }
  if (value === false) {
    return 'False';
  }
  if (typeof value === 'number') {
    if (Number.isNaN(value)) {
      return "float('nan')";
    }
    if (!Number.isFinite(value)) {
      return value > 0 ? "float('inf')" : "-float('inf')";
    }
    return String(value);
  }
  if (typeof value === 'string') {
    // a JSON string literal is a valid Python string literal
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) {
    return `[${value.map(v => pythonLiteral(v, indent)).join(', ')}]`;
  }
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0) {
      return '{}';
    }
    return `{${entries
      .map(([k, v]) => `${JSON.stringify(k)}: ${pythonLiteral(v, indent)}`)
      .join(', ')}}`;
  }
  return 'None';
}

const PRELUDE =
  'from kitaru_nb import KitaruClient\n\nexecutions = KitaruClient().executions\n';

/** Retry a failed execution (same exec id, current code) in the kernel that defines the flow. */
export function retrySnippet(execId: string): string {
  return `${PRELUDE}executions.retry(${JSON.stringify(execId)})\n`;
}

/**
 * Replay from a checkpoint, optionally overriding checkpoint outputs. `after`: the checkpoint
 * `from` is reused (with its output overridden) and the replay runs live after it; the snippet
 * then replays from `nextFrom` (the next checkpoint), which means the same, or, for the last
 * checkpoint, records the request for the kernel that defines the flow as the sidebar does.
 */
export function replaySnippet(
  execId: string,
  from: string,
  overrides?: Record<string, unknown>,
  after?: { nextFrom: string | null }
): string {
  const start =
    after !== undefined && after.nextFrom !== null ? after.nextFrom : from;
  const args = [JSON.stringify(execId), `from_=${JSON.stringify(start)}`];
  if (overrides !== undefined && Object.keys(overrides).length > 0) {
    args.push(`overrides=${pythonLiteral(overrides)}`);
  }
  if (after !== undefined && after.nextFrom === null) {
    args.push('after=True');
    return `${PRELUDE}executions.request_replay(${args.join(', ')})\n`;
  }
  return `${PRELUDE}executions.replay(${args.join(', ')})\n`;
}

/** Answer a pending wait (validated against its schema; the flow resumes where it is defined). */
export function answerSnippet(
  execId: string,
  wait: string,
  value: unknown
): string {
  return (
    `${PRELUDE}executions.input(${JSON.stringify(execId)}, ` +
    `wait=${JSON.stringify(wait)}, value=${pythonLiteral(value)})\n`
  );
}
