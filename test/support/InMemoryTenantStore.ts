import type { TenantChange, TenantEntry, TenantEntryInput, TenantRecord } from '../../shared/model/tenant';
import { TenantEntrySchema } from '../../shared/model/tenant';
import type { TenantStore, TenantWriteOutcome } from '../../shared/model/TenantStore';

/** A real in-memory tenant registry with the table store's semantics: etag-guarded writes and a change per write. */
export class InMemoryTenantStore implements TenantStore {
  private readonly rows = new Map<string, TenantRecord>();
  private readonly changes: TenantChange[] = [];
  private nextEtag = 1;
  reads = 0;

  /**
   * `lab`: the entry a tenant nobody registered gets (tests not about the boundary); without it, such a tenant is
   * unregistered, as in production.
   */
  constructor(
    private readonly options: { lab?: (tenantId: string) => TenantEntryInput; nowInMs?: () => number } = {},
  ) {}

  private nowInMs(): number {
    return (this.options.nowInMs ?? Date.now)();
  }

  /** Registers entries as the operator would (parsed with the registry's own schema). */
  static with(entries: Record<string, TenantEntryInput>): InMemoryTenantStore {
    const store = new InMemoryTenantStore();
    for (const [tenantId, entry] of Object.entries(entries)) store.set(tenantId, TenantEntrySchema.parse(entry));
    return store;
  }

  set(tenantId: string, entry: TenantEntry): void {
    const now = new Date(this.nowInMs()).toISOString();
    this.rows.set(tenantId, {
      tenantId,
      entry: structuredClone(entry),
      etag: `W/"${this.nextEtag++}"`,
      createdTime: this.rows.get(tenantId)?.createdTime ?? now,
      lastUpdatedTime: now,
      lastUpdatedBy: 'test',
    });
  }

  getTenant(tenantId: string): Promise<TenantRecord | undefined> {
    this.reads += 1;
    if (!this.rows.has(tenantId) && this.options.lab)
      this.set(tenantId, TenantEntrySchema.parse(this.options.lab(tenantId)));
    const row = this.rows.get(tenantId);
    return Promise.resolve(row ? structuredClone(row) : undefined);
  }

  listTenants(options: { pageSize: number; continuationToken?: string }) {
    const all = [...this.rows.values()].sort((a, b) => a.tenantId.localeCompare(b.tenantId));
    const start = Number(options.continuationToken ?? 0);
    const items = all.slice(start, start + options.pageSize).map((row) => structuredClone(row));
    const next = start + options.pageSize < all.length ? String(start + options.pageSize) : undefined;
    return Promise.resolve({ items, ...(next ? { continuationToken: next } : {}) });
  }

  putTenant(
    tenantId: string,
    entry: TenantEntry,
    by: string,
    conditions: { ifMatch?: string; ifNoneMatch?: '*' } = {},
  ): Promise<TenantWriteOutcome> {
    const current = this.rows.get(tenantId);
    const refused =
      (conditions.ifNoneMatch === '*' && current !== undefined) ||
      (conditions.ifMatch !== undefined &&
        (!current || (conditions.ifMatch !== '*' && conditions.ifMatch !== current.etag)));
    if (refused)
      return Promise.resolve({ kind: 'preconditionFailed', ...(current ? { current: structuredClone(current) } : {}) });
    this.set(tenantId, entry);
    const record = { ...this.rows.get(tenantId)!, lastUpdatedBy: by };
    this.rows.set(tenantId, record);
    this.changes.push({ time: record.lastUpdatedTime, tenantId, action: current ? 'Replaced' : 'Created', by, entry });
    return Promise.resolve({ kind: current ? 'replaced' : 'created', record: structuredClone(record) });
  }

  deleteTenant(tenantId: string, by: string, conditions: { ifMatch?: string } = {}): Promise<boolean> {
    const current = this.rows.get(tenantId);
    if (
      !current ||
      (conditions.ifMatch !== undefined && conditions.ifMatch !== '*' && conditions.ifMatch !== current.etag)
    )
      return Promise.resolve(false);
    this.rows.delete(tenantId);
    this.changes.push({ time: new Date(this.nowInMs()).toISOString(), tenantId, action: 'Deleted', by });
    return Promise.resolve(true);
  }

  listChanges(tenantId: string): Promise<TenantChange[]> {
    return Promise.resolve(
      this.changes.filter((change) => change.tenantId === tenantId).map((c) => structuredClone(c)),
    );
  }
}
