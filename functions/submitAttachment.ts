import { forTenantCallers } from '../shared/functionsHost/access';
import { getDeps } from '../shared/functionsHost/deps';
import { registerHttpFunction } from '../shared/functionsHost/functionApp';
import { allStepQueueOutputs } from '../shared/functionsHost/stepFunction';
import { submitDeps } from '../shared/functionsHost/submitDeps';
import { makeSubmitAttachmentHandler } from '../shared/functionsHost/submitHandler';

registerHttpFunction('submitAttachment', {
  methods: ['POST'],
  route: 'tenants/{tenantId}/attachments',
  authLevel: 'function',
  extraOutputs: allStepQueueOutputs(),
  handler: forTenantCallers(
    () => getDeps(),
    makeSubmitAttachmentHandler(() => {
      const app = getDeps();
      return {
        ...submitDeps(app),
        retryAfterInSeconds: app.config.http.statusRetryAfterInSeconds,
      };
    }),
  ),
});
