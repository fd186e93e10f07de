import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';

type Handler = (request: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit>;

import { errorResponse, notFound } from '../api/responses';
import type { AppConfig } from '../config';
import { TenantIdSchema } from '../model/attachRequest';
import type { TenantStore } from '../model/TenantStore';
import { callerFrom, isOperator, mayUseTenant } from './callerIdentity';

/**
 * Who may use which route. The operator may use every route, the admin API included; a tenant's principal may use
 * the attachment routes of the tenants whose registry entry lists it (see docs/identity.md).
 */
export interface AccessPolicy {
  /** False when the platform's authentication is on and the request carries no usable principal. */
  isAuthenticated(request: HttpRequest): boolean;
  isOperator(request: HttpRequest): boolean;
  mayUseTenant(request: HttpRequest, tenantPrincipals: readonly string[]): boolean;
  /** Names the caller in audit records. */
  callerId(request: HttpRequest): string;
}

/** The access policy the configuration calls for: App Service Authentication's principal, or (Development) the operator. */
export function accessPolicy(config: Pick<AppConfig, 'identity'>): AccessPolicy {
  const settings = config.identity;
  const caller = (request: HttpRequest) => callerFrom(request.headers, settings);
  return {
    isAuthenticated: (request) => caller(request).kind !== 'anonymous',
    isOperator: (request) => isOperator(caller(request)),
    mayUseTenant: (request, principals) => mayUseTenant(caller(request), principals, settings),
    callerId: (request) => {
      const who = caller(request);
      return who.kind === 'anonymous' ? 'anonymous' : who.id;
    },
  };
}

export function unauthenticated(): HttpResponseInit {
  return errorResponse(401, 'Unauthenticated', 'Sign in through the app’s identity provider to call this API.');
}

/**
 * The admin API is the operator's alone: anyone else is refused (401 without a principal, 403 `OperatorOnly` with
 * one), before the request is read. Undefined lets the operator through.
 */
export function operatorOnly(access: AccessPolicy, request: HttpRequest, what: string): HttpResponseInit | undefined {
  if (!access.isAuthenticated(request)) return unauthenticated();
  return access.isOperator(request)
    ? undefined
    : errorResponse(403, 'OperatorOnly', `${what} is managed by the operator.`);
}

/**
 * Guards a `tenants/{tenantId}/...` route: the operator passes; a principal passes only for a tenant whose registry
 * entry lists it, and is told anything else does not exist (404), as another tenant's attachments always were. A
 * tenantId that is not even well-formed is left to the handler's own 400.
 */
export function forTenantCallers(
  deps: () => { access: AccessPolicy; tenants: Pick<TenantStore, 'getTenant'> },
  handler: Handler,
): Handler {
  return async (request: HttpRequest, context: InvocationContext) => {
    const { access, tenants } = deps();
    if (!access.isAuthenticated(request)) return unauthenticated();
    const tenant = TenantIdSchema.safeParse(request.params.tenantId);
    if (tenant.success && !access.isOperator(request)) {
      const principals = (await tenants.getTenant(tenant.data))?.entry.principals ?? [];
      if (!access.mayUseTenant(request, principals)) return notFound(`Tenant ${tenant.data}`);
    }
    return handler(request, context);
  };
}
