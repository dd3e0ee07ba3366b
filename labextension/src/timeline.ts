/** The sidebar's timeline rows, grouped by step-workflow construct when a run has any. */
import { checkpointStatus } from './format';
import { buildGroups, needsGroups } from './groups';
import type { IGroup, IGroupable } from './groups';
import type { ICheckpoint, IExecution, ITimelineRow } from './types';

/** A timeline row with what grouping needs, and its checkpoint when it is one. */
export interface ITimelineItem extends IGroupable {
  row: ITimelineRow;
  call?: ICheckpoint;
}

/** The timeline, grouped by step-workflow construct when the run has any (flows stay flat). */
export function timelineItems(
  execution: IExecution,
  byIndex: Map<number, ICheckpoint>
): Array<ITimelineItem | IGroup<ITimelineItem>> {
  const items: ITimelineItem[] = execution.timeline.map(row => {
    const call = row.kind === 'checkpoint' ? byIndex.get(row.index) : undefined;
    return {
      index: row.index,
      name: row.name,
      kind: row.kind,
      status: call !== undefined ? checkpointStatus(call) : row.status,
      checkpointType: call?.checkpoint_type ?? null,
      outputPreview: call?.output_preview ?? null,
      row,
      call
    };
  });
  if (execution.kind !== 'workflow' || !needsGroups(items)) {
    return items;
  }
  return buildGroups(items, (execution.meta ?? {})['steps']);
}
