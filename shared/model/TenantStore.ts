import type { TenantChange, TenantEntry, TenantRecord } from './tenant';

/** The outcome of an etag-guarded write to the registry. */
export type TenantWriteOutcome =
  { kind: 'created' | 'replaced'; record: TenantRecord } | { kind: 'preconditionFailed'; current?: TenantRecord };

/**
 * The tenant registry: one entry per tenant, every write etag-guarded and recorded as a change (who, when, what) in
 * the same transaction, so the audit trail never misses a change that took effect.
 */
export interface TenantStore {
  getTenant(tenantId: string): Promise<TenantRecord | undefined>;
  listTenants(options: { pageSize: number; continuationToken?: string }): Promise<{
    items: TenantRecord[];
    continuationToken?: string;
  }>;
  /**
   * Creates or replaces the entry. `ifMatch`: the etag the caller read (`*` for any existing entry); absent: create
   * or replace whatever is there. `ifNoneMatch: '*'`: create only.
   */
  putTenant(
    tenantId: string,
    entry: TenantEntry,
    by: string,
    conditions?: { ifMatch?: string; ifNoneMatch?: '*' },
  ): Promise<TenantWriteOutcome>;
  /** Deletes the entry (guarded by `ifMatch` when given); false when there was none, or the etag did not match. */
  deleteTenant(tenantId: string, by: string, conditions?: { ifMatch?: string }): Promise<boolean>;
  listChanges(tenantId: string): Promise<TenantChange[]>;
}
