import type { HttpRequest, HttpResponseInit } from '@azure/functions';

import { readJsonBody } from '../api/readJsonBody';
import { badRequest, errorResponse, notFound } from '../api/responses';
import { deleteTenant, putTenant, tenantView } from '../api/tenants';
import { TenantIdSchema, toFieldIssues } from '../model/attachRequest';
import type { StateStore } from '../model/StateStore';
import type { TenantStore } from '../model/TenantStore';
import { type AccessPolicy, operatorOnly } from './access';

export interface AdminDeps {
  tenants: TenantStore;
  store: StateStore;
  access: AccessPolicy;
  pageSizeMax: number;
}

/** The registry is the operator's alone (see `operatorOnly`). */
function registryOperatorOnly(deps: AdminDeps, request: HttpRequest): HttpResponseInit | undefined {
  return operatorOnly(deps.access, request, 'The tenant registry');
}

function tenantRoute(request: HttpRequest): { ok: true; tenantId: string } | { ok: false; response: HttpResponseInit } {
  const tenant = TenantIdSchema.safeParse(request.params.tenantId);
  return tenant.success
    ? { ok: true, tenantId: tenant.data }
    : { ok: false, response: badRequest(toFieldIssues(tenant.error, 'tenantId')) };
}

function conditionsOf(request: HttpRequest): { ifMatch?: string; ifNoneMatch?: '*' } {
  const ifMatch = request.headers.get('if-match') ?? undefined;
  const ifNoneMatch = request.headers.get('if-none-match') === '*' ? '*' : undefined;
  return { ...(ifMatch ? { ifMatch } : {}), ...(ifNoneMatch ? { ifNoneMatch } : {}) };
}

/** `PUT /api/admin/tenants/{tenantId}`: 201 created, 200 replaced; `If-Match` and `If-None-Match: *` honoured. */
export function makePutTenantHandler(deps: () => AdminDeps) {
  return async (request: HttpRequest): Promise<HttpResponseInit> => {
    const d = deps();
    const refused = registryOperatorOnly(d, request);
    if (refused) return refused;
    const route = tenantRoute(request);
    if (!route.ok) return route.response;
    const body = await readJsonBody(request);
    if (!body.ok) return badRequest(body.issues, body.code);
    const outcome = await putTenant(
      d.tenants,
      route.tenantId,
      body.value,
      d.access.callerId(request),
      conditionsOf(request),
    );
    if (outcome.kind === 'invalid') return badRequest(outcome.issues);
    if (outcome.kind === 'preconditionFailed')
      return errorResponse(
        412,
        'PreconditionFailed',
        `Tenant ${route.tenantId} has changed (or exists) since the ETag given.`,
      );
    return {
      status: outcome.kind === 'created' ? 201 : 200,
      headers: outcome.record.etag ? { ETag: outcome.record.etag } : {},
      jsonBody: tenantView(outcome.record),
    };
  };
}

/** `GET /api/admin/tenants/{tenantId}`: the entry with its ETag; `?showHistory=true` adds every change. */
export function makeGetTenantHandler(deps: () => AdminDeps) {
  return async (request: HttpRequest): Promise<HttpResponseInit> => {
    const d = deps();
    const refused = registryOperatorOnly(d, request);
    if (refused) return refused;
    const route = tenantRoute(request);
    if (!route.ok) return route.response;
    const record = await d.tenants.getTenant(route.tenantId);
    if (!record) return notFound(`Tenant ${route.tenantId}`);
    const showHistory = request.query.get('showHistory')?.toLowerCase() === 'true';
    const changes = showHistory ? await d.tenants.listChanges(route.tenantId) : undefined;
    return {
      status: 200,
      headers: record.etag ? { ETag: record.etag } : {},
      jsonBody: tenantView(record, changes),
    };
  };
}

/** `GET /api/admin/tenants`: one page of the registry. */
export function makeListTenantsHandler(deps: () => AdminDeps) {
  return async (request: HttpRequest): Promise<HttpResponseInit> => {
    const d = deps();
    const refused = registryOperatorOnly(d, request);
    if (refused) return refused;
    const topText = request.query.get('top');
    const top = topText === null ? Math.min(50, d.pageSizeMax) : Number(topText);
    if (!Number.isInteger(top) || top < 1 || top > d.pageSizeMax)
      return badRequest([{ field: 'top', reason: `must be a whole number from 1 to ${d.pageSizeMax}` }]);
    const continuationToken = request.query.get('continuationToken') ?? undefined;
    if (continuationToken !== undefined && !/^[A-Za-z0-9+/=_-]{1,2048}$/.test(continuationToken))
      return badRequest([{ field: 'continuationToken', reason: 'is not a token this API returned' }]);
    const page = await d.tenants.listTenants({ pageSize: top, continuationToken });
    let nextLink: string | null = null;
    if (page.continuationToken) {
      const next = new URL(request.url);
      next.searchParams.set('continuationToken', page.continuationToken);
      nextLink = next.toString();
    }
    return { status: 200, jsonBody: { value: page.items.map((record) => tenantView(record)), nextLink } };
  };
}

/** `DELETE /api/admin/tenants/{tenantId}`: 204; 409 while the tenant has attachments Pending or Running. */
export function makeDeleteTenantHandler(deps: () => AdminDeps) {
  return async (request: HttpRequest): Promise<HttpResponseInit> => {
    const d = deps();
    const refused = registryOperatorOnly(d, request);
    if (refused) return refused;
    const route = tenantRoute(request);
    if (!route.ok) return route.response;
    const outcome = await deleteTenant(d, route.tenantId, d.access.callerId(request), conditionsOf(request));
    if (outcome.kind === 'notFound') return notFound(`Tenant ${route.tenantId}`);
    if (outcome.kind === 'preconditionFailed')
      return errorResponse(412, 'PreconditionFailed', `Tenant ${route.tenantId} has changed since the ETag given.`);
    if (outcome.kind === 'conflict') return errorResponse(409, 'TenantHasAttachmentsInFlight', outcome.reason);
    return { status: 204 };
  };
}
