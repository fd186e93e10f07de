import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';

import { attachmentSummary, statusUrl } from '../shared/api/attachmentView';
import { cancelAttachment } from '../shared/api/controlAttachment';
import { badRequest, errorResponse, notFound } from '../shared/api/responses';
import { attachmentRoute } from '../shared/api/routeParams';
import { getDeps } from '../shared/functionsHost/deps';
import { registerHttpFunction } from '../shared/functionsHost/functionApp';
import type { StateStore } from '../shared/model/StateStore';

/** `POST .../attachments/{id}/cancel`: 202 when the attachment will stop at the next step boundary, 409 once ended. */
export function makeCancelAttachmentHandler(
  deps: () => { store: StateStore; nowInMs: () => number; retryAfterInSeconds: number },
) {
  return async (request: HttpRequest, _context: InvocationContext): Promise<HttpResponseInit> => {
    const route = attachmentRoute(request);
    if (!route.ok) return badRequest(route.issues);
    const { store, nowInMs, retryAfterInSeconds } = deps();
    const outcome = await cancelAttachment(store, route.tenantId, route.attachmentId, nowInMs());
    if (outcome.kind === 'notFound') return notFound(`Attachment ${route.attachmentId} of tenant ${route.tenantId}`);
    if (outcome.kind === 'conflict') return errorResponse(409, 'AttachmentNotCancelable', outcome.reason);
    return {
      status: 202,
      headers: {
        Location: statusUrl(request.url, route.tenantId, route.attachmentId),
        'Retry-After': String(retryAfterInSeconds),
      },
      jsonBody: { ...attachmentSummary(outcome.record, request.url), cancelRequested: true },
    };
  };
}

registerHttpFunction('cancelAttachment', {
  methods: ['POST'],
  route: 'tenants/{tenantId}/attachments/{id}/cancel',
  authLevel: 'function',
  handler: makeCancelAttachmentHandler(() => {
    const app = getDeps();
    return { store: app.store, nowInMs: app.nowInMs, retryAfterInSeconds: app.config.http.statusRetryAfterInSeconds };
  }),
});
