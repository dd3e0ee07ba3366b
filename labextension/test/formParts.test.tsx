import type {
  FieldTemplateProps,
  SubmitButtonProps,
  TitleFieldProps,
  WidgetProps
} from '@rjsf/utils';
import React from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';

import {
  CheckboxWidget,
  FieldTemplate,
  SubmitButton,
  TitleFieldTemplate
} from '../src/formParts';

function field(over: Partial<FieldTemplateProps>): string {
  const props = {
    id: 'root_team',
    label: 'Team',
    children: <input id="root_team" />,
    readonly: false,
    disabled: false,
    displayLabel: true,
    schema: { type: 'string' },
    onChange: () => undefined,
    onKeyChange: () => () => undefined,
    onDropPropertyClick: () => () => undefined,
    registry: {},
    ...over
  } as unknown as FieldTemplateProps;
  return renderToStaticMarkup(<FieldTemplate {...props} />);
}

describe('FieldTemplate', () => {
  it('marks required fields with *', () => {
    expect(field({ required: true })).toContain(
      'Team<span class="kitaru-nb-required" title="required"> *</span></label>'
    );
    expect(field({ required: false })).not.toContain('kitaru-nb-required');
  });

  it('shows the description and the constraints as help', () => {
    const html = field({
      rawDescription: 'the owning team',
      rawHelp: 'only lowercase letters, at least one'
    });
    expect(html).toContain('the owning team');
    expect(html).toContain(
      '<div class="kitaru-nb-help kitaru-nb-constraints" id="root_team__help">only lowercase letters, at least one</div>'
    );
  });

  it("puts the server's errors under the field, as text", () => {
    const html = field({
      rawErrors: [
        "String should match pattern '^[a-z]+$'",
        '<img src=x onerror=alert(1)>'
      ]
    });
    expect(html).toContain('data-invalid="true"');
    const errors = html.slice(html.indexOf('validationErrors'));
    expect(errors).toContain(
      'String should match pattern &#x27;^[a-z]+$&#x27;'
    );
    expect(errors).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).not.toContain('<img');
    // the errors come after the input
    expect(html.indexOf('validationErrors')).toBeGreaterThan(
      html.indexOf('<input')
    );
  });

  it('leaves labels of objects to their fieldset', () => {
    const html = field({ schema: { type: 'object' }, label: 'Contact' });
    expect(html).not.toContain('<label');
  });
});

describe('CheckboxWidget', () => {
  const render = (value: unknown, required = true): string =>
    renderToStaticMarkup(
      <CheckboxWidget
        {...({
          id: 'root_approved',
          value,
          label: 'Approved',
          required,
          schema: { type: 'boolean' },
          onChange: () => undefined,
          onBlur: () => undefined,
          onFocus: () => undefined,
          options: {},
          registry: {}
        } as unknown as WidgetProps)}
      />
    );

  it('is unchecked for false and for a missing value, checked for true', () => {
    expect(render(false)).not.toContain('checked');
    expect(render(undefined)).not.toContain('checked');
    expect(render(true)).toContain('checked=""');
  });

  it('carries its label and required mark', () => {
    expect(render(false)).toContain('Approved');
    expect(render(false)).toContain('kitaru-nb-required');
    expect(render(false, false)).not.toContain('kitaru-nb-required');
  });
});

describe('SubmitButton', () => {
  it('is a JupyterLab accept button', () => {
    const html = renderToStaticMarkup(
      <SubmitButton
        {...({
          uiSchema: { 'ui:submitButtonOptions': { submitText: 'Submit' } },
          registry: {}
        } as unknown as SubmitButtonProps)}
      />
    );
    expect(html).toContain(
      '<button type="submit" class="jp-mod-styled jp-mod-accept kitaru-nb-submit">Submit</button>'
    );
  });
});

describe('TitleFieldTemplate', () => {
  it("marks a required nested model's fieldset like a field", () => {
    const html = renderToStaticMarkup(
      <TitleFieldTemplate
        {...({
          id: 'root_contact__title',
          title: 'Contact',
          required: true,
          schema: {},
          registry: {}
        } as unknown as TitleFieldProps)}
      />
    );
    expect(html).toBe(
      '<legend id="root_contact__title" class="kitaru-nb-legend">Contact<span class="kitaru-nb-required" title="required"> *</span></legend>'
    );
  });
});
