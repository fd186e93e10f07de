import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';

import { attachmentSummary, statusUrl } from '../api/attachmentView';
import { readJsonBody } from '../api/readJsonBody';
import { badRequest, errorResponse, forbidden } from '../api/responses';
import { submitAttachment, type SubmitDeps } from '../api/submitAttachment';
import { TenantIdSchema, toFieldIssues } from '../model/attachRequest';
import { sendStepMessage } from './stepFunction';
import { telemetryOf } from './telemetry';

/** `POST .../attachments`: 202 with the attachment's status URL; the first step's message goes to its queue. */
export function makeSubmitAttachmentHandler(deps: () => SubmitDeps & { retryAfterInSeconds: number }) {
  return async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    const tenant = TenantIdSchema.safeParse(request.params.tenantId);
    if (!tenant.success) return badRequest(toFieldIssues(tenant.error, 'tenantId'));
    const body = await readJsonBody(request);
    if (!body.ok) return badRequest(body.issues, body.code);

    const d = deps();
    const outcome = await submitAttachment(d, tenant.data, body.value);
    if (outcome.kind === 'invalid') return badRequest(outcome.issues);
    if (outcome.kind === 'forbidden') return forbidden(outcome.code, outcome.issues);
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
      sendStepMessage(context, outcome.start);
      telemetryOf(context).log(
        'info',
        `[${tenant.data}/${outcome.record.attachmentId}] ${outcome.created ? 'accepted' : 'sent again'}`,
        { tenantId: tenant.data, attachmentId: outcome.record.attachmentId },
      );
    }
    return {
      status: 202,
      headers: { Location: location, 'Retry-After': String(d.retryAfterInSeconds) },
      jsonBody: { ...attachmentSummary(outcome.record, request.url), created: outcome.created },
    };
  };
}
