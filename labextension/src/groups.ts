/**
 * Step-workflow constructs as nested groups of the timeline, read from the checkpoint names the
 * step-workflow face journals (kitaru_nb/workflow defines them; this only reads them):
 * `research/fetch` (Parallel or Steps `research`), `refine#2/work` (Loop `refine`, iteration 2),
 * `check:else/no` (Condition `check`, else branch), `route/deep` (Router `route` chose `deep`), nested
 * as `refine#2/research/fetch`. A Router's choice and a Condition's verdict are checkpoints named after
 * the construct (type `router` / `condition`); a confirmation is a wait named `confirm:` + the path.
 * The run's `meta.steps` (its definition signature) tells each construct's kind.
 *
 * The same rules as the panel's `kitaru_nb/widgets/groups.py`; both are tested against
 * `test/construct_paths.json`.
 */

export const CONFIRM_PREFIX = 'confirm:';
const SELECTION_TYPES = ['router', 'condition'];
const DONE = new Set(['completed', 'reused', 'skipped']);

export interface ISegment {
  name: string;
  /** a Loop's iteration (`refine#2`) */
  iteration: number | null;
  /** a Condition's branch (`check:else`) */
  branch: 'if' | 'else' | null;
}

export function segmentText(s: ISegment): string {
  if (s.iteration !== null) {
    return `${s.name}#${s.iteration}`;
  }
  return s.branch !== null ? `${s.name}:${s.branch}` : s.name;
}

export function parseSegment(text: string): ISegment {
  const hash = text.lastIndexOf('#');
  if (hash > 0 && /^\d+$/.test(text.slice(hash + 1))) {
    return {
      name: text.slice(0, hash),
      iteration: Number(text.slice(hash + 1)),
      branch: null
    };
  }
  const colon = text.lastIndexOf(':');
  const tail = text.slice(colon + 1);
  if (colon > 0 && (tail === 'if' || tail === 'else')) {
    return { name: text.slice(0, colon), iteration: null, branch: tail };
  }
  return { name: text, iteration: null, branch: null };
}

/** The constructs a step ran in (outermost first) and the step's own name; a plain name has none. */
export function parsePath(name: string): {
  segments: ISegment[];
  leaf: string;
} {
  if (!name.includes('/')) {
    return { segments: [], leaf: name };
  }
  const parts = name.split('/');
  const leaf = parts.pop() as string;
  return { segments: parts.map(parseSegment), leaf };
}

/** What grouping needs of a timeline row. */
export interface IGroupable {
  index: number;
  name: string;
  /** checkpoint, wait, confirmation */
  kind: string;
  status: string;
  checkpointType: string | null;
  outputPreview: string | null;
}

export interface IGroup<R extends IGroupable> {
  type: 'group';
  /** the construct's path as written (`refine#2/research`; `refine#2` for an iteration) */
  key: string;
  name: string;
  /** parallel, loop, iteration, condition, router, steps, group (kind not known) */
  kind: string;
  firstIndex: number;
  size: number | null;
  iteration: number | null;
  branch: string | null;
  items: Array<R | IGroup<R>>;
  status: string;
  /** `research · parallel · 2/3 done`, `refine · loop · iteration 2`, `route · router → deep` */
  label: string;
}

export function isGroup<R extends IGroupable>(
  item: R | IGroup<R>
): item is IGroup<R> {
  return (item as IGroup<R>).type === 'group';
}

/** A row's name without the confirmation prefix. */
export function bareName(row: IGroupable): string {
  return row.kind === 'confirmation' && row.name.startsWith(CONFIRM_PREFIX)
    ? row.name.slice(CONFIRM_PREFIX.length)
    : row.name;
}

/** A row's name inside its construct's group: the step's own name. */
export function leafName(row: IGroupable): string {
  return parsePath(bareName(row)).leaf;
}

/** Construct kinds (and sizes) by their path of names, from a run's `meta.steps`. */
export function constructKinds(
  signature: unknown
): Map<string, { kind: string; size: number }> {
  const out = new Map<string, { kind: string; size: number }>();
  const walk = (entries: unknown, prefix: string[]): void => {
    if (!Array.isArray(entries)) {
      return;
    }
    for (const e of entries) {
      if (Array.isArray(e) && e.length > 2 && typeof e[1] === 'string') {
        const path = [...prefix, String(e[0])];
        out.set(JSON.stringify(path), {
          kind: e[1].toLowerCase(),
          size: Array.isArray(e[2]) ? e[2].length : 0
        });
        for (const g of e.slice(2)) {
          walk(g, path);
        }
      }
    }
  };
  walk(signature, []);
  return out;
}

interface ILevel {
  key: string;
  name: string;
  kind: string;
  size: number | null;
  iteration: number | null;
  branch: string | null;
}

function levels(
  segments: ISegment[],
  kinds: Map<string, { kind: string; size: number }>,
  last: string | null = null
): ILevel[] {
  const out: ILevel[] = [];
  let scope = '';
  const names: string[] = [];
  segments.forEach((seg, i) => {
    names.push(seg.name);
    const known = kinds.get(JSON.stringify(names));
    const kind =
      (last !== null && i === segments.length - 1 ? last : null) ??
      known?.kind ??
      (seg.iteration !== null
        ? 'loop'
        : seg.branch !== null
          ? 'condition'
          : 'group');
    const key = scope + seg.name;
    out.push({
      key,
      name: seg.name,
      kind,
      size: known?.size ?? null,
      iteration: null,
      branch: seg.branch
    });
    if (seg.iteration !== null) {
      out.push({
        key: `${key}#${seg.iteration}`,
        name: seg.name,
        kind: 'iteration',
        size: null,
        iteration: seg.iteration,
        branch: null
      });
    }
    scope += segmentText(seg) + '/';
  });
  return out;
}

function isSelection(row: IGroupable): boolean {
  return (
    row.kind === 'checkpoint' &&
    row.checkpointType !== null &&
    SELECTION_TYPES.includes(row.checkpointType)
  );
}

/** Whether any row ran inside a construct. */
export function needsGroups(rows: IGroupable[]): boolean {
  return rows.some(r => r.name.includes('/') || isSelection(r));
}

function allRows<R extends IGroupable>(g: IGroup<R>): R[] {
  return g.items.flatMap(i => (isGroup(i) ? allRows(i) : [i]));
}

function groupStatus<R extends IGroupable>(g: IGroup<R>): string {
  const statuses = new Set(allRows(g).map(r => r.status));
  for (const s of ['paused', 'failed', 'running', 'waiting']) {
    if (statuses.has(s)) {
      return s;
    }
  }
  const other = [...statuses].filter(s => !DONE.has(s)).sort();
  return other.length > 0 ? other[0] : 'completed';
}

function groupLabel<R extends IGroupable>(g: IGroup<R>): string {
  if (g.kind === 'iteration') {
    return `iteration ${g.iteration}`;
  }
  const own = (i: R | IGroup<R>): boolean =>
    !isGroup(i) && bareName(i) === g.key;
  const branches = g.items.filter(i => !own(i));
  const selection = g.items.find((i): i is R => !isGroup(i) && isSelection(i));
  const parts = [g.name];
  if (g.kind === 'loop') {
    const last = Math.max(
      0,
      ...g.items.map(i => (isGroup(i) ? (i.iteration ?? 0) : 0))
    );
    parts.push('loop');
    if (last > 0) {
      parts.push(`iteration ${last}`);
    }
  } else if (g.kind === 'router') {
    const chosen = branches.map(i => (isGroup(i) ? i.name : leafName(i)));
    if (chosen.length > 0) {
      parts.push(`router → ${chosen.join(', ')}`);
    } else if (selection !== undefined && DONE.has(selection.status)) {
      parts.push('router → none');
    } else {
      parts.push('router');
    }
  } else if (g.kind === 'condition') {
    let branch = g.branch;
    if (branch === null && selection !== undefined) {
      const verdict = (selection.outputPreview ?? '').trim().toLowerCase();
      branch = verdict === 'true' ? 'if' : verdict === 'false' ? 'else' : null;
    }
    parts.push(branch !== null ? `condition → ${branch}` : 'condition');
  } else {
    const done = branches.filter(b => DONE.has(b.status)).length;
    const total = Math.max(g.size ?? 0, branches.length);
    if (g.kind !== 'group') {
      parts.push(g.kind);
    }
    parts.push(`${done}/${total} done`);
  }
  const rows = allRows(g);
  for (const s of ['paused', 'failed']) {
    const n = rows.filter(r => r.status === s).length;
    if (n > 0) {
      parts.push(`${n} ${s}`);
    }
  }
  return parts.join(' · ');
}

function finish<R extends IGroupable>(g: IGroup<R>): void {
  for (const i of g.items) {
    if (isGroup(i)) {
      finish(i);
    }
  }
  g.status = groupStatus(g);
  g.label = groupLabel(g);
}

/**
 * Rows (in position order) as a tree: plain rows stay, rows of a construct go into its group (a
 * Loop's into one group per iteration), a construct's selection checkpoint and confirmation into
 * the construct's group. Contiguous rows only: a construct met again after other rows is a new group.
 */
export function buildGroups<R extends IGroupable>(
  rows: R[],
  signature: unknown
): Array<R | IGroup<R>> {
  const kinds = constructKinds(signature);
  const chains = rows.map(r => {
    const { segments, leaf } = parsePath(bareName(r));
    if (isSelection(r)) {
      return levels(
        [...segments, { name: leaf, iteration: null, branch: null }],
        kinds,
        r.checkpointType
      );
    }
    return levels(segments, kinds);
  });
  rows.forEach((r, i) => {
    if (r.kind !== 'confirmation' || i + 1 >= chains.length) {
      return;
    }
    const { segments, leaf } = parsePath(bareName(r));
    const own = segments.map(s => segmentText(s) + '/').join('') + leaf;
    const depth = chains[i].length;
    const next = chains[i + 1];
    if (next.length > depth && next[depth].key === own) {
      chains[i] = next.slice(0, depth + 1);
    }
  });
  const root: Array<R | IGroup<R>> = [];
  const stack: IGroup<R>[] = [];
  rows.forEach((r, i) => {
    const chain = chains[i];
    let common = 0;
    while (
      common < Math.min(stack.length, chain.length) &&
      stack[common].key === chain[common].key
    ) {
      common++;
    }
    stack.length = common;
    for (const level of chain.slice(common)) {
      const g: IGroup<R> = {
        type: 'group',
        key: level.key,
        name: level.name,
        kind: level.kind,
        firstIndex: r.index,
        size: level.size,
        iteration: level.iteration,
        branch: null,
        items: [],
        status: '',
        label: ''
      };
      (stack.length > 0 ? stack[stack.length - 1].items : root).push(g);
      stack.push(g);
    }
    chain.forEach((level, d) => {
      if (level.branch !== null && stack[d].branch === null) {
        stack[d].branch = level.branch;
      }
    });
    (stack.length > 0 ? stack[stack.length - 1].items : root).push(r);
  });
  for (const item of root) {
    if (isGroup(item)) {
      finish(item);
    }
  }
  return root;
}

/** Characters of a metadata line and of one value, as the panel clips them. */
export const META_CHARS = 160;
export const VALUE_CHARS = 40;
export const PREVIEW_CHARS = 80;

export function clip(text: string, limit: number): string {
  return text.length <= limit ? text : text.slice(0, limit - 1) + '…';
}

/** A logged value as `key=value` shows it: strings bare, the rest as compact JSON. */
export function formatValue(value: unknown): string {
  if (typeof value === 'string') {
    return value;
  }
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** The compact `key=value, ...` line (clipped) and the whole of it (for the hover). */
export function metadataText(
  metadata: Record<string, unknown> | null | undefined
): { short: string; full: string } {
  const entries = Object.entries(metadata ?? {});
  const full = entries.map(([k, v]) => `${k}=${formatValue(v)}`).join(', ');
  const short = entries
    .map(([k, v]) => `${k}=${clip(formatValue(v), VALUE_CHARS)}`)
    .join(', ');
  return { short: clip(short, META_CHARS), full };
}
