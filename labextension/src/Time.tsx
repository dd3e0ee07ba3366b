import React from 'react';

import { exactTime, relativeTime } from './format';

/** A date as relative time (`5 minutes ago`) with the exact time on hover. */
export function When(props: {
  iso: string | null;
  prefix?: string;
}): JSX.Element | null {
  if (props.iso === null) {
    return null;
  }
  return (
    <time
      className="kitaru-nb-time"
      dateTime={props.iso}
      title={exactTime(props.iso)}
    >
      {props.prefix ?? ''}
      {relativeTime(props.iso)}
    </time>
  );
}
