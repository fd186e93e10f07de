import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';

import { attachmentSummary, statusUrl } from '../shared/api/attachmentView';
import { retryAttachment } from '../shared/api/controlAttachment';
import { badRequest, errorResponse, notFound } from '../shared/api/responses';
import { attachmentRoute } from '../shared/api/routeParams';
import { getDeps } from '../shared/functionsHost/deps';
import { registerHttpFunction } from '../shared/functionsHost/functionApp';
import { stepQueueOutput } from '../shared/functionsHost/stepFunction';
import type { StateStore } from '../shared/model/StateStore';
import { STEPS } from '../shared/model/steps';

const stepQueues = STEPS.map((step) => stepQueueOutput(step.name));

/** `POST .../attachments/{id}/retry`: restarts a Failed attachment from its failed step; 409 in any other state. */
export function makeRetryAttachmentHandler(
  deps: () => { store: StateStore; nowInMs: () => number; retryAfterInSeconds: number },
) {
  return async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    const route = attachmentRoute(request);
    if (!route.ok) return badRequest(route.issues);
    const { store, nowInMs, retryAfterInSeconds } = deps();
    const outcome = await retryAttachment(store, route.tenantId, route.attachmentId, nowInMs());
    if (outcome.kind === 'notFound') return notFound(`Attachment ${route.attachmentId} of tenant ${route.tenantId}`);
    if (outcome.kind === 'conflict') return errorResponse(409, 'AttachmentNotRetryable', outcome.reason);
    if (outcome.start) context.extraOutputs.set(stepQueueOutput(outcome.start.step), outcome.start);
    return {
      status: 202,
      headers: {
        Location: statusUrl(request.url, route.tenantId, route.attachmentId),
        'Retry-After': String(retryAfterInSeconds),
      },
      jsonBody: attachmentSummary(outcome.record, request.url),
    };
  };
}

registerHttpFunction('retryAttachment', {
  methods: ['POST'],
  route: 'tenants/{tenantId}/attachments/{id}/retry',
  authLevel: 'function',
  extraOutputs: stepQueues,
  handler: makeRetryAttachmentHandler(() => {
    const app = getDeps();
    return { store: app.store, nowInMs: app.nowInMs, retryAfterInSeconds: app.config.http.statusRetryAfterInSeconds };
  }),
});
