import type { InvocationContext } from '@azure/functions';

import { acceptAttachRequest, type SubmitDeps } from '../api/submitAttachment';
import { formatIssues } from '../errors';
import { AttachQueueMessageSchema, toFieldIssues } from '../model/attachRequest';
import { ATTACH_REQUESTS_QUEUE, poisonQueueOf } from '../model/steps';
import { stepQueueOutput } from './stepFunction';

export interface AcceptAttachRequestDeps extends SubmitDeps {
  sendToPoison: (message: unknown) => Promise<void>;
}

/**
 * Entry point for producers that enqueue attach requests directly: the same request as the HTTP API plus
 * `tenantId` (and `schemaVersion`), parsed with `AttachQueueMessageSchema`. An invalid message can never succeed,
 * so it goes straight to the poison queue with its reason logged.
 */
export function makeAcceptAttachRequestHandler(deps: () => AcceptAttachRequestDeps) {
  return async (message: unknown, context: InvocationContext): Promise<void> => {
    const d = deps();
    const reject = async (reason: string) => {
      context.error(`Attach request rejected and moved to ${poisonQueueOf(ATTACH_REQUESTS_QUEUE)}: ${reason}`);
      await d.sendToPoison(message);
    };
    if (typeof message !== 'object' || message === null || Array.isArray(message))
      return reject('(message): must be a JSON object');
    const parsed = AttachQueueMessageSchema.safeParse(message, { reportInput: true });
    if (!parsed.success) return reject(formatIssues(toFieldIssues(parsed.error)));
    const { tenantId, schemaVersion: _schemaVersion, ...request } = parsed.data;
    const outcome = await acceptAttachRequest(d, tenantId, request);
    if (outcome.kind === 'invalid') return reject(formatIssues(outcome.issues));
    if (outcome.kind === 'forbidden') return reject(`${outcome.code}: ${formatIssues(outcome.issues)}`);
    if (outcome.kind === 'conflict')
      return reject(`attachmentId: ${outcome.record.attachmentId} already exists with a different request`);
    const where = `[${tenantId}/${outcome.record.attachmentId}]`;
    if (outcome.start) {
      context.extraOutputs.set(stepQueueOutput(outcome.start.step), outcome.start);
      context.info(
        `${where} ${outcome.created ? 'accepted from the queue' : 'already known and not started yet; sent again'}`,
      );
    } else {
      context.info(`${where} already known; not started again`);
    }
  };
}
