import type { InvocationContext } from '@azure/functions';

import { STORAGE_CONNECTION_SETTING } from '../shared/config';
import { getDeps } from '../shared/functionsHost/deps';
import { registerStorageQueueFunction } from '../shared/functionsHost/functionApp';
import { machineTaskDeps } from '../shared/functionsHost/machineTaskDeps';
import { toFieldIssues } from '../shared/model/attachRequest';
import { MachineTaskWatchMessageSchema } from '../shared/model/messages';
import { MACHINE_TASK_WATCH_QUEUE } from '../shared/model/steps';
import { type MachineTaskWatchDeps, watchMachineTask } from '../shared/workflow/machineTask';

const FUNCTION = 'watchMachineTask';

/** Looks at a machine task in progress on behalf of the steps parked on it (see watchMachineTask). */
export function makeWatchMachineTaskHandler(deps: () => MachineTaskWatchDeps & { nowInMs: () => number }) {
  return async (message: unknown, context: InvocationContext): Promise<void> => {
    const parsed = MachineTaskWatchMessageSchema.safeParse(message);
    if (!parsed.success) {
      // Retrying cannot make it valid; nothing of ours sends such a message.
      const issues = toFieldIssues(parsed.error)
        .map((issue) => `${issue.field} ${issue.reason}`)
        .join('; ');
      context.error(`Not a machine task watch message (${issues}); dropped, its text was: ${JSON.stringify(message)}`);
      return;
    }
    const watch = parsed.data;
    const { nowInMs, ...watchDeps } = deps();
    const where = `[${watch.tenantId}/${watch.attachmentId} ${watch.step} watch] ${watch.machine.machineName}`;
    const outcome = await watchMachineTask(watchDeps, watch, nowInMs, (text) => context.log(`${where}: ${text}`));
    context.log(`${where}: ${outcome}`);
  };
}

registerStorageQueueFunction(FUNCTION, {
  queueName: MACHINE_TASK_WATCH_QUEUE,
  connection: STORAGE_CONNECTION_SETTING,
  handler: makeWatchMachineTaskHandler(() => {
    const app = getDeps();
    return { ...machineTaskDeps(app), nowInMs: app.nowInMs };
  }),
});
