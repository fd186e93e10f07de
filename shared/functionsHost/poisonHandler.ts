import type { InvocationContext } from '@azure/functions';

import type { ErrorInfo } from '../errors';
import { StepMessageSchema } from '../model/messages';
import type { StateStore } from '../model/StateStore';
import { failStep } from '../workflow/transitions';

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
      if (record.currentStep !== step) return undefined;
      const error: ErrorInfo = record.steps[step].lastError ?? {
        source: 'App',
        code: 'DeliveriesExhausted',
        message: `Step ${step} failed on every delivery.`,
        retryable: false,
      };
      return failStep(record, step, error, now, { message: 'message moved to the poison queue' });
    });
    context.warn(
      `[${tenantId}/${attachmentId} ${step}] poisoned message; attachment now ${updated?.runtimeStatus ?? 'unknown'}`,
    );
  };
}
