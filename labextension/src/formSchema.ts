/**
 * From a wait's stored JSON Schema (what pydantic writes) to what rjsf renders in the sidebar, the
 * way the notebook panel builds its form:
 * - `X | None` (`anyOf: [X, {type: null}]`) becomes one input for X that may stay empty (empty
 *   means null, or the field's default when it has one); it is not marked required;
 * - a bool is a checkbox that means False when unchecked (default false);
 * - numbers are text inputs whose raw value the server judges (no browser tooltip);
 * - constraints (range, length, pattern, format, items) become help text shown before submitting;
 * - `$ref`s into `$defs` are inlined so nested models render as fieldsets.
 * Pure functions: tested with vitest.
 */
import type { UiSchema } from '@rjsf/utils';

type Schema = Record<string, unknown>;

export interface IPreparedForm {
  /** the schema rjsf renders */
  schema: Schema;
  /** widgets and help per field */
  uiSchema: UiSchema;
}

function asSchema(value: unknown): Schema | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Schema)
    : null;
}

function resolveRef(ref: string, root: Schema): Schema | null {
  if (!ref.startsWith('#/')) {
    return null;
  }
  let target: unknown = root;
  for (const part of ref.slice(2).split('/')) {
    const key = part.replace(/~1/g, '/').replace(/~0/g, '~');
    target = asSchema(target)?.[key];
  }
  return asSchema(target);
}

const SCALARS = new Set(['string', 'integer', 'number', 'boolean']);

/** The non-null branch of `anyOf: [X, {type: "null"}]`, or null when the schema is not that. */
export function nullableBranch(schema: Schema): Schema | null {
  const anyOf = schema['anyOf'] ?? schema['oneOf'];
  if (!Array.isArray(anyOf) || anyOf.length !== 2) {
    return null;
  }
  const branches = anyOf.map(asSchema);
  const nulls = branches.filter(b => b !== null && b['type'] === 'null');
  const others = branches.filter(b => b !== null && b['type'] !== 'null');
  if (nulls.length !== 1 || others.length !== 1) {
    return null;
  }
  return others[0];
}

function isScalarLike(schema: Schema): boolean {
  return (
    (typeof schema['type'] === 'string' && SCALARS.has(schema['type'])) ||
    Array.isArray(schema['enum']) ||
    schema['type'] === 'array'
  );
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** Common regular expressions in words; others are quoted. */
export function describePattern(pattern: string): string {
  const classes: Record<string, string> = {
    'a-z': 'lowercase letters',
    'A-Z': 'uppercase letters',
    'a-zA-Z': 'letters',
    'A-Za-z': 'letters',
    '0-9': 'digits',
    '\\d': 'digits',
    'a-z0-9': 'lowercase letters and digits',
    'a-zA-Z0-9': 'letters and digits',
    'A-Za-z0-9': 'letters and digits',
    'a-z0-9_': 'lowercase letters, digits and _',
    'a-zA-Z0-9_': 'letters, digits and _',
    '\\w': 'letters, digits and _'
  };
  const m = /^\^\[?([^\]]+?)\]?([+*]|\{(\d+)(?:,(\d*))?\})\$$/.exec(pattern);
  if (m !== null && classes[m[1]] !== undefined) {
    const what = classes[m[1]];
    if (m[2] === '+') {
      return `only ${what}, at least one`;
    }
    if (m[2] === '*') {
      return `only ${what}`;
    }
    const lo = Number(m[3]);
    if (m[4] === undefined) {
      return `exactly ${lo} ${what}`;
    }
    return m[4] === '' ? `at least ${lo} ${what}` : `${lo} to ${m[4]} ${what}`;
  }
  return `must match the pattern ${pattern}`;
}

/** The constraints of a field in words (`between 1 and 10`, `at least 2 characters`). */
export function describeConstraints(schema: Schema): string[] {
  const out: string[] = [];
  const num = (k: string): number | undefined =>
    typeof schema[k] === 'number' ? schema[k] : undefined;
  const min = num('minimum');
  const max = num('maximum');
  const xmin = num('exclusiveMinimum');
  const xmax = num('exclusiveMaximum');
  if (min !== undefined && max !== undefined) {
    out.push(`between ${min} and ${max}`);
  } else if (min !== undefined) {
    out.push(`at least ${min}`);
  } else if (max !== undefined) {
    out.push(`at most ${max}`);
  }
  if (xmin !== undefined) {
    out.push(`greater than ${xmin}`);
  }
  if (xmax !== undefined) {
    out.push(`less than ${xmax}`);
  }
  const multipleOf = num('multipleOf');
  if (multipleOf !== undefined) {
    out.push(`a multiple of ${multipleOf}`);
  }
  const minLength = num('minLength');
  const maxLength = num('maxLength');
  if (minLength !== undefined && maxLength !== undefined) {
    out.push(
      minLength === maxLength
        ? `exactly ${plural(minLength, 'character')}`
        : `${minLength} to ${maxLength} characters`
    );
  } else if (minLength !== undefined) {
    out.push(`at least ${plural(minLength, 'character')}`);
  } else if (maxLength !== undefined) {
    out.push(`at most ${plural(maxLength, 'character')}`);
  }
  if (typeof schema['pattern'] === 'string') {
    out.push(describePattern(schema['pattern']));
  }
  const formats: Record<string, string> = {
    email: 'an email address',
    date: 'a date (YYYY-MM-DD)',
    'date-time': 'a date and time',
    uri: 'a URL',
    uuid: 'a UUID'
  };
  if (typeof schema['format'] === 'string' && formats[schema['format']]) {
    out.push(formats[schema['format']]);
  }
  const minItems = num('minItems');
  const maxItems = num('maxItems');
  if (minItems !== undefined) {
    out.push(`at least ${plural(minItems, 'item')}`);
  }
  if (maxItems !== undefined) {
    out.push(`at most ${plural(maxItems, 'item')}`);
  }
  return out;
}

interface IWalk {
  schema: Schema;
  ui: UiSchema;
}

function walk(
  input: Schema,
  root: Schema,
  seen: readonly string[],
  nullable: boolean
): IWalk {
  const schema: Schema = { ...input };
  // inline $ref (pydantic's `#/$defs/Name`); a recursive model keeps its $ref
  const ref = schema['$ref'];
  if (typeof ref === 'string' && !seen.includes(ref)) {
    const target = resolveRef(ref, root);
    if (target !== null) {
      const rest = { ...schema };
      delete rest['$ref'];
      return walk({ ...target, ...rest }, root, [...seen, ref], nullable);
    }
  }
  // `X | None`: one input for X
  const branch = nullableBranch(schema);
  if (branch !== null) {
    let inner = branch;
    const innerRef = inner['$ref'];
    if (typeof innerRef === 'string' && !seen.includes(innerRef)) {
      inner = resolveRef(innerRef, root) ?? inner;
    }
    if (isScalarLike(inner)) {
      const outer = { ...schema };
      delete outer['anyOf'];
      delete outer['oneOf'];
      return walk({ ...inner, ...outer }, root, seen, true);
    }
  }
  const ui: Record<string, unknown> = {};
  const help = describeConstraints(schema);
  if (help.length > 0) {
    ui['ui:help'] = help.join('; ');
  }
  if (nullable) {
    ui['ui:emptyValue'] = null;
    ui['ui:options'] = { kitaruNullable: true };
    if (schema['default'] === undefined) {
      schema['default'] = null;
    }
  }
  const type = schema['type'];
  if (type === 'boolean' && schema['default'] === undefined) {
    schema['default'] = false;
  }
  if (type === 'integer' || type === 'number') {
    ui['ui:widget'] = 'text';
    ui['ui:options'] = {
      ...(ui['ui:options'] ?? {}),
      inputType: 'text'
    };
  }
  if (type === 'object' || asSchema(schema['properties']) !== null) {
    const props = asSchema(schema['properties']) ?? {};
    const required = Array.isArray(schema['required'])
      ? (schema['required'] as string[])
      : [];
    const outProps: Schema = {};
    const keepRequired: string[] = [];
    for (const [key, value] of Object.entries(props)) {
      const child = asSchema(value);
      if (child === null) {
        outProps[key] = value;
        continue;
      }
      const sub = walk(child, root, seen, false);
      outProps[key] = sub.schema;
      if (Object.keys(sub.ui).length > 0) {
        ui[key] = sub.ui;
      }
      const isNullable =
        (sub.ui['ui:options'] as Record<string, unknown> | undefined)?.[
          'kitaruNullable'
        ] === true;
      if (required.includes(key) && !isNullable) {
        keepRequired.push(key);
      }
    }
    schema['properties'] = outProps;
    if (required.length > 0) {
      schema['required'] = keepRequired;
    }
  }
  const items = asSchema(schema['items']);
  if (type === 'array' && items !== null) {
    const sub = walk(items, root, seen, false);
    schema['items'] = sub.schema;
    if (Object.keys(sub.ui).length > 0) {
      ui['items'] = sub.ui;
    }
  }
  return { schema, ui: ui as UiSchema };
}

/** The schema and uiSchema rjsf renders for a wait's stored JSON Schema. */
export function prepareForm(stored: Record<string, unknown>): IPreparedForm {
  const root = stored as Schema;
  const { schema, ui } = walk(root, root, [], false);
  // the question is the form's heading: no model title ("Approval") above the fields
  delete schema['title'];
  delete schema['$defs'];
  delete schema['definitions'];
  return { schema, uiSchema: ui };
}

/**
 * The value to send: fields the form left out that the prepared schema defaults (false for a
 * bool, null for an optional field) are filled in, so "unchecked" means False and "empty" None.
 */
export function toAnswer(formData: unknown, prepared: Schema): unknown {
  const props = asSchema(prepared['properties']);
  if (props === null) {
    if (formData === undefined && prepared['default'] !== undefined) {
      return prepared['default'];
    }
    return formData;
  }
  const data = asSchema(formData) ?? {};
  const required = Array.isArray(prepared['required'])
    ? (prepared['required'] as string[])
    : [];
  const out: Schema = { ...data };
  for (const [key, value] of Object.entries(props)) {
    const child = asSchema(value);
    if (child === null) {
      continue;
    }
    if (out[key] === undefined) {
      if (child['default'] !== undefined) {
        out[key] = child['default'];
      } else if (
        asSchema(child['properties']) !== null &&
        required.includes(key)
      ) {
        out[key] = toAnswer(undefined, child);
      }
    } else if (asSchema(child['properties']) !== null) {
      out[key] = toAnswer(out[key], child);
    }
  }
  return out;
}
