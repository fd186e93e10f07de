import type { FieldIssue } from '../errors';
import { toFieldIssues } from '../model/attachRequest';
import type { StateStore } from '../model/StateStore';
import { type TenantChange, TenantEntrySchema, type TenantRecord } from '../model/tenant';
import type { TenantStore } from '../model/TenantStore';
import type { TenantView } from './schemas';

export type PutTenantOutcome =
  | { kind: 'invalid'; issues: FieldIssue[] }
  | { kind: 'preconditionFailed'; current?: TenantRecord }
  | { kind: 'created' | 'replaced'; record: TenantRecord };

/** Validates a registry entry and creates or replaces it, honouring the caller's `If-Match` / `If-None-Match`. */
export async function putTenant(
  tenants: TenantStore,
  tenantId: string,
  body: unknown,
  by: string,
  conditions: { ifMatch?: string; ifNoneMatch?: '*' },
): Promise<PutTenantOutcome> {
  const parsed = TenantEntrySchema.safeParse(body, { reportInput: true });
  if (!parsed.success) return { kind: 'invalid', issues: toFieldIssues(parsed.error) };
  return tenants.putTenant(tenantId, parsed.data, by, conditions);
}

export type DeleteTenantOutcome =
  { kind: 'deleted' } | { kind: 'notFound' } | { kind: 'preconditionFailed' } | { kind: 'conflict'; reason: string };

/**
 * Removes a tenant from the registry, refused while it has attachments Pending or Running: those re-check the
 * registry before every remote write and would fail half-way instead of finishing or being canceled.
 */
export async function deleteTenant(
  deps: { tenants: TenantStore; store: StateStore },
  tenantId: string,
  by: string,
  conditions: { ifMatch?: string },
): Promise<DeleteTenantOutcome> {
  const current = await deps.tenants.getTenant(tenantId);
  if (!current) return { kind: 'notFound' };
  if (conditions.ifMatch !== undefined && conditions.ifMatch !== '*' && conditions.ifMatch !== current.etag)
    return { kind: 'preconditionFailed' };
  const inFlight = await deps.store.listAttachments(tenantId, { runtimeStatus: ['Pending', 'Running'], pageSize: 1 });
  if (inFlight.items.length > 0) {
    return {
      kind: 'conflict',
      reason: `Tenant ${tenantId} has attachments Pending or Running (e.g. ${inFlight.items[0]?.attachmentId}); cancel them or let them end first.`,
    };
  }
  return (await deps.tenants.deleteTenant(tenantId, by, conditions)) ? { kind: 'deleted' } : { kind: 'notFound' };
}

/** The registry entry as the admin API shows it. */
export function tenantView(record: TenantRecord, changes?: readonly TenantChange[]): TenantView {
  return {
    tenantId: record.tenantId,
    ...record.entry,
    createdTime: record.createdTime,
    lastUpdatedTime: record.lastUpdatedTime,
    lastUpdatedBy: record.lastUpdatedBy,
    ...(changes ? { changes: [...changes] } : {}),
  };
}
