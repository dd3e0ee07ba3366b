/**
 * What a checkpoint or an execution logged and saved (kitaru.log / kitaru.save), where a cached
 * call's output came from, and step-workflow construct groups. Everything from user code is React
 * text, never HTML.
 */
import React from 'react';

import { clip, metadataText, PREVIEW_CHARS } from './groups';
import type { IGroup, IGroupable } from './groups';
import type { IArtifact, ICheckpoint } from './types';

/** `key=value, ...`, clipped, the whole of it on hover; null when nothing was logged. */
export function Metadata(props: {
  metadata: Record<string, unknown> | null | undefined;
}): JSX.Element | null {
  const { short, full } = metadataText(props.metadata);
  if (full === '') {
    return null;
  }
  return (
    <span className="kitaru-nb-metadata" title={full}>
      {short}
    </span>
  );
}

/** What the checkpoint saved with kitaru.save (its output, listed first, is not repeated). */
export function savedArtifacts(call: ICheckpoint): IArtifact[] {
  return (call.artifacts ?? []).filter(a => a.save_type !== 'step_output');
}

export function Artifact(props: { artifact: IArtifact }): JSX.Element {
  const { artifact } = props;
  const preview = artifact.preview ?? '';
  return (
    <li className="kitaru-nb-artifact" data-name={artifact.name}>
      <b className="kitaru-nb-artifact-name">{artifact.name}</b>
      {artifact.kind !== null && (
        <>
          {' '}
          <i className="kitaru-nb-artifact-type">{artifact.kind}</i>
        </>
      )}
      {preview !== '' && (
        <>
          {': '}
          <code className="kitaru-nb-artifact-preview" title={preview}>
            {clip(preview, PREVIEW_CHARS)}
          </code>
        </>
      )}
      {(artifact.tags ?? []).map(t => (
        <span key={t} className="kitaru-nb-tag">
          {' '}
          #{t}
        </span>
      ))}
    </li>
  );
}

/** A checkpoint's metadata line, saved values and cache origin; null for the common row with none. */
export function CheckpointExtras(props: {
  call: ICheckpoint;
  onOpen?: (execId: string) => void;
}): JSX.Element | null {
  const { call, onOpen } = props;
  const saved = savedArtifacts(call);
  const hasMeta = Object.keys(call.metadata ?? {}).length > 0;
  const cached = call.cached_from ?? null;
  if (!hasMeta && saved.length === 0 && cached === null) {
    return null;
  }
  return (
    <div className="kitaru-nb-extras">
      {cached !== null && (
        <div className="kitaru-nb-cached" title={cached}>
          cached from{' '}
          {onOpen !== undefined ? (
            <button className="kitaru-nb-link" onClick={() => onOpen(cached)}>
              {cached.slice(0, 8)}
            </button>
          ) : (
            <code>{cached.slice(0, 8)}</code>
          )}
        </div>
      )}
      {hasMeta && (
        <div className="kitaru-nb-metadata-line">
          <Metadata metadata={call.metadata} />
        </div>
      )}
      {saved.length > 0 && (
        <ul className="kitaru-nb-artifacts">
          {saved.map(a => (
            <Artifact key={a.artifact_id} artifact={a} />
          ))}
        </ul>
      )}
    </div>
  );
}

/** A step-workflow construct: its summary line, then its rows (collapsible). */
export function Group<R extends IGroupable>(props: {
  group: IGroup<R>;
  children: React.ReactNode;
}): JSX.Element {
  const { group } = props;
  return (
    <li
      className="kitaru-nb-group"
      data-kind={group.kind}
      data-key={group.key}
      data-status={group.status}
    >
      <details open>
        <summary className="kitaru-nb-group-summary">{group.label}</summary>
        <ol className="kitaru-nb-group-rows">{props.children}</ol>
      </details>
    </li>
  );
}
