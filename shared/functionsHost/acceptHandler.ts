import type { InvocationContext } from '@azure/functions';

import { detachAttachment } from '../api/controlAttachment';
import { acceptAttachRequest, type SubmitDeps } from '../api/submitAttachment';
import { formatIssues } from '../errors';
import { AttachQueueMessageSchema, DetachQueueMessageSchema, toFieldIssues } from '../model/attachRequest';
import { ATTACH_REQUESTS_QUEUE, poisonQueueOf } from '../model/steps';
import { sendStepMessage } from './stepFunction';
import { telemetryOf } from './telemetry';

export interface AcceptAttachRequestDeps extends SubmitDeps {
  sendToPoison: (message: unknown) => Promise<void>;
}

/**
 * Entry point for producers that enqueue attach requests directly: the same request as the HTTP API plus
 * `tenantId` (and `schemaVersion`), parsed with `AttachQueueMessageSchema`; or, with `"action": "detach"`, a detach
 * of one attachment (`DetachQueueMessageSchema`). An invalid or refused message can never succeed, so it goes
 * straight to the poison queue with its reason logged.
 */
export function makeAcceptAttachRequestHandler(deps: () => AcceptAttachRequestDeps) {
  return async (message: unknown, context: InvocationContext): Promise<void> => {
    const d = deps();
    const telemetry = telemetryOf(context);
    const reject = async (reason: string) => {
      telemetry.log('error', `Attach request rejected and moved to ${poisonQueueOf(ATTACH_REQUESTS_QUEUE)}: ${reason}`);
      await d.sendToPoison(message);
    };
    if (typeof message !== 'object' || message === null || Array.isArray(message))
      return reject('(message): must be a JSON object');
    if ('action' in message) {
      const detach = DetachQueueMessageSchema.safeParse(message, { reportInput: true });
      if (!detach.success) return reject(formatIssues(toFieldIssues(detach.error)));
      const { tenantId, attachmentId } = detach.data;
      const outcome = await detachAttachment(d, tenantId, attachmentId);
      if (outcome.kind === 'notFound')
        return reject(`attachmentId: ${attachmentId} is not an attachment of ${tenantId}`);
      if (outcome.kind === 'forbidden') return reject(`TenantNotAuthorized: ${formatIssues(outcome.issues)}`);
      if (outcome.kind === 'conflict') return reject(outcome.reason);
      if (outcome.start) sendStepMessage(context, outcome.start);
      telemetry.log(
        'info',
        `[${tenantId}/${attachmentId}] detach accepted from the queue; now ${outcome.record.runtimeStatus}`,
        { tenantId, attachmentId },
      );
      return;
    }
    const parsed = AttachQueueMessageSchema.safeParse(message, { reportInput: true });
    if (!parsed.success) return reject(formatIssues(toFieldIssues(parsed.error)));
    const { tenantId, schemaVersion: _schemaVersion, ...request } = parsed.data;
    const outcome = await acceptAttachRequest(d, tenantId, request);
    if (outcome.kind === 'invalid') return reject(formatIssues(outcome.issues));
    if (outcome.kind === 'forbidden') return reject(`${outcome.code}: ${formatIssues(outcome.issues)}`);
    if (outcome.kind === 'conflict')
      return reject(`attachmentId: ${outcome.record.attachmentId} already exists with a different request`);
    const where = `[${tenantId}/${outcome.record.attachmentId}]`;
    const subject = { tenantId, attachmentId: outcome.record.attachmentId };
    if (outcome.start) {
      sendStepMessage(context, outcome.start);
      telemetry.log(
        'info',
        `${where} ${outcome.created ? 'accepted from the queue' : 'already known and not started yet; sent again'}`,
        subject,
      );
    } else {
      telemetry.log('info', `${where} already known; not started again`, subject);
    }
  };
}
