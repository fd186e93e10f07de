import { stepMessage } from '../model/messages';
import { MACHINE_TASK_WATCH_QUEUE, stepDefinition } from '../model/steps';
import type { MachineTaskDeps } from '../workflow/machineTask';
import type { AppDeps } from './deps';

/** The machine-task deps of steps 2-4, from the app's. */
export function machineTaskDeps(app: AppDeps): MachineTaskDeps {
  return {
    tasks: app.machineTasks,
    runCommands: app.runCommands,
    stableUuid: app.stableUuid,
    reuseForInMs: app.config.machineTasks.reuseForInMs,
    pollIntervalInMs: app.config.arm.pollIntervalInMs,
    wake: async (waiter) => {
      await app.queues.send(
        stepDefinition(waiter.step).recheckQueueName,
        stepMessage(waiter.tenantId, waiter.attachmentId, waiter.step, waiter.recheck),
      );
    },
    watch: (message, delayInMs) =>
      app.queues.send(MACHINE_TASK_WATCH_QUEUE, message, { visibilityDelayInMs: delayInMs }),
    unwatch: (receipt) => app.queues.delete(MACHINE_TASK_WATCH_QUEUE, receipt),
  };
}
