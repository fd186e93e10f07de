import type { HttpRequest, HttpResponseInit } from '@azure/functions';

import { attachmentSummary } from '../api/attachmentView';
import { listQuerySchema } from '../api/listQuery';
import { badRequest } from '../api/responses';
import { TenantIdSchema, toFieldIssues } from '../model/attachRequest';
import type { StateStore } from '../model/StateStore';

/** `GET .../attachments`: one page of the tenant's attachments, filtered by runtimeStatus. */
export function makeListAttachmentsHandler(deps: () => { store: StateStore; pageSizeMax: number }) {
  return async (request: HttpRequest): Promise<HttpResponseInit> => {
    const { store, pageSizeMax } = deps();
    const tenant = TenantIdSchema.safeParse(request.params.tenantId);
    const query = listQuerySchema(pageSizeMax).safeParse({
      runtimeStatus: request.query.get('runtimeStatus') ?? undefined,
      top: request.query.get('top') ?? undefined,
      continuationToken: request.query.get('continuationToken') ?? undefined,
    });
    const issues = [
      ...(tenant.success ? [] : toFieldIssues(tenant.error, 'tenantId')),
      ...(query.success ? [] : toFieldIssues(query.error)),
    ];
    if (!tenant.success || !query.success) return badRequest(issues);
    const { runtimeStatus, top, continuationToken } = query.data;

    const page = await store.listAttachments(tenant.data, {
      runtimeStatus,
      pageSize: top,
      continuationToken,
    });
    let nextLink: string | null = null;
    if (page.continuationToken) {
      const next = new URL(request.url);
      next.searchParams.set('continuationToken', page.continuationToken);
      nextLink = next.toString();
    }
    return { status: 200, jsonBody: { value: page.items.map((r) => attachmentSummary(r, request.url)), nextLink } };
  };
}
