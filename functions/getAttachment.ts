import { forTenantCallers } from '../shared/functionsHost/access';
import { getDeps } from '../shared/functionsHost/deps';
import { registerHttpFunction } from '../shared/functionsHost/functionApp';
import { makeGetAttachmentHandler } from '../shared/functionsHost/getHandler';

registerHttpFunction('getAttachment', {
  methods: ['GET'],
  route: 'tenants/{tenantId}/attachments/{id}',
  authLevel: 'function',
  handler: forTenantCallers(
    () => getDeps(),
    makeGetAttachmentHandler(() => {
      const app = getDeps();
      return { store: app.store, retryAfterInSeconds: app.config.http.statusRetryAfterInSeconds };
    }),
  ),
});
