import type { TableClient } from '@azure/data-tables';

import { machineTaskKeys, type MachineTaskRecord, type MachineTaskStore } from './MachineTaskStore';
import { lazyTableCreation, statusOf, tableClientFrom } from './tableClient';

/** Machine task records in Azure Table Storage, one JSON document per row, etag-guarded. */
export class TableMachineTaskStore implements MachineTaskStore {
  private readonly ensureTable: () => Promise<void>;

  constructor(private readonly table: TableClient) {
    this.ensureTable = lazyTableCreation(table);
  }

  static fromConnectionString(connectionString: string, tableName: string): TableMachineTaskStore {
    return new TableMachineTaskStore(tableClientFrom(connectionString, tableName));
  }

  async getTask(
    machine: MachineTaskRecord['machine'],
    task: string,
    subject: string,
  ): Promise<MachineTaskRecord | undefined> {
    await this.ensureTable();
    const { partitionKey, rowKey } = machineTaskKeys(machine, task, subject);
    try {
      const entity = await this.table.getEntity<{ document: string }>(partitionKey, rowKey);
      return { ...(JSON.parse(entity.document) as MachineTaskRecord), etag: entity.etag };
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
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
      return { ...document, etag: response.etag };
    } catch (error) {
      const status = statusOf(error);
      if (status === 409 || status === 412) return undefined;
      throw error;
    }
  }
}
