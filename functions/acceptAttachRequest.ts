import type { InvocationContext } from '@azure/functions';

import { submitAttachment, type SubmitDeps } from '../shared/api/submitAttachment';
import { STORAGE_CONNECTION_SETTING } from '../shared/config';
import { getDeps } from '../shared/functionsHost/deps';
import { registerStorageQueueFunction } from '../shared/functionsHost/functionApp';
import { stepQueueOutput } from '../shared/functionsHost/stepFunction';
import { submitDeps } from '../shared/functionsHost/submitDeps';
import { TenantIdSchema, toFieldIssues } from '../shared/model/attachRequest';
import { ATTACH_REQUESTS_QUEUE, poisonQueueOf, STEPS } from '../shared/model/steps';

// A resubmission re-sends whichever step a Pending attachment waits at (after a retry, not always the first).
const stepQueues = STEPS.map((step) => stepQueueOutput(step.name));

export interface AcceptAttachRequestDeps extends SubmitDeps {
  sendToPoison: (message: unknown) => Promise<void>;
}

/**
 * Entry point for producers that enqueue attach requests directly: the same request as the HTTP API plus
 * `tenantId`. An invalid message can never succeed, so it goes straight to the poison queue with its reason logged.
 */
export function makeAcceptAttachRequestHandler(deps: () => AcceptAttachRequestDeps) {
  return async (message: unknown, context: InvocationContext): Promise<void> => {
    const d = deps();
    const candidate =
      typeof message === 'object' && message !== null && !Array.isArray(message)
        ? { ...(message as Record<string, unknown>) }
        : undefined;
    const tenant = TenantIdSchema.safeParse(candidate?.tenantId);
    let reason: string | undefined;
    if (!candidate) reason = '(message): must be a JSON object';
    else if (!tenant.success)
      reason = toFieldIssues(tenant.error, 'tenantId')
        .map((i) => `${i.field}: ${i.reason}`)
        .join('; ');
    else if (candidate.schemaVersion !== undefined && candidate.schemaVersion !== 1)
      reason = 'schemaVersion: must be 1';
    if (candidate) {
      delete candidate.tenantId;
      delete candidate.schemaVersion;
    }
    const outcome =
      reason === undefined && tenant.success ? await submitAttachment(d, tenant.data, candidate) : undefined;
    if (outcome?.kind === 'invalid') reason = outcome.issues.map((i) => `${i.field}: ${i.reason}`).join('; ');
    if (outcome?.kind === 'conflict')
      reason = `attachmentId: ${outcome.record.attachmentId} already exists with a different request`;
    if (reason !== undefined || !outcome || outcome.kind !== 'accepted' || !tenant.success) {
      context.error(
        `Attach request rejected and moved to ${poisonQueueOf(ATTACH_REQUESTS_QUEUE)}: ${reason ?? 'invalid'}`,
      );
      await d.sendToPoison(message);
      return;
    }
    if (outcome.start) {
      context.extraOutputs.set(stepQueueOutput(outcome.start.step), outcome.start);
      context.info(
        `[${tenant.data}/${outcome.record.attachmentId}] ${outcome.created ? 'accepted from the queue' : 'already known and not started yet; sent again'}`,
      );
    } else {
      context.info(`[${tenant.data}/${outcome.record.attachmentId}] already known; not started again`);
    }
  };
}

registerStorageQueueFunction('acceptAttachRequest', {
  queueName: ATTACH_REQUESTS_QUEUE,
  connection: STORAGE_CONNECTION_SETTING,
  extraOutputs: stepQueues,
  handler: makeAcceptAttachRequestHandler(() => {
    const app = getDeps();
    return {
      ...submitDeps(app),
      sendToPoison: async (message) => {
        await app.queues.send(poisonQueueOf(ATTACH_REQUESTS_QUEUE), message);
      },
    };
  }),
});
