import { forTenantCallers } from '../shared/functionsHost/access';
import { makeDetachAttachmentHandler } from '../shared/functionsHost/controlHandlers';
import { getDeps } from '../shared/functionsHost/deps';
import { registerHttpFunction } from '../shared/functionsHost/functionApp';
import { allStepQueueOutputs } from '../shared/functionsHost/stepFunction';

registerHttpFunction('detachAttachment', {
  methods: ['DELETE'],
  route: 'tenants/{tenantId}/attachments/{id}',
  authLevel: 'function',
  extraOutputs: allStepQueueOutputs(),
  handler: forTenantCallers(
    () => getDeps(),
    makeDetachAttachmentHandler(() => {
      const app = getDeps();
      return {
        store: app.store,
        tenants: app.tenants,
        arcDefaults: app.config.arm.defaults,
        nowInMs: app.nowInMs,
        retryAfterInSeconds: app.config.http.statusRetryAfterInSeconds,
      };
    }),
  ),
});
