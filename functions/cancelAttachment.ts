import { forTenantCallers } from '../shared/functionsHost/access';
import { makeCancelAttachmentHandler } from '../shared/functionsHost/controlHandlers';
import { getDeps } from '../shared/functionsHost/deps';
import { registerHttpFunction } from '../shared/functionsHost/functionApp';

registerHttpFunction('cancelAttachment', {
  methods: ['POST'],
  route: 'tenants/{tenantId}/attachments/{id}/cancel',
  authLevel: 'function',
  handler: forTenantCallers(
    () => getDeps(),
    makeCancelAttachmentHandler(() => {
      const app = getDeps();
      return { store: app.store, nowInMs: app.nowInMs, retryAfterInSeconds: app.config.http.statusRetryAfterInSeconds };
    }),
  ),
});
