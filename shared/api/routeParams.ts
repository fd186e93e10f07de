import type { HttpRequest } from '@azure/functions';

import type { FieldIssue } from '../errors';
import { AttachmentIdSchema, TenantIdSchema, toFieldIssues } from '../model/attachRequest';

export type AttachmentRoute =
  { ok: true; tenantId: string; attachmentId: string } | { ok: false; issues: FieldIssue[] };

/** The `{tenantId}` and `{id}` of an attachment route, checked against the same patterns as the request. */
export function attachmentRoute(request: HttpRequest): AttachmentRoute {
  const tenant = TenantIdSchema.safeParse(request.params.tenantId);
  const attachment = AttachmentIdSchema.safeParse(request.params.id);
  if (tenant.success && attachment.success) return { ok: true, tenantId: tenant.data, attachmentId: attachment.data };
  return {
    ok: false,
    issues: [
      ...(tenant.success ? [] : toFieldIssues(tenant.error, 'tenantId')),
      ...(attachment.success ? [] : toFieldIssues(attachment.error, 'id')),
    ],
  };
}
