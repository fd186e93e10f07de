import type { HttpRequest, HttpResponseInit } from '@azure/functions';

import { attachmentSummary } from '../shared/api/attachmentView';
import { badRequest } from '../shared/api/responses';
import type { FieldIssue } from '../shared/errors';
import { getDeps } from '../shared/functionsHost/deps';
import { registerHttpFunction } from '../shared/functionsHost/functionApp';
import { TenantIdSchema, toFieldIssues } from '../shared/model/attachRequest';
import { RUNTIME_STATUSES, type RuntimeStatus } from '../shared/model/records';
import type { StateStore } from '../shared/model/StateStore';

export function makeListAttachmentsHandler(deps: () => { store: StateStore; pageSizeMax: number }) {
  return async (request: HttpRequest): Promise<HttpResponseInit> => {
    const { store, pageSizeMax } = deps();
    const issues: FieldIssue[] = [];
    const tenant = TenantIdSchema.safeParse(request.params.tenantId);
    if (!tenant.success) issues.push(...toFieldIssues(tenant.error, 'tenantId'));

    const statuses = (request.query.get('runtimeStatus') ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const unknown = statuses.filter((s) => !RUNTIME_STATUSES.includes(s as RuntimeStatus));
    if (unknown.length > 0)
      issues.push({
        field: 'runtimeStatus',
        reason: `unknown value(s) ${unknown.join(', ')}; use ${RUNTIME_STATUSES.join(', ')}`,
      });

    const topText = request.query.get('top');
    const top = topText === null ? Math.min(50, pageSizeMax) : Number(topText);
    if (!Number.isInteger(top) || top < 1 || top > pageSizeMax)
      issues.push({ field: 'top', reason: `must be a whole number from 1 to ${pageSizeMax}` });
    const continuationToken = request.query.get('continuationToken') ?? undefined;
    if (continuationToken !== undefined && !/^[A-Za-z0-9+/=_-]{1,2048}$/.test(continuationToken)) {
      issues.push({ field: 'continuationToken', reason: 'is not a token this API returned' });
    }
    if (issues.length > 0 || !tenant.success) return badRequest(issues);

    const page = await store.listAttachments(tenant.data, {
      runtimeStatus: statuses as RuntimeStatus[],
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

registerHttpFunction('listAttachments', {
  methods: ['GET'],
  route: 'tenants/{tenantId}/attachments',
  authLevel: 'function',
  handler: makeListAttachmentsHandler(() => {
    const app = getDeps();
    return { store: app.store, pageSizeMax: app.config.http.listPageSizeMax };
  }),
});
