import { describe, expect, it } from 'vitest';

import {
  describeConstraints,
  describePattern,
  prepareForm,
  toAnswer
} from '../src/formSchema';

/**
 * What pydantic writes for
 *   class Contact(BaseModel): name: str = Field(min_length=2); email: str = Field(pattern=...)
 *   class Request(BaseModel):
 *       max_rows: int | None = None
 *       approved: bool
 *       team: str = Field(pattern="^[a-z]+$")
 *       amount: int = Field(ge=1, le=10_000)
 *       contact: Contact
 *       note: str | None
 */
const REQUEST = {
  title: 'Request',
  type: 'object',
  required: ['approved', 'team', 'amount', 'contact', 'note'],
  properties: {
    max_rows: {
      anyOf: [{ type: 'integer' }, { type: 'null' }],
      default: null,
      title: 'Max Rows'
    },
    approved: { type: 'boolean', title: 'Approved' },
    team: { type: 'string', pattern: '^[a-z]+$', title: 'Team' },
    amount: {
      type: 'integer',
      minimum: 1,
      maximum: 10000,
      title: 'Amount',
      description: 'in euros'
    },
    contact: { $ref: '#/$defs/Contact' },
    note: {
      anyOf: [{ type: 'string', maxLength: 50 }, { type: 'null' }],
      title: 'Note'
    }
  },
  $defs: {
    Contact: {
      title: 'Contact',
      type: 'object',
      required: ['name', 'email'],
      properties: {
        name: { type: 'string', minLength: 2, title: 'Name' },
        email: { type: 'string', pattern: '^\\S+@\\S+$', title: 'Email' }
      }
    }
  }
};

type Obj = Record<string, Record<string, unknown>>;

describe('prepareForm', () => {
  const prepared = prepareForm(REQUEST);
  const schema = prepared.schema;
  const uiSchema = prepared.uiSchema as unknown as Record<string, Obj>;
  const props = schema['properties'] as Obj;

  it('renders an optional int as one integer input that may stay empty', () => {
    expect(props.max_rows['anyOf']).toBeUndefined();
    expect(props.max_rows['type']).toBe('integer');
    expect(props.max_rows['title']).toBe('Max Rows');
    expect(props.max_rows['default']).toBeNull();
    expect(uiSchema.max_rows['ui:emptyValue']).toBeNull();
    expect(uiSchema.max_rows['ui:widget']).toBe('text');
  });

  it('marks required only what must be filled in (not X | None, even when pydantic requires the key)', () => {
    expect(schema['required']).toEqual([
      'approved',
      'team',
      'amount',
      'contact'
    ]);
    expect(props.note['type']).toBe('string');
    expect(props.note['default']).toBeNull();
  });

  it('makes a bool without default a checkbox that starts (and stays) False', () => {
    expect(props.approved['default']).toBe(false);
  });

  it('states constraints as help before submitting', () => {
    expect(uiSchema.team['ui:help']).toBe(
      'only lowercase letters, at least one'
    );
    expect(uiSchema.amount['ui:help']).toBe('between 1 and 10000');
    expect(uiSchema.note['ui:help']).toBe('at most 50 characters');
    expect(uiSchema.contact.name['ui:help']).toBe('at least 2 characters');
  });

  it('inlines nested models so they render as fieldsets, and drops the model title', () => {
    const contact = props.contact;
    expect(contact['$ref']).toBeUndefined();
    expect(contact['type']).toBe('object');
    expect(contact['required']).toEqual(['name', 'email']);
    expect(schema['title']).toBeUndefined();
    expect(schema['$defs']).toBeUndefined();
  });

  it('turns numbers into text inputs the server judges (no browser tooltip)', () => {
    expect(uiSchema.amount['ui:widget']).toBe('text');
  });

  it('keeps a recursive model finite', () => {
    const tree = {
      $ref: '#/$defs/Node',
      $defs: {
        Node: {
          type: 'object',
          properties: {
            label: { type: 'string' },
            child: { anyOf: [{ $ref: '#/$defs/Node' }, { type: 'null' }] }
          }
        }
      }
    };
    const out = prepareForm(tree);
    expect((out.schema['properties'] as Obj).label['type']).toBe('string');
  });

  it('makes a bare bool wait a checkbox defaulting to False', () => {
    const out = prepareForm({ type: 'boolean', title: 'Confirm' });
    expect(out.schema['default']).toBe(false);
    expect(toAnswer(undefined, out.schema)).toBe(false);
  });
});

describe('toAnswer', () => {
  const { schema } = prepareForm(REQUEST);

  it('sends an unchecked bool as false and empty optional fields as null', () => {
    expect(
      toAnswer(
        { team: 'data', amount: 5, contact: { name: 'Ana', email: 'a@b.c' } },
        schema
      )
    ).toEqual({
      max_rows: null,
      approved: false,
      team: 'data',
      amount: 5,
      note: null,
      contact: { name: 'Ana', email: 'a@b.c' }
    });
  });

  it('keeps what was entered', () => {
    const out = toAnswer(
      { approved: true, max_rows: 7, contact: {} },
      schema
    ) as Record<string, unknown>;
    expect(out.approved).toBe(true);
    expect(out.max_rows).toBe(7);
    expect(out.contact).toEqual({});
  });
});

describe('describeConstraints', () => {
  it('says ranges, lengths, formats and items in words', () => {
    expect(describeConstraints({ minimum: 0 })).toEqual(['at least 0']);
    expect(describeConstraints({ maximum: 9 })).toEqual(['at most 9']);
    expect(describeConstraints({ exclusiveMinimum: 0 })).toEqual([
      'greater than 0'
    ]);
    expect(describeConstraints({ minLength: 1, maxLength: 1 })).toEqual([
      'exactly 1 character'
    ]);
    expect(describeConstraints({ minLength: 2, maxLength: 8 })).toEqual([
      '2 to 8 characters'
    ]);
    expect(describeConstraints({ format: 'email' })).toEqual([
      'an email address'
    ]);
    expect(describeConstraints({ minItems: 1 })).toEqual(['at least 1 item']);
    expect(describeConstraints({ type: 'string' })).toEqual([]);
  });
});

describe('describePattern', () => {
  it('puts common character classes in words and quotes the rest', () => {
    expect(describePattern('^[a-z]+$')).toBe(
      'only lowercase letters, at least one'
    );
    expect(describePattern('^[0-9]{5}$')).toBe('exactly 5 digits');
    expect(describePattern('^[A-Za-z0-9]{2,8}$')).toBe(
      '2 to 8 letters and digits'
    );
    expect(describePattern('^\\S+@\\S+$')).toBe(
      'must match the pattern ^\\S+@\\S+$'
    );
  });
});
