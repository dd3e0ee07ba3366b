import { Clipboard } from '@jupyterlab/apputils';
import React, { useState } from 'react';

/** "Copy as code": the snippet, shown as text, and a button that copies it. */
export function CopyCode(props: { code: string; what: string }): JSX.Element {
  const [copied, setCopied] = useState(false);
  return (
    <details className="kitaru-nb-copy-code" data-what={props.what}>
      <summary>Copy as code: {props.what}</summary>
      <pre className="kitaru-nb-code">{props.code}</pre>
      <button
        type="button"
        className="jp-mod-styled kitaru-nb-copy"
        onClick={() => {
          Clipboard.copyToSystem(props.code);
          setCopied(true);
          window.setTimeout(() => setCopied(false), 2000);
        }}
      >
        {copied ? 'Copied' : 'Copy'}
      </button>
    </details>
  );
}
