import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { listIcon } from '@jupyterlab/ui-components';

import { ExecutionsPanel } from './ExecutionsSidebar';
import { ExecutionsAPI } from './request';

/** The "Executions" left sidebar of kitaru_nb. */
const plugin: JupyterFrontEndPlugin<void> = {
  id: 'kitaru-nb:executions',
  description:
    'Executions sidebar: the kitaru_nb journal, failures with tracebacks, answers to pending waits.',
  autoStart: true,
  optional: [ILayoutRestorer],
  activate: (app: JupyterFrontEnd, restorer: ILayoutRestorer | null) => {
    const panel = new ExecutionsPanel(
      new ExecutionsAPI(app.serviceManager.serverSettings)
    );
    panel.title.icon = listIcon;
    panel.title.caption = 'Executions';
    app.shell.add(panel, 'left', { rank: 900 });
    if (restorer) {
      restorer.add(panel, panel.id);
    }
  }
};

export default plugin;
