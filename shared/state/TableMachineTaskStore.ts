import { odata, type TableClient, type TransactionAction } from '@azure/data-tables';

import {
  machineTaskKeys,
  type MachineTaskRecord,
  type MachineTaskStore,
  type TaskWaiter,
  taskWaiterKeys,
} from '../model/MachineTaskStore';
import type { StepName } from '../model/steps';
import { readTraceContext } from '../model/traceContext';
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

  async updateTask(
    machine: MachineTaskRecord['machine'],
    task: string,
    subject: string,
    mutate: (current: MachineTaskRecord | undefined) => MachineTaskRecord,
    options: { maxRounds?: number } = {},
  ): Promise<MachineTaskRecord | undefined> {
    for (let round = 0; round < (options.maxRounds ?? 5); round++) {
      const current = await this.getTask(machine, task, subject);
      const stored = await this.putTask(mutate(current), current?.etag);
      if (stored) return stored;
    }
    return undefined;
  }

  async addWaiter(machine: MachineTaskRecord['machine'], task: string, subject: string, waiter: TaskWaiter) {
    await this.ensureTable();
    const { partitionKey, rowKey } = taskWaiterKeys(machine, task, subject, waiter);
    await this.table.upsertEntity(
      {
        partitionKey,
        rowKey,
        tenantId: waiter.tenantId,
        attachmentId: waiter.attachmentId,
        step: waiter.step,
        recheck: waiter.recheck,
        ...(waiter.trace?.traceparent ? { traceparent: waiter.trace.traceparent } : {}),
        ...(waiter.trace?.tracestate ? { tracestate: waiter.trace.tracestate } : {}),
      },
      'Replace',
    );
  }

  async listWaiters(machine: MachineTaskRecord['machine'], task: string, subject: string): Promise<TaskWaiter[]> {
    await this.ensureTable();
    const { partitionKey, prefix } = taskWaiterKeys(machine, task, subject);
    const filter = odata`PartitionKey eq ${partitionKey} and RowKey ge ${prefix} and RowKey lt ${prefix + '\u007f'}`;
    const waiters: TaskWaiter[] = [];
    const rows = this.table.listEntities<{
      tenantId: string;
      attachmentId: string;
      step: string;
      recheck: number;
      traceparent?: string;
      tracestate?: string;
    }>({
      queryOptions: { filter, select: ['tenantId', 'attachmentId', 'step', 'recheck', 'traceparent', 'tracestate'] },
    });
    for await (const row of rows) {
      // Stored by a delivery, but read back as untrusted as any message: a bad value is dropped, not sent on.
      const { context: trace } = readTraceContext(row.traceparent, row.tracestate);
      waiters.push({
        tenantId: row.tenantId,
        attachmentId: row.attachmentId,
        step: row.step as StepName,
        recheck: Number(row.recheck),
        ...(trace ? { trace } : {}),
      });
    }
    return waiters.sort((a, b) => a.recheck - b.recheck);
  }

  async removeWaiters(
    machine: MachineTaskRecord['machine'],
    task: string,
    subject: string,
    waiters: readonly TaskWaiter[],
  ): Promise<void> {
    if (waiters.length === 0) return;
    await this.ensureTable();
    const keys = waiters.map((waiter) => taskWaiterKeys(machine, task, subject, waiter));
    // One partition: up to 100 deletes per entity-group transaction. A transaction fails whole when one row is
    // already gone (another owner woke it too); those few are then deleted one by one.
    for (let start = 0; start < keys.length; start += MAX_TRANSACTION_ACTIONS) {
      const chunk = keys.slice(start, start + MAX_TRANSACTION_ACTIONS);
      const actions: TransactionAction[] = chunk.map(({ partitionKey, rowKey }) => [
        'delete',
        { partitionKey, rowKey },
      ]);
      try {
        await this.table.submitTransaction(actions);
      } catch (error) {
        if (statusOf(error) !== 404) throw error;
        for (const { partitionKey, rowKey } of chunk) {
          await this.table.deleteEntity(partitionKey, rowKey).catch((deleteError: unknown) => {
            if (statusOf(deleteError) !== 404) throw deleteError;
          });
        }
      }
    }
  }
}

const MAX_TRANSACTION_ACTIONS = 100;
