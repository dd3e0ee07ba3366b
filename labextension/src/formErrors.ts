import type { ErrorSchema } from '@rjsf/utils';

import type { IFieldError } from './types';

/** Server errors split into what rjsf shows under each field and what belongs at the top. */
export interface IMappedErrors {
  /** rjsf `extraErrors`: `{field: {__errors: [msg]}, nested: {field: {...}}, list: {0: {...}}}` */
  extraErrors: ErrorSchema;
  /** errors about the whole value, or about a place the form does not render */
  formErrors: string[];
}

type Schema = Record<string, unknown>;

function asSchema(value: unknown): Schema | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Schema)
    : null;
}

/** Follow a local `$ref` (`#/$defs/Name`, what pydantic writes). */
function resolve(schema: Schema, root: Schema): Schema {
  let current = schema;
  for (let hops = 0; hops < 32; hops++) {
    const ref = current['$ref'];
    if (typeof ref !== 'string' || !ref.startsWith('#/')) {
      return current;
    }
    let target: unknown = root;
    for (const part of ref.slice(2).split('/')) {
      const key = part.replace(/~1/g, '/').replace(/~0/g, '~');
      target = asSchema(target)?.[key];
    }
    const next = asSchema(target);
    if (next === null) {
      return current;
    }
    current = next;
  }
  return current;
}

/** The sub-schema at `key` of `schema`, or null when the form renders nothing there. */
function child(
  schema: Schema,
  key: string | number,
  root: Schema
): Schema | null {
  const s = resolve(schema, root);
  if (typeof key === 'number') {
    const items = asSchema(s['items']);
    return items ? resolve(items, root) : null;
  }
  const props = asSchema(s['properties']);
  const prop = props ? asSchema(props[key]) : null;
  if (prop) {
    return resolve(prop, root);
  }
  const additional = asSchema(s['additionalProperties']);
  return additional ? resolve(additional, root) : null;
}

/** A human label for an error location (`address.zip`, `tags[2]`). */
export function locLabel(loc: Array<string | number>): string {
  return loc
    .map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`))
    .join('');
}

/**
 * Map the server's `[{loc, msg, type}]` onto rjsf's `extraErrors` so each message shows
 * inline under its field. A `loc` that goes deeper than the form renders (pydantic adds the
 * union member, e.g. `["max_rows", "int"]`) lands under the deepest field it names. Errors with
 * an empty `loc`, or whose first step the form does not render, go to `formErrors` (shown above
 * the form, prefixed with the place).
 */
export function mapServerErrors(
  errors: IFieldError[],
  schema: Record<string, unknown>
): IMappedErrors {
  const extraErrors: Record<string, unknown> = {};
  const formErrors: string[] = [];
  const root = schema as Schema;
  for (const error of errors) {
    let node: Schema | null = root;
    let depth = 0;
    for (const part of error.loc) {
      const next: Schema | null = child(node, part, root);
      if (next === null) {
        break;
      }
      node = next;
      depth += 1;
    }
    if (depth === 0) {
      formErrors.push(
        error.loc.length === 0
          ? error.msg
          : `${locLabel(error.loc)}: ${error.msg}`
      );
      continue;
    }
    let target = extraErrors;
    for (const part of error.loc.slice(0, depth)) {
      const key = String(part);
      const next = asSchema(target[key]) ?? {};
      target[key] = next;
      target = next;
    }
    const list = Array.isArray(target['__errors'])
      ? (target['__errors'] as string[])
      : [];
    list.push(error.msg);
    target['__errors'] = list;
  }
  return { extraErrors: extraErrors as ErrorSchema, formErrors };
}

/** Whether rjsf can build a form for the schema (an empty schema means "any JSON value"). */
export function isFormSchema(schema: Record<string, unknown>): boolean {
  const keys = [
    'type',
    'properties',
    '$ref',
    'enum',
    'const',
    'anyOf',
    'oneOf',
    'allOf',
    'items'
  ];
  return keys.some(k => k in schema);
}
