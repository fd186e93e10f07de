import { odata, type TableClient, type TransactionAction } from '@azure/data-tables';

import type { TenantChange, TenantEntry, TenantRecord } from '../model/tenant';
import type { TenantStore, TenantWriteOutcome } from '../model/TenantStore';
import { lazyTableCreation, statusOf, tableClientFrom } from './tableClient';

/** The entry's row in its tenant's partition; change rows follow it (`change~<time>~<sequence>`). */
const ENTRY_ROW = 'entry';
const CHANGE_PREFIX = 'change~';

type EntryEntity = Record<string, unknown> & {
  partitionKey: string;
  rowKey: string;
  kind: 'tenant';
  document: string;
};

/**
 * The tenant registry in Azure Table Storage: PartitionKey = tenant id, the entry as one JSON document, and every
 * change as its own row in the same partition, written in one entity-group transaction with the entry.
 */
export class TableTenantStore implements TenantStore {
  private readonly ensureTable: () => Promise<void>;
  private changeSequence = 0;

  constructor(
    private readonly table: TableClient,
    private readonly nowInMs: () => number = () => Date.now(),
  ) {
    this.ensureTable = lazyTableCreation(table);
  }

  static fromConnectionString(connectionString: string, tableName: string): TableTenantStore {
    return new TableTenantStore(tableClientFrom(connectionString, tableName));
  }

  async getTenant(tenantId: string): Promise<TenantRecord | undefined> {
    await this.ensureTable();
    try {
      const entity = await this.table.getEntity<EntryEntity>(tenantId, ENTRY_ROW);
      return { ...(JSON.parse(entity.document) as TenantRecord), etag: entity.etag };
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }

  async listTenants(options: { pageSize: number; continuationToken?: string }) {
    await this.ensureTable();
    const pages = this.table
      .listEntities<EntryEntity>({ queryOptions: { filter: odata`RowKey eq ${ENTRY_ROW}` } })
      .byPage({ maxPageSize: options.pageSize, continuationToken: options.continuationToken });
    for await (const page of pages) {
      return {
        items: page.map((entity) => ({ ...(JSON.parse(entity.document) as TenantRecord), etag: entity.etag })),
        continuationToken: page.continuationToken,
      };
    }
    return { items: [] };
  }

  async putTenant(
    tenantId: string,
    entry: TenantEntry,
    by: string,
    conditions: { ifMatch?: string; ifNoneMatch?: '*' } = {},
  ): Promise<TenantWriteOutcome> {
    await this.ensureTable();
    const current = await this.getTenant(tenantId);
    if (conditions.ifNoneMatch === '*' && current) return { kind: 'preconditionFailed', current };
    if (conditions.ifMatch !== undefined) {
      if (!current) return { kind: 'preconditionFailed' };
      if (conditions.ifMatch !== '*' && conditions.ifMatch !== current.etag)
        return { kind: 'preconditionFailed', current };
    }
    const now = new Date(this.nowInMs()).toISOString();
    const record: TenantRecord = {
      tenantId,
      entry,
      createdTime: current?.createdTime ?? now,
      lastUpdatedTime: now,
      lastUpdatedBy: by,
    };
    const entity: EntryEntity = {
      partitionKey: tenantId,
      rowKey: ENTRY_ROW,
      kind: 'tenant',
      document: JSON.stringify(record),
    };
    const change: TenantChange = { time: now, tenantId, action: current ? 'Replaced' : 'Created', by, entry };
    // The write is guarded by the etag read just now, so a concurrent writer makes one of the two fail, not both win.
    const write: TransactionAction = current
      ? ['update', entity, 'Replace', { etag: current.etag ?? '*' }]
      : ['create', entity];
    try {
      const response = await this.table.submitTransaction([write, this.changeAction(tenantId, change)]);
      const etag = response.subResponses[0]?.etag;
      return { kind: current ? 'replaced' : 'created', record: { ...record, etag } };
    } catch (error) {
      const status = statusOf(error);
      if (status === 409 || status === 412)
        return { kind: 'preconditionFailed', current: await this.getTenant(tenantId) };
      throw error;
    }
  }

  async deleteTenant(tenantId: string, by: string, conditions: { ifMatch?: string } = {}): Promise<boolean> {
    await this.ensureTable();
    const current = await this.getTenant(tenantId);
    if (!current) return false;
    if (conditions.ifMatch !== undefined && conditions.ifMatch !== '*' && conditions.ifMatch !== current.etag)
      return false;
    const change: TenantChange = { time: new Date(this.nowInMs()).toISOString(), tenantId, action: 'Deleted', by };
    try {
      await this.table.submitTransaction([
        // A delete in a transaction is unconditional; the etag was compared just above, and a replace that slips in
        // between is lost with the entry, both recorded as changes.
        ['delete', { partitionKey: tenantId, rowKey: ENTRY_ROW }],
        this.changeAction(tenantId, change),
      ]);
      return true;
    } catch (error) {
      const status = statusOf(error);
      if (status === 404 || status === 412) return false;
      throw error;
    }
  }

  async listChanges(tenantId: string): Promise<TenantChange[]> {
    await this.ensureTable();
    const filter = odata`PartitionKey eq ${tenantId} and RowKey ge ${CHANGE_PREFIX} and RowKey lt ${'change\u007f'}`;
    const changes: TenantChange[] = [];
    for await (const entity of this.table.listEntities<{ document: string }>({ queryOptions: { filter } })) {
      changes.push(JSON.parse(entity.document) as TenantChange);
    }
    return changes;
  }

  private changeAction(tenantId: string, change: TenantChange): TransactionAction {
    // Sorted by time; the sequence and a random tail keep two changes in one millisecond apart.
    const rowKey = `${CHANGE_PREFIX}${change.time}~${String(this.changeSequence++).padStart(6, '0')}~${Math.random().toString(36).slice(2, 8)}`;
    return ['create', { partitionKey: tenantId, rowKey, kind: 'change', document: JSON.stringify(change) }];
  }
}
