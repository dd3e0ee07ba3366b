import { describe, expect, it } from 'vitest';

import { isFormSchema, locLabel, mapServerErrors } from '../src/formErrors';

/** What pydantic writes for `class Approval(BaseModel)` with a nested model and a list. */
const APPROVAL = {
  title: 'Approval',
  type: 'object',
  required: ['approved', 'reviewer'],
  properties: {
    approved: { type: 'boolean', title: 'Approved' },
    reviewer: { type: 'string', minLength: 2, title: 'Reviewer' },
    address: { $ref: '#/$defs/Address' },
    tags: { type: 'array', items: { type: 'string' } },
    extra: { type: 'object', additionalProperties: { type: 'integer' } }
  },
  $defs: {
    Address: {
      type: 'object',
      properties: { zip: { type: 'string' } }
    }
  }
};

describe('mapServerErrors', () => {
  it('puts each field error under its field', () => {
    const mapped = mapServerErrors(
      [
        { loc: ['approved'], msg: 'Field required', type: 'missing' },
        { loc: ['reviewer'], msg: 'too short', type: 'string_too_short' },
        { loc: ['reviewer'], msg: 'second problem', type: 'x' }
      ],
      APPROVAL
    );
    expect(mapped.formErrors).toEqual([]);
    expect(mapped.extraErrors).toEqual({
      approved: { __errors: ['Field required'] },
      reviewer: { __errors: ['too short', 'second problem'] }
    });
  });

  it('follows $ref into nested models, array items and additionalProperties', () => {
    const mapped = mapServerErrors(
      [
        { loc: ['address', 'zip'], msg: 'bad zip', type: 'x' },
        { loc: ['tags', 2], msg: 'not a string', type: 'x' },
        { loc: ['extra', 'n'], msg: 'not an int', type: 'x' }
      ],
      APPROVAL
    );
    expect(mapped.formErrors).toEqual([]);
    expect(mapped.extraErrors).toEqual({
      address: { zip: { __errors: ['bad zip'] } },
      tags: { 2: { __errors: ['not a string'] } },
      extra: { n: { __errors: ['not an int'] } }
    });
  });

  it('sends whole-value errors and unknown places to the top of the form', () => {
    const mapped = mapServerErrors(
      [
        { loc: [], msg: 'must be an object', type: 'type' },
        { loc: ['nope', 0], msg: 'unexpected', type: 'x' }
      ],
      APPROVAL
    );
    expect(mapped.extraErrors).toEqual({});
    expect(mapped.formErrors).toEqual([
      'must be an object',
      'nope[0]: unexpected'
    ]);
  });

  it('handles a scalar schema (a bool wait)', () => {
    const mapped = mapServerErrors(
      [{ loc: [], msg: 'Input should be a valid boolean', type: 'bool_type' }],
      { type: 'boolean' }
    );
    expect(mapped.formErrors).toEqual(['Input should be a valid boolean']);
  });

  it('keeps messages as given (React renders them as text)', () => {
    const xss = '<img src=x onerror=alert(1)>';
    const mapped = mapServerErrors(
      [{ loc: ['reviewer'], msg: xss, type: 'x' }],
      APPROVAL
    );
    expect(mapped.extraErrors).toEqual({ reviewer: { __errors: [xss] } });
  });
});

describe('locLabel', () => {
  it('joins names with dots and indexes with brackets', () => {
    expect(locLabel(['a', 'b', 3, 'c'])).toBe('a.b[3].c');
    expect(locLabel([])).toBe('');
  });
});

describe('isFormSchema', () => {
  it('knows when rjsf can render a form', () => {
    expect(isFormSchema(APPROVAL)).toBe(true);
    expect(isFormSchema({ type: 'boolean' })).toBe(true);
    expect(isFormSchema({ enum: ['a', 'b'] })).toBe(true);
    expect(
      isFormSchema({ anyOf: [{ type: 'string' }, { type: 'null' }] })
    ).toBe(true);
    expect(isFormSchema({})).toBe(false);
  });
});

describe('mapServerErrors with locations deeper than the form', () => {
  it("puts pydantic's union-member step under the field it belongs to", () => {
    const schema = {
      type: 'object',
      properties: {
        max_rows: { anyOf: [{ type: 'integer' }, { type: 'null' }] }
      }
    };
    const mapped = mapServerErrors(
      [
        {
          loc: ['max_rows', 'int'],
          msg: 'Input should be a valid integer, unable to parse string as an integer',
          type: 'int_parsing'
        }
      ],
      schema
    );
    expect(mapped.formErrors).toEqual([]);
    expect(mapped.extraErrors).toEqual({
      max_rows: {
        __errors: [
          'Input should be a valid integer, unable to parse string as an integer'
        ]
      }
    });
  });
});
