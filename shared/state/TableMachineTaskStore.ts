import { RestError, TableClient } from '@azure/data-tables';

import { machineTaskKeys, type MachineTaskRecord, type MachineTaskStore } from './MachineTaskStore';

/** Machine task records in Azure Table Storage, one JSON document per row, etag-guarded. */
export class TableMachineTaskStore implements MachineTaskStore {
  private ready?: Promise<void>;

  constructor(private readonly table: TableClient) {}

  static fromConnectionString(connectionString: string, tableName: string): TableMachineTaskStore {
    const allowInsecureConnection = /(TableEndpoint|DefaultEndpointsProtocol)=http[:;]/i.test(connectionString);
    return new TableMachineTaskStore(
      TableClient.fromConnectionString(connectionString, tableName, { allowInsecureConnection }),
    );
  }

  private ensureTable(): Promise<void> {
    this.ready ??= this.table.createTable().catch((error: unknown) => {
      this.ready = undefined;
      throw error;
    });
    return this.ready;
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

function statusOf(error: unknown): number | undefined {
  if (error instanceof RestError) return error.statusCode;
  return typeof error === 'object' && error !== null ? (error as { statusCode?: number }).statusCode : undefined;
}
