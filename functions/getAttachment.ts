import type { HttpRequest, HttpResponseInit } from '@azure/functions';

import { attachmentView } from '../shared/api/attachmentView';
import { badRequest, notFound } from '../shared/api/responses';
import { getDeps } from '../shared/deps';
import { registerHttpFunction } from '../shared/hosting/functionApp';
import type { StateStore } from '../shared/state/StateStore';
import { AttachmentIdSchema, TenantIdSchema, toFieldIssues } from '../shared/workflow/attachRequest';
import { isTerminal } from '../shared/workflow/records';

export function makeGetAttachmentHandler(deps: () => { store: StateStore; retryAfterInSeconds: number }) {
  return async (request: HttpRequest): Promise<HttpResponseInit> => {
    const tenant = TenantIdSchema.safeParse(request.params.tenantId);
    const attachment = AttachmentIdSchema.safeParse(request.params.id);
    const issues = [
      ...(tenant.success ? [] : toFieldIssues(tenant.error, 'tenantId')),
      ...(attachment.success ? [] : toFieldIssues(attachment.error, 'id')),
    ];
    if (!tenant.success || !attachment.success) return badRequest(issues);

    const { store, retryAfterInSeconds } = deps();
    // Keyed by the route's tenant: another tenant's attachment id is simply not found here.
    const record = await store.getAttachment(tenant.data, attachment.data);
    if (!record) return notFound(`Attachment ${attachment.data} of tenant ${tenant.data}`);
    const showHistory = request.query.get('showHistory')?.toLowerCase() === 'true';
    const history = showHistory ? await store.listHistory(tenant.data, attachment.data) : undefined;
    const ended = isTerminal(record.runtimeStatus);
    return {
      status: ended ? 200 : 202,
      headers: ended ? {} : { 'Retry-After': String(retryAfterInSeconds) },
      jsonBody: attachmentView(record, request.url, history),
    };
  };
}

registerHttpFunction('getAttachment', {
  methods: ['GET'],
  route: 'tenants/{tenantId}/attachments/{id}',
  authLevel: 'function',
  handler: makeGetAttachmentHandler(() => {
    const app = getDeps();
    return { store: app.store, retryAfterInSeconds: app.config.http.statusRetryAfterInSeconds };
  }),
});
