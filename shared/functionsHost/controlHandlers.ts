import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';

import { attachmentSummary, statusUrl } from '../api/attachmentView';
import { cancelAttachment, detachAttachment, type DetachDeps, retryAttachment } from '../api/controlAttachment';
import { badRequest, errorResponse, forbidden, notFound } from '../api/responses';
import { attachmentRoute } from '../api/routeParams';
import type { StateStore } from '../model/StateStore';
import { sendStepMessage } from './stepFunction';

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
    if (outcome.start) sendStepMessage(context, outcome.start);
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

/**
 * `DELETE .../attachments/{id}`: detaches. 202 with `Location` while the detach is under way (or will be, once a
 * running attach reaches its next step boundary); 200 with the document once Detached; 403 when the tenant's
 * registry entry no longer covers the attachment.
 */
export function makeDetachAttachmentHandler(deps: () => DetachDeps & { retryAfterInSeconds: number }) {
  return async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    const route = attachmentRoute(request);
    if (!route.ok) return badRequest(route.issues);
    const d = deps();
    const outcome = await detachAttachment(d, route.tenantId, route.attachmentId);
    if (outcome.kind === 'notFound') return notFound(`Attachment ${route.attachmentId} of tenant ${route.tenantId}`);
    if (outcome.kind === 'forbidden') return forbidden('TenantNotAuthorized', outcome.issues);
    if (outcome.kind === 'conflict') return errorResponse(409, 'AttachmentNotDetachable', outcome.reason);
    if (outcome.start) sendStepMessage(context, outcome.start);
    const summary = { ...attachmentSummary(outcome.record, request.url), detachRequested: true };
    if (outcome.record.runtimeStatus === 'Detached') return { status: 200, jsonBody: summary };
    return {
      status: 202,
      headers: {
        Location: statusUrl(request.url, route.tenantId, route.attachmentId),
        'Retry-After': String(d.retryAfterInSeconds),
      },
      jsonBody: summary,
    };
  };
}
