import type { TableClient } from '@azure/data-tables';

import { machineTaskKeys, type MachineTaskRecord, type MachineTaskStore } from './MachineTaskStore';
import { lazyTableCreation, statusOf, tableClientFrom } from './tableClient';

/** Machine task records in Azure Table Storage, one JSON document per row, etag-guarded. */
export class TableMachineTaskStore implements MachineTaskStore {
  private readonly ensureTable: () => Promise<void>;
  /** Applied records as last read or written, with when: few (a row per machine and task), so no bound needed. */
  private readonly applied = new Map<string, { record: MachineTaskRecord; seenAtInMs: number }>();

  constructor(
    private readonly table: TableClient,
    private readonly nowInMs: () => number = () => Date.now(),
  ) {
    this.ensureTable = lazyTableCreation(table);
  }

  static fromConnectionString(connectionString: string, tableName: string): TableMachineTaskStore {
    return new TableMachineTaskStore(tableClientFrom(connectionString, tableName));
  }

  async getTask(
    machine: MachineTaskRecord['machine'],
    task: string,
    subject: string,
    options: { appliedWithinInMs?: number } = {},
  ): Promise<MachineTaskRecord | undefined> {
    const { partitionKey, rowKey } = machineTaskKeys(machine, task, subject);
    const key = `${partitionKey}/${rowKey}`;
    const seen = this.applied.get(key);
    if (
      seen &&
      options.appliedWithinInMs !== undefined &&
      this.nowInMs() - seen.seenAtInMs <= options.appliedWithinInMs
    ) {
      return structuredClone(seen.record);
    }
    await this.ensureTable();
    try {
      const entity = await this.table.getEntity<{ document: string }>(partitionKey, rowKey);
      return this.remember(key, { ...(JSON.parse(entity.document) as MachineTaskRecord), etag: entity.etag });
    } catch (error) {
      if (statusOf(error) === 404) {
        this.applied.delete(key);
        return undefined;
      }
      throw error;
    }
  }

  private remember(key: string, record: MachineTaskRecord): MachineTaskRecord {
    if (record.status === 'Applied')
      this.applied.set(key, { record: structuredClone(record), seenAtInMs: this.nowInMs() });
    else this.applied.delete(key);
    return record;
  }

  async putTask(record: MachineTaskRecord, expectedEtag: string | undefined): Promise<MachineTaskRecord | undefined> {
    await this.ensureTable();
    const { partitionKey, rowKey } = machineTaskKeys(record.machine, record.task, record.subject);
    const document = { ...record };
    delete document.etag;
    const entity = { partitionKey, rowKey, status: record.status, document: JSON.stringify(document) };
    try {
      const response =
        expectedEtag === undefined
          ? await this.table.createEntity(entity)
          : await this.table.updateEntity(entity, 'Replace', { etag: expectedEtag });
      return this.remember(`${partitionKey}/${rowKey}`, { ...document, etag: response.etag });
    } catch (error) {
      const status = statusOf(error);
      if (status === 409 || status === 412) {
        this.applied.delete(`${partitionKey}/${rowKey}`);
        return undefined;
      }
      throw error;
    }
  }
}
