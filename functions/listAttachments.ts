import { forTenantCallers } from '../shared/functionsHost/access';
import { getDeps } from '../shared/functionsHost/deps';
import { registerHttpFunction } from '../shared/functionsHost/functionApp';
import { makeListAttachmentsHandler } from '../shared/functionsHost/listHandler';

registerHttpFunction('listAttachments', {
  methods: ['GET'],
  route: 'tenants/{tenantId}/attachments',
  authLevel: 'function',
  handler: forTenantCallers(
    () => getDeps(),
    makeListAttachmentsHandler(() => {
      const app = getDeps();
      return { store: app.store, pageSizeMax: app.config.http.listPageSizeMax };
    }),
  ),
});
