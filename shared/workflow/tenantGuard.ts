import { formatIssues, StepError } from '../errors';
import type { AcceptedAttachRequest } from '../model/attachRequest';
import { type ArcDefaults, type TenantEntry, tenantIssues } from '../model/tenant';
import type { TenantStore } from '../model/TenantStore';

/**
 * Re-checks, before a step writes anywhere, that the request is still within its tenant's registry entry (the
 * registry can change between submit and step); answers the entry, or throws a non-retryable `TenantNotAuthorized`.
 */
export type TenantGuard = (tenantId: string, request: AcceptedAttachRequest) => Promise<TenantEntry>;

export function tenantGuard(registry: Pick<TenantStore, 'getTenant'>, defaults: ArcDefaults): TenantGuard {
  return async (tenantId, request) => {
    const record = await registry.getTenant(tenantId);
    const issues = tenantIssues(tenantId, record?.entry, request, defaults);
    if (!record || issues.length > 0) {
      throw new StepError(`The tenant may no longer make this request: ${formatIssues(issues)}.`, {
        code: 'TenantNotAuthorized',
        retryable: false,
      });
    }
    return record.entry;
  };
}
