import { forTenantCallers } from '../shared/functionsHost/access';
import { makeRetryAttachmentHandler } from '../shared/functionsHost/controlHandlers';
import { getDeps } from '../shared/functionsHost/deps';
import { registerHttpFunction } from '../shared/functionsHost/functionApp';
import { allStepQueueOutputs } from '../shared/functionsHost/stepFunction';

registerHttpFunction('retryAttachment', {
  methods: ['POST'],
  route: 'tenants/{tenantId}/attachments/{id}/retry',
  authLevel: 'function',
  extraOutputs: allStepQueueOutputs(),
  handler: forTenantCallers(
    () => getDeps(),
    makeRetryAttachmentHandler(() => {
      const app = getDeps();
      return { store: app.store, nowInMs: app.nowInMs, retryAfterInSeconds: app.config.http.statusRetryAfterInSeconds };
    }),
  ),
});
