import type { HttpRequest, HttpResponseInit } from '@azure/functions';

import { attachmentView } from '../api/attachmentView';
import { badRequest, notFound } from '../api/responses';
import { attachmentRoute } from '../api/routeParams';
import { isTerminal } from '../model/records';
import type { StateStore } from '../model/StateStore';

/** `GET .../attachments/{id}`: the status document; 202 with Retry-After until the attachment has ended. */
export function makeGetAttachmentHandler(deps: () => { store: StateStore; retryAfterInSeconds: number }) {
  return async (request: HttpRequest): Promise<HttpResponseInit> => {
    const route = attachmentRoute(request);
    if (!route.ok) return badRequest(route.issues);
    const { tenantId, attachmentId } = route;

    const { store, retryAfterInSeconds } = deps();
    // Keyed by the route's tenant: another tenant's attachment id is simply not found here.
    const record = await store.getAttachment(tenantId, attachmentId);
    if (!record) return notFound(`Attachment ${attachmentId} of tenant ${tenantId}`);
    const showHistory = request.query.get('showHistory')?.toLowerCase() === 'true';
    const history = showHistory ? await store.listHistory(tenantId, attachmentId) : undefined;
    const ended = isTerminal(record.runtimeStatus);
    return {
      status: ended ? 200 : 202,
      headers: ended ? {} : { 'Retry-After': String(retryAfterInSeconds) },
      jsonBody: attachmentView(record, request.url, history),
    };
  };
}
