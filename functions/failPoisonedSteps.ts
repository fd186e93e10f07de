import type { InvocationContext } from '@azure/functions';

import { STORAGE_CONNECTION_SETTING } from '../shared/config';
import type { ErrorInfo } from '../shared/errors';
import { getDeps } from '../shared/functionsHost/deps';
import { registerStorageQueueFunction } from '../shared/functionsHost/functionApp';
import { StepMessageSchema } from '../shared/model/messages';
import { isTerminal } from '../shared/model/records';
import type { StateStore } from '../shared/model/StateStore';
import { poisonQueueOf, STEPS } from '../shared/model/steps';

/**
 * The host moves a message to `<queue>-poison` after its last failed delivery, and tells nobody. The step handler
 * marks attachments Failed on the last delivery itself; this catches what it could not (a crash, storage down),
 * so no attachment stays Running forever.
 */
export function makeFailPoisonedStepHandler(deps: () => { store: StateStore; nowInMs: () => number }) {
  return async (message: unknown, context: InvocationContext): Promise<void> => {
    const parsed = StepMessageSchema.safeParse(message);
    if (!parsed.success) {
      context.error(`Poisoned message is not a step message; dropped, its text was: ${JSON.stringify(message)}`);
      return;
    }
    const { tenantId, attachmentId, step } = parsed.data;
    const { store, nowInMs } = deps();
    const now = new Date(nowInMs()).toISOString();
    const updated = await store.updateAttachment(tenantId, attachmentId, (record) => {
      if (isTerminal(record.runtimeStatus) || record.currentStep !== step) return undefined;
      const state = record.steps[step];
      const info: ErrorInfo = state.lastError
        ? { ...state.lastError, retryable: false }
        : {
            source: 'App',
            code: 'DeliveriesExhausted',
            message: `Step ${step} failed on every delivery.`,
            retryable: false,
          };
      const stepState = { ...state, status: 'Failed' as const, endedTime: now, lastError: info };
      delete stepState.leaseOwner;
      delete stepState.leaseExpiresAtInMs;
      return {
        record: {
          ...record,
          runtimeStatus: 'Failed',
          lastError: info,
          lastUpdatedTime: now,
          steps: { ...record.steps, [step]: stepState },
        },
        events: [
          { type: 'StepFailed', step, error: info, message: 'message moved to the poison queue' },
          { type: 'Failed', error: info },
        ],
      };
    });
    context.warn(
      `[${tenantId}/${attachmentId} ${step}] poisoned message; attachment now ${updated?.runtimeStatus ?? 'unknown'}`,
    );
  };
}

for (const step of STEPS) {
  registerStorageQueueFunction(`${step.name}Poison`, {
    queueName: poisonQueueOf(step.queueName),
    connection: STORAGE_CONNECTION_SETTING,
    handler: makeFailPoisonedStepHandler(() => getDeps()),
  });
  registerStorageQueueFunction(`${step.name}RechecksPoison`, {
    queueName: poisonQueueOf(step.recheckQueueName),
    connection: STORAGE_CONNECTION_SETTING,
    handler: makeFailPoisonedStepHandler(() => getDeps()),
  });
}
