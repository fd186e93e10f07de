import type { InvocationContext } from '@azure/functions';

import type { ErrorInfo } from '../errors';
import { parseStepMessage } from '../model/messages';
import type { StateStore } from '../model/StateStore';
import { failStep, followUp } from '../workflow/transitions';
import { sendStepMessage } from './stepFunction';
import { telemetryOf } from './telemetry';

/**
 * The host moves a message to `<queue>-poison` after its last failed delivery, and tells nobody. The step handler
 * marks attachments Failed on the last delivery itself; this catches what it could not (a crash, storage down),
 * so no attachment stays Running forever.
 */
export function makeFailPoisonedStepHandler(deps: () => { store: StateStore; nowInMs: () => number }) {
  return async (message: unknown, context: InvocationContext): Promise<void> => {
    const telemetry = telemetryOf(context);
    // A bad trace context alone does not make it unreadable: the attachment must still be marked Failed.
    const parsed = parseStepMessage(message);
    if (!parsed.success) {
      telemetry.log(
        'error',
        `Poisoned message is not a step message; dropped, its text was: ${JSON.stringify(message)}`,
      );
      return;
    }
    const { tenantId, attachmentId, step } = parsed.data;
    const subject = { tenantId, attachmentId, step };
    if (parsed.traceProblem) telemetry.log('warn', `trace context ignored: ${parsed.traceProblem}`, subject);
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
    telemetry.log(
      'warn',
      `[${tenantId}/${attachmentId} ${step}] poisoned message; attachment now ${updated?.runtimeStatus ?? 'unknown'}`,
      subject,
    );
    // An attachment asked to detach goes on to detach when its attach fails this way too.
    const next = updated && followUp(updated);
    if (next) sendStepMessage(context, next);
  };
}
