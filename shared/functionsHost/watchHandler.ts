import type { InvocationContext } from '@azure/functions';

import { formatIssues } from '../errors';
import { toFieldIssues } from '../model/attachRequest';
import { MachineTaskWatchMessageSchema } from '../model/messages';
import { type MachineTaskWatchDeps, watchMachineTask } from '../workflow/machineTaskWatch';
import { telemetryOf } from './telemetry';

/** Looks at a machine task in progress on behalf of the steps parked on it (see watchMachineTask). */
export function makeWatchMachineTaskHandler(deps: () => MachineTaskWatchDeps & { nowInMs: () => number }) {
  return async (message: unknown, context: InvocationContext): Promise<void> => {
    const telemetry = telemetryOf(context);
    const parsed = MachineTaskWatchMessageSchema.safeParse(message);
    if (!parsed.success) {
      // Retrying cannot make it valid; nothing of ours sends such a message.
      const issues = formatIssues(toFieldIssues(parsed.error));
      telemetry.log(
        'error',
        `Not a machine task watch message (${issues}); dropped, its text was: ${JSON.stringify(message)}`,
      );
      return;
    }
    const watch = parsed.data;
    const { nowInMs, ...watchDeps } = deps();
    const where = `[${watch.tenantId}/${watch.attachmentId} ${watch.step} watch] ${watch.machine.machineName}`;
    const subject = { tenantId: watch.tenantId, attachmentId: watch.attachmentId, step: watch.step };
    const outcome = await watchMachineTask(watchDeps, watch, nowInMs, (text) =>
      telemetry.log('info', `${where}: ${text}`, subject),
    );
    telemetry.log('info', `${where}: ${outcome}`, subject);
  };
}
