import type { StepName } from '../model/steps';
import type { StepExecutorDeps } from '../workflow/executeStep';
import type { StepImplementation, StepProbe } from '../workflow/stepTypes';
import type { AppDeps } from './deps';

const BUSY_RECHECK_SLACK_IN_MS = 10_000;

/** Builds the step executor's deps from the app's, with the step implementations the caller supplies. */
export function executorDeps(
  app: AppDeps,
  steps: Partial<Record<StepName, StepImplementation>>,
  probes: Partial<Record<StepName, StepProbe>> = {},
): StepExecutorDeps {
  return {
    store: app.store,
    sendDelayed: async (queueName, message, delayInMs) => {
      await app.queues.send(queueName, message, { visibilityDelayInMs: delayInMs });
    },
    steps,
    probes,
    maxDequeueCount: app.config.maxDequeueCount,
    inlineWaitInMs: app.config.step.inlineWaitInMs,
    leaseInMs: app.config.step.leaseInMs,
    // A live holder lets go within its inline wait plus a remote call or two.
    busyRecheckInMs: app.config.step.inlineWaitInMs + BUSY_RECHECK_SLACK_IN_MS,
    nowInMs: app.nowInMs,
    sleep: app.sleep,
  };
}
