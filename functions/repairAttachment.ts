import { forTenantCallers } from '../shared/functionsHost/access';
import { getDeps } from '../shared/functionsHost/deps';
import { registerHttpFunction } from '../shared/functionsHost/functionApp';
import { allStepQueueOutputs } from '../shared/functionsHost/stepFunction';
import { makeRepairAttachmentHandler, verifyDepsFrom } from '../shared/functionsHost/verifyHandlers';

registerHttpFunction('repairAttachment', {
  methods: ['POST'],
  route: 'tenants/{tenantId}/attachments/{id}/repair',
  authLevel: 'function',
  extraOutputs: allStepQueueOutputs(),
  handler: forTenantCallers(
    () => getDeps(),
    makeRepairAttachmentHandler(() => {
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
