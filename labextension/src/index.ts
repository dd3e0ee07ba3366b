import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { listIcon } from '@jupyterlab/ui-components';

import { ExecutionsPanel } from './ExecutionsSidebar';
import { ILiveSettings, LiveUpdates } from './live';
import { ExecutionsAPI } from './request';
import type { IWaitingCounts } from './types';

const PLUGIN_ID = 'kitaru-nb:executions';

const DEFAULTS: ILiveSettings = { pollInterval: 2, push: true };

function readSettings(settings: ISettingRegistry.ISettings): ILiveSettings {
  const interval = settings.get('pollInterval').composite;
  const push = settings.get('push').composite;
  return {
    pollInterval:
      typeof interval === 'number' && interval > 0
        ? interval
        : DEFAULTS.pollInterval,
    push: typeof push === 'boolean' ? push : DEFAULTS.push
  };
}

/** The sidebar tab's badge: how many executions wait for a human. */
export function badgeCaption(counts: IWaitingCounts | null): string {
  if (counts === null || counts.total === 0) {
    return 'Executions';
  }
  const parts: string[] = [];
  if (counts.input > 0) {
    parts.push(`${counts.input} need input`);
  }
  if (counts.decision > 0) {
    parts.push(`${counts.decision} paused on error`);
  }
  return `Executions: ${parts.join(', ')}`;
}

/** The "Executions" left sidebar of kitaru_nb. */
const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description:
    'Executions sidebar: the kitaru_nb journal, failures with tracebacks, answers to pending waits.',
  autoStart: true,
  optional: [ILayoutRestorer, ISettingRegistry],
  activate: (
    app: JupyterFrontEnd,
    restorer: ILayoutRestorer | null,
    registry: ISettingRegistry | null
  ) => {
    const api = new ExecutionsAPI(app.serviceManager.serverSettings);
    const live = new LiveUpdates(
      api,
      app.serviceManager.events ?? null,
      DEFAULTS
    );
    const panel = new ExecutionsPanel(api, live);
    panel.title.icon = listIcon;
    panel.title.caption = 'Executions';
    live.countsChanged.connect((_, counts) => {
      // keep the shell's data-id: the sidebar finds its tab by it
      panel.title.dataset = {
        ...panel.title.dataset,
        waiting: String(counts.total)
      };
      panel.title.caption = badgeCaption(counts);
    });
    app.shell.add(panel, 'left', { rank: 900 });
    if (restorer) {
      restorer.add(panel, panel.id);
    }
    if (registry) {
      void registry.load(PLUGIN_ID).then(
        settings => {
          live.settings = readSettings(settings);
          settings.changed.connect(() => {
            live.settings = readSettings(settings);
          });
        },
        (reason: unknown) => {
          console.warn('kitaru-nb: settings not loaded', reason);
        }
      );
    }
  }
};

export default plugin;
