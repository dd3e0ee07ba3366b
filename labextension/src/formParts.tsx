/**
 * rjsf templates and widgets that give a wait form JupyterLab's look and the panel's meaning:
 * labels with a required mark, help (description and constraints in words) under the input,
 * the server's errors under their field, a checkbox that is False when unchecked, and
 * JupyterLab-styled buttons.
 */
import type {
  FieldTemplateProps,
  IconButtonProps,
  RegistryWidgetsType,
  SubmitButtonProps,
  TemplatesType,
  TitleFieldProps,
  WidgetProps
} from '@rjsf/utils';
import React from 'react';

/** One field: label (with `*` when required), input, help, then the errors under it. */
export function FieldTemplate(props: FieldTemplateProps): JSX.Element {
  const {
    id,
    classNames,
    label,
    children,
    rawErrors,
    rawHelp,
    rawDescription,
    hidden,
    required,
    displayLabel,
    schema
  } = props;
  if (hidden) {
    return <div className="kitaru-nb-hidden">{children}</div>;
  }
  const isContainer = schema.type === 'object' || schema.type === 'array';
  const errors = (rawErrors ?? []).filter(e => e !== '');
  return (
    <div
      className={`form-group kitaru-nb-field ${classNames ?? ''}`}
      data-field={id}
      data-invalid={errors.length > 0 ? 'true' : undefined}
    >
      {displayLabel && label && !isContainer && (
        <label className="kitaru-nb-label" htmlFor={id}>
          {label}
          {required && (
            <span className="kitaru-nb-required" title="required">
              {' '}
              *
            </span>
          )}
        </label>
      )}
      {children}
      {displayLabel && !isContainer && rawDescription && (
        <div
          className="kitaru-nb-help kitaru-nb-description"
          id={`${id}__description`}
        >
          {rawDescription}
        </div>
      )}
      {rawHelp && (
        <div
          className="kitaru-nb-help kitaru-nb-constraints"
          id={`${id}__help`}
        >
          {rawHelp}
        </div>
      )}
      <div className="validationErrors" id={`${id}__error`}>
        {errors.map((text, i) => (
          <div key={i} className="kitaru-nb-field-error" role="alert">
            {text}
          </div>
        ))}
      </div>
    </div>
  );
}

/** The title of a nested model's fieldset, with the same required mark as fields. */
export function TitleFieldTemplate(props: TitleFieldProps): JSX.Element {
  return (
    <legend id={props.id} className="kitaru-nb-legend">
      {props.title}
      {props.required && (
        <span className="kitaru-nb-required" title="required">
          {' '}
          *
        </span>
      )}
    </legend>
  );
}

/** A bool: checked is True, unchecked is False (never "missing"). */
export function CheckboxWidget(props: WidgetProps): JSX.Element {
  const id: string = props.id;
  const value: unknown = props.value;
  const { disabled, readonly, label, required, onChange, schema } = props;
  return (
    <label className="kitaru-nb-checkbox" htmlFor={id}>
      <input
        id={id}
        name={id}
        type="checkbox"
        checked={value === true}
        disabled={disabled || readonly}
        onChange={e => onChange(e.target.checked)}
      />{' '}
      <span className="kitaru-nb-label">
        {label || (typeof schema.title === 'string' ? schema.title : '')}
      </span>
      {required && (
        <span className="kitaru-nb-required" title="required">
          {' '}
          *
        </span>
      )}
    </label>
  );
}

/** The form's Submit: a JupyterLab accept button. */
export function SubmitButton(props: SubmitButtonProps): JSX.Element | null {
  // rjsf's getSubmitButtonOptions, read here so @rjsf/utils stays a types-only import (no
  // second copy of it in the bundle)
  const ui = (props.uiSchema ?? {}) as Record<string, unknown>;
  const nested = (ui['ui:options'] as Record<string, unknown> | undefined)?.[
    'submitButtonOptions'
  ];
  const options = (ui['ui:submitButtonOptions'] ?? nested ?? {}) as {
    norender?: boolean;
    submitText?: string;
    props?: Record<string, unknown>;
  };
  if (options.norender === true) {
    return null;
  }
  const extra = options.props ?? {};
  return (
    <div className="kitaru-nb-form-buttons">
      <button
        type="submit"
        className="jp-mod-styled jp-mod-accept kitaru-nb-submit"
        disabled={extra['disabled'] === true}
      >
        {options.submitText ?? 'Submit'}
      </button>
    </div>
  );
}

function IconText(text: string, className: string) {
  return function Button(props: IconButtonProps): JSX.Element {
    // rjsf also passes iconType, icon, uiSchema and registry: only these reach the DOM
    return (
      <button
        type="button"
        className={`jp-mod-styled ${className}`}
        disabled={props.disabled}
        onClick={props.onClick}
        title={props.title}
      >
        {text}
      </button>
    );
  };
}

type Templates = Partial<Omit<TemplatesType, 'ButtonTemplates'>> & {
  ButtonTemplates?: Partial<TemplatesType['ButtonTemplates']>;
};

export const TEMPLATES: Templates = {
  FieldTemplate,
  TitleFieldTemplate,
  ButtonTemplates: {
    SubmitButton,
    AddButton: IconText('Add item', 'jp-mod-accept kitaru-nb-add'),
    RemoveButton: IconText('Remove', 'jp-mod-warn kitaru-nb-remove'),
    MoveUpButton: IconText('Up', 'jp-mod-reject'),
    MoveDownButton: IconText('Down', 'jp-mod-reject'),
    CopyButton: IconText('Copy', 'jp-mod-reject')
  }
};

export const WIDGETS: RegistryWidgetsType = {
  CheckboxWidget
};
