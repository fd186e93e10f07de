import { forTenantCallers } from '../shared/functionsHost/access';
import { getDeps } from '../shared/functionsHost/deps';
import { registerHttpFunction } from '../shared/functionsHost/functionApp';
import { makeVerifyAttachmentHandler, verifyDepsFrom } from '../shared/functionsHost/verifyHandlers';

registerHttpFunction('verifyAttachment', {
  methods: ['GET'],
  route: 'tenants/{tenantId}/attachments/{id}/verification',
  authLevel: 'function',
  handler: forTenantCallers(
    () => getDeps(),
    makeVerifyAttachmentHandler(() => {
      const app = getDeps();
      return {
        store: app.store,
        tenants: app.tenants,
        arcDefaults: app.config.arm.defaults,
        nowInMs: app.nowInMs,
        verify: verifyDepsFrom(app),
        retryAfterInSeconds: app.config.http.statusRetryAfterInSeconds,
      };
    }),
  ),
});
