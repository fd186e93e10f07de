import { StepError } from '../errors';
import { stepMessage, withTraceContext } from '../model/messages';
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
        withTraceContext(stepMessage(waiter.tenantId, waiter.attachmentId, waiter.step, waiter.recheck), waiter.trace),
      );
    },
    watch: (message, delayInMs) =>
      app.queues.send(MACHINE_TASK_WATCH_QUEUE, message, { visibilityDelayInMs: delayInMs }),
    unwatch: (receipt) => app.queues.delete(MACHINE_TASK_WATCH_QUEUE, receipt),
    guestCredential: (secretName) => guestCredential(app, secretName),
  };
}

/** A guest credential from Key Vault; without a configured vault, a permanent `KeyVaultNotConfigured`. */
export function guestCredential(app: AppDeps, secretName: string): Promise<{ userName: string; password: string }> {
  if (!app.keyVault) {
    return Promise.reject(
      new StepError('No Key Vault is configured (KEY_VAULT_URL), so no guest credential can be read.', {
        code: 'KeyVaultNotConfigured',
        retryable: false,
      }),
    );
  }
  return app.keyVault.getGuestCredential(secretName);
}
