import type { ReadonlyJSONObject } from '@lumino/coreutils';
import { FormComponent } from '@jupyterlab/ui-components';
import type { UiSchema } from '@rjsf/utils';
import { customizeValidator } from '@rjsf/validator-ajv8';
import React, { useMemo, useState } from 'react';

import { CopyCode } from './CopyCode';
import { IMappedErrors, isFormSchema, mapServerErrors } from './formErrors';
import { TEMPLATES, WIDGETS } from './formParts';
import { prepareForm, toAnswer } from './formSchema';
import { answerSnippet } from './snippets';
import { ExecutionsAPI, KitaruApiError } from './request';
import type { IExecution, IPendingWait } from './types';

interface IWaitFormProps {
  api: ExecutionsAPI;
  execId: string;
  wait: IPendingWait;
  /** called with the refreshed execution after the server recorded the answer */
  onAnswered: (execution: IExecution, wait: string) => void;
}

/** rjsf needs a validator to resolve schemas; answers are validated by the server (noValidate). */
const validator = customizeValidator<ReadonlyJSONObject>();

type FormTemplates = React.ComponentProps<typeof FormComponent>['templates'];

const NO_ERRORS: IMappedErrors = { extraErrors: {}, formErrors: [] };

/**
 * The answer form of one pending wait, built from its stored JSON Schema by JupyterLab's
 * rjsf-based FormComponent. The server validates (400 + per-field errors), and its errors
 * are shown inline under their fields through rjsf `extraErrors`.
 */
export function WaitForm(props: IWaitFormProps): JSX.Element {
  const { api, execId, wait, onAnswered } = props;
  const [formData, setFormData] = useState<unknown>(undefined);
  const [rawJson, setRawJson] = useState('');
  const [errors, setErrors] = useState<IMappedErrors>(NO_ERRORS);
  const [message, setMessage] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  // every live refresh brings a new schema object: prepare the form again only when it differs
  const schemaKey = JSON.stringify(wait.schema);
  const prepared = useMemo(
    () => prepareForm(JSON.parse(schemaKey) as Record<string, unknown>),
    [schemaKey]
  );

  const submit = async (value: unknown): Promise<void> => {
    if (busy) {
      return;
    }
    setBusy(true);
    setMessage(null);
    try {
      const execution = await api.answer(execId, wait.name, value);
      setErrors(NO_ERRORS);
      onAnswered(execution, wait.name);
    } catch (error) {
      if (error instanceof KitaruApiError) {
        setErrors(mapServerErrors(error.errors, wait.schema));
        setMessage(
          error.errors.length > 0
            ? 'The answer does not fit the schema; nothing was recorded.'
            : error.message
        );
      } else {
        setMessage(String(error));
      }
    } finally {
      setBusy(false);
    }
  };

  const isConfirmation = wait.metadata['kitaru_kind'] === 'confirmation';
  const note =
    typeof wait.metadata['message'] === 'string'
      ? wait.metadata['message']
      : null;

  let body: JSX.Element;
  if (isConfirmation) {
    body = (
      <div className="kitaru-nb-confirm">
        {note !== null && note !== wait.question && (
          <p className="kitaru-nb-confirm-message">{note}</p>
        )}
        <button
          className="jp-mod-styled jp-mod-accept"
          disabled={busy}
          onClick={() => void submit(true)}
        >
          Confirm
        </button>
        <button
          className="jp-mod-styled jp-mod-warn"
          disabled={busy}
          onClick={() => void submit(false)}
        >
          Reject
        </button>
      </div>
    );
  } else if (isFormSchema(wait.schema)) {
    const uiSchema = {
      ...prepared.uiSchema,
      'ui:options': {
        ...((prepared.uiSchema['ui:options'] as object | undefined) ?? {}),
        submitButtonOptions: {
          norender: false,
          submitText: 'Submit',
          props: { disabled: busy }
        }
      }
    } as UiSchema<ReadonlyJSONObject>;
    body = (
      <>
        <FormComponent
          schema={prepared.schema}
          formData={formData as ReadonlyJSONObject}
          onChange={e => setFormData(e.formData)}
          onSubmit={e => void submit(toAnswer(e.formData, prepared.schema))}
          validator={validator}
          noValidate={true}
          noHtml5Validate={true}
          showErrorList={false}
          extraErrors={errors.extraErrors}
          uiSchema={uiSchema}
          templates={TEMPLATES as FormTemplates}
          widgets={WIDGETS}
          idPrefix={`kitaru-nb-${execId.slice(0, 8)}-${wait.name}`}
          formContext={{ defaultFormData: {} }}
        />
        <CopyCode
          what="answer"
          code={answerSnippet(
            execId,
            wait.name,
            toAnswer(formData, prepared.schema) ?? null
          )}
        />
      </>
    );
  } else {
    // no schema: any JSON value
    body = (
      <form
        className="kitaru-nb-json"
        onSubmit={e => {
          e.preventDefault();
          let value: unknown;
          try {
            value = JSON.parse(rawJson);
          } catch (error) {
            setErrors({
              extraErrors: {},
              formErrors: [`Not valid JSON: ${String(error)}`]
            });
            return;
          }
          void submit(value);
        }}
      >
        <label>
          Answer (any JSON value)
          <textarea
            className="jp-mod-styled"
            value={rawJson}
            onChange={e => setRawJson(e.target.value)}
          />
        </label>
        <button
          type="submit"
          className="jp-mod-styled jp-mod-accept kitaru-nb-submit"
          disabled={busy}
        >
          Submit
        </button>
      </form>
    );
  }

  return (
    <section className="kitaru-nb-wait" data-wait={wait.name}>
      <h4 className="kitaru-nb-wait-title">
        Waiting for <code>{wait.name}</code>
      </h4>
      {wait.question !== null && (
        <p className="kitaru-nb-question">{wait.question}</p>
      )}
      {message !== null && (
        <div className="kitaru-nb-form-message" role="alert">
          {message}
        </div>
      )}
      {errors.formErrors.length > 0 && (
        <ul className="kitaru-nb-form-errors">
          {errors.formErrors.map((text, i) => (
            <li key={i}>{text}</li>
          ))}
        </ul>
      )}
      {body}
    </section>
  );
}
