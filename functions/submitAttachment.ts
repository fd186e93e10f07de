import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';

import { attachmentSummary, statusUrl } from '../shared/api/attachmentView';
import { readJsonBody } from '../shared/api/readJsonBody';
import { badRequest, errorResponse } from '../shared/api/responses';
import { submitAttachment, type SubmitDeps } from '../shared/api/submitAttachment';
import { getDeps } from '../shared/functionsHost/deps';
import { registerHttpFunction } from '../shared/functionsHost/functionApp';
import { stepQueueOutput } from '../shared/functionsHost/stepFunction';
import { submitDeps } from '../shared/functionsHost/submitDeps';
import { TenantIdSchema, toFieldIssues } from '../shared/model/attachRequest';
import { STEPS } from '../shared/model/steps';

// A resubmission re-sends whichever step a Pending attachment waits at (after a retry, not always the first).
const stepQueues = STEPS.map((step) => stepQueueOutput(step.name));

export function makeSubmitAttachmentHandler(deps: () => SubmitDeps & { retryAfterInSeconds: number }) {
  return async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    const tenant = TenantIdSchema.safeParse(request.params.tenantId);
    if (!tenant.success) return badRequest(toFieldIssues(tenant.error, 'tenantId'));
    const body = await readJsonBody(request);
    if (!body.ok) return badRequest(body.issues, body.code);

    const d = deps();
    const outcome = await submitAttachment(d, tenant.data, body.value);
    if (outcome.kind === 'invalid') return badRequest(outcome.issues);
    const location = statusUrl(request.url, tenant.data, outcome.record.attachmentId);
    if (outcome.kind === 'conflict') {
      return errorResponse(
        409,
        'AttachmentIdInUse',
        `Attachment ${outcome.record.attachmentId} already exists with a different request; use another attachmentId.`,
        undefined,
        { Location: location },
      );
    }
    if (outcome.start) {
      context.extraOutputs.set(stepQueueOutput(outcome.start.step), outcome.start);
      context.info(`[${tenant.data}/${outcome.record.attachmentId}] ${outcome.created ? 'accepted' : 'sent again'}`);
    }
    return {
      status: 202,
      headers: { Location: location, 'Retry-After': String(d.retryAfterInSeconds) },
      jsonBody: { ...attachmentSummary(outcome.record, request.url), created: outcome.created },
    };
  };
}

registerHttpFunction('submitAttachment', {
  methods: ['POST'],
  route: 'tenants/{tenantId}/attachments',
  authLevel: 'function',
  extraOutputs: stepQueues,
  handler: makeSubmitAttachmentHandler(() => {
    const app = getDeps();
    return {
      ...submitDeps(app),
      retryAfterInSeconds: app.config.http.statusRetryAfterInSeconds,
    };
  }),
});
