import type { HttpRequest } from '@azure/functions';

import type { AppConfig } from '../config';

/**
 * Who may use which route. The operator may use every route, the admin API included; a tenant's principal may use
 * the attachment routes of the tenants whose registry entry lists it. `callerId` names the caller in audit records.
 */
export interface AccessPolicy {
  isOperator(request: HttpRequest): boolean;
  mayUseTenant(request: HttpRequest, tenantPrincipals: readonly string[]): boolean;
  callerId(request: HttpRequest): string;
}

/** The access policy the configuration calls for. */
export function accessPolicy(_config: AppConfig): AccessPolicy {
  // Development without an identity provider: every caller is the operator, as Core Tools skips keys.
  return { isOperator: () => true, mayUseTenant: () => true, callerId: () => 'local-operator' };
}
