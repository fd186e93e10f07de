import {
  odata,
  type TableClient,
  type TableEntity,
  type TableTransactionResponse,
  type TransactionAction,
} from '@azure/data-tables';

import { StateConflictError } from '../errors';
import { containerHostName } from '../model/attachRequest';
import { type AttachmentRecord, type HistoryEvent, withAllSteps } from '../model/records';
import type {
  AttachmentPage,
  ListAttachmentsOptions,
  NewHistoryEvent,
  RecordMutation,
  StateStore,
} from '../model/StateStore';
import { lazyTableCreation, statusOf, tableClientFrom } from './tableClient';

const KIND_ATTACHMENT = 'attachment';
const KIND_EVENT = 'event';
const MAX_WRITE_ROUNDS = 10;
/** Records this store last wrote or read, per attachment, to start guarded writes from (see updateAttachment). */
const DEFAULT_RECENT_RECORDS = 5_000;

/**
 * Attachments in Azure Table Storage: PartitionKey = tenant id, RowKey = attachment id. History events live in the
 * same partition (RowKey `<attachmentId>~<sequence>`) so a record and its events commit in one transaction.
 */
export class TableStateStore implements StateStore {
  private readonly ensureTable: () => Promise<void>;
  private readonly recent: RecentRecords;

  constructor(
    private readonly table: TableClient,
    options: { recentRecords?: number } = {},
  ) {
    this.ensureTable = lazyTableCreation(table);
    this.recent = new RecentRecords(options.recentRecords ?? DEFAULT_RECENT_RECORDS);
  }

  static fromConnectionString(connectionString: string, tableName: string): TableStateStore {
    return new TableStateStore(tableClientFrom(connectionString, tableName));
  }

  async createAttachment(
    record: AttachmentRecord,
    events: Omit<HistoryEvent, 'time'>[],
  ): Promise<{ created: boolean; record: AttachmentRecord }> {
    await this.ensureTable();
    const stored = { ...record, eventCount: events.length };
    const actions: TransactionAction[] = [
      ['create', toEntity(stored)],
      ...eventActions(record, 0, events, record.createdTime),
    ];
    try {
      const response = await this.table.submitTransaction(actions);
      return { created: true, record: this.recent.remember({ ...stored, etag: etagOf(response, 0) }) };
    } catch (error) {
      if (statusOf(error) !== 409) throw error;
      const existing = await this.getAttachment(record.tenantId, record.attachmentId);
      if (!existing) throw error;
      return { created: false, record: existing };
    }
  }

  async getAttachment(
    tenantId: string,
    attachmentId: string,
    options: { recent?: boolean } = {},
  ): Promise<AttachmentRecord | undefined> {
    const recent = options.recent ? this.recent.get(tenantId, attachmentId) : undefined;
    if (recent) return structuredClone(recent);
    await this.ensureTable();
    try {
      const entity = await this.table.getEntity<Record<string, unknown>>(tenantId, attachmentId);
      return this.recent.remember(fromEntity(entity));
    } catch (error) {
      if (statusOf(error) === 404) {
        this.recent.forget(tenantId, attachmentId);
        return undefined;
      }
      throw error;
    }
  }

  async updateAttachment(
    tenantId: string,
    attachmentId: string,
    mutate: (current: AttachmentRecord) => RecordMutation,
    options: { basedOn?: AttachmentRecord } = {},
  ): Promise<AttachmentRecord | undefined> {
    // Without the caller's record, the first round starts from the one this store last wrote or read, which saves
    // a read per step when one process runs an attachment's steps. It is only a guess: the write is etag-guarded, so
    // a stale guess fails and the next round reads; a decision not to write is only trusted from a fresh read.
    let guess = options.basedOn?.etag ? undefined : this.recent.get(tenantId, attachmentId);
    for (let round = 0; round < MAX_WRITE_ROUNDS; round++) {
      const known = round === 0 && options.basedOn?.etag ? options.basedOn : undefined;
      const guessed = guess;
      guess = undefined;
      const current = known ?? guessed ?? (await this.getAttachment(tenantId, attachmentId));
      if (!current) return undefined;
      const mutation = mutate(structuredClone(current));
      if (!mutation) {
        if (guessed) {
          round--;
          continue;
        }
        return current;
      }
      const events = mutation.events ?? [];
      const next = { ...mutation.record, eventCount: current.eventCount + events.length };
      const actions: TransactionAction[] = [
        ['update', toEntity(next), 'Replace', { etag: current.etag }],
        ...eventActions(next, current.eventCount, events, next.lastUpdatedTime),
      ];
      try {
        const response = await this.table.submitTransaction(actions);
        return this.recent.remember({ ...next, etag: etagOf(response, 0) });
      } catch (error) {
        const status = statusOf(error);
        this.recent.forget(tenantId, attachmentId);
        // A guess may name a record deleted since: read, as without a guess (the retry does not count as a round).
        if (guessed && (status === 404 || status === 412 || status === 409)) {
          round--;
          continue;
        }
        // 412: someone else wrote since our read; 409 on an event row: a racing writer took that sequence number.
        if (status !== 412 && status !== 409) throw error;
      }
    }
    throw new StateConflictError(`Attachment ${attachmentId} changed under ${MAX_WRITE_ROUNDS} writes in a row.`, {
      context: { tenantId, attachmentId },
    });
  }

  async listAttachments(tenantId: string, options: ListAttachmentsOptions): Promise<AttachmentPage> {
    await this.ensureTable();
    let filter = odata`PartitionKey eq ${tenantId} and kind eq ${KIND_ATTACHMENT}`;
    if (options.runtimeStatus && options.runtimeStatus.length > 0) {
      filter += ` and (${options.runtimeStatus.map((s) => odata`runtimeStatus eq ${s}`).join(' or ')})`;
    }
    const pages = this.table
      .listEntities<Record<string, unknown>>({ queryOptions: { filter } })
      .byPage({ maxPageSize: options.pageSize, continuationToken: options.continuationToken });
    for await (const page of pages) {
      return { items: page.map(fromEntity), continuationToken: page.continuationToken };
    }
    return { items: [] };
  }

  async listContainerNetworkUsers(machineName: string, networkName: string): Promise<AttachmentRecord[]> {
    await this.ensureTable();
    // Across tenants: one query on an indexed-by-nobody column, paid once per detach, never per attach.
    const key = containerNetworkKey(machineName, networkName);
    const filter = odata`kind eq ${KIND_ATTACHMENT} and containerNetworkKey eq ${key} and runtimeStatus ne ${'Detached'}`;
    const users: AttachmentRecord[] = [];
    for await (const entity of this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter } })) {
      users.push(fromEntity(entity));
    }
    return users;
  }

  async listContainerHostUsers(machineName: string): Promise<AttachmentRecord[]> {
    await this.ensureTable();
    // The network key starts with the machine name and "~", which no machine name holds: a range on that prefix.
    const prefix = containerNetworkKey(machineName, '');
    const filter = odata`kind eq ${KIND_ATTACHMENT} and containerNetworkKey ge ${prefix} and containerNetworkKey lt ${prefix + '\u007f'} and runtimeStatus ne ${'Detached'}`;
    const users: AttachmentRecord[] = [];
    for await (const entity of this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter } })) {
      users.push(fromEntity(entity));
    }
    return users;
  }

  async listHistory(tenantId: string, attachmentId: string): Promise<HistoryEvent[]> {
    await this.ensureTable();
    const prefix = `${attachmentId}~`;
    const filter = odata`PartitionKey eq ${tenantId} and RowKey ge ${prefix} and RowKey lt ${attachmentId + '\u007f'} and kind eq ${KIND_EVENT}`;
    const events: HistoryEvent[] = [];
    for await (const entity of this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter } })) {
      events.push(JSON.parse(String(entity.event)) as HistoryEvent);
    }
    return events;
  }
}

/**
 * The attachments this store last saw, newest last, at most `capacity`. Kept as copies: callers may change the
 * records they are handed.
 */
class RecentRecords {
  private readonly records = new Map<string, AttachmentRecord>();

  constructor(private readonly capacity: number) {}

  get(tenantId: string, attachmentId: string): AttachmentRecord | undefined {
    return this.records.get(recordKey(tenantId, attachmentId));
  }

  /** Returns the record it was given, after keeping a copy. */
  remember(record: AttachmentRecord): AttachmentRecord {
    if (this.capacity <= 0 || !record.etag) return record;
    const key = recordKey(record.tenantId, record.attachmentId);
    this.records.delete(key);
    this.records.set(key, structuredClone(record));
    if (this.records.size > this.capacity) {
      const oldest = this.records.keys().next();
      if (!oldest.done) this.records.delete(oldest.value);
    }
    return record;
  }

  forget(tenantId: string, attachmentId: string): void {
    this.records.delete(recordKey(tenantId, attachmentId));
  }
}

function recordKey(tenantId: string, attachmentId: string): string {
  return `${tenantId}/${attachmentId}`;
}

function eventActions(
  record: AttachmentRecord,
  firstSequence: number,
  events: NewHistoryEvent[],
  time: string,
): TransactionAction[] {
  return events.map((event, index) => [
    'create',
    {
      partitionKey: record.tenantId,
      rowKey: `${record.attachmentId}~${String(firstSequence + index).padStart(8, '0')}`,
      kind: KIND_EVENT,
      event: JSON.stringify({ time, ...event }),
    },
  ]);
}

function toEntity(record: AttachmentRecord): TableEntity<Record<string, unknown>> {
  return {
    partitionKey: record.tenantId,
    rowKey: record.attachmentId,
    kind: KIND_ATTACHMENT,
    runtimeStatus: record.runtimeStatus,
    currentStep: record.currentStep ?? '',
    createdTime: record.createdTime,
    lastUpdatedTime: record.lastUpdatedTime,
    cancelRequested: record.cancelRequested,
    detachRequested: record.detachRequested,
    eventCount: record.eventCount,
    request: JSON.stringify(record.request),
    containerNetworkKey: containerNetworkKey(containerHostName(record.request), record.request.network.name),
    steps: JSON.stringify(record.steps),
    result: JSON.stringify(record.result),
    lastError: record.lastError ? JSON.stringify(record.lastError) : '',
  };
}

/** The column a detach looks its network's other users up by. */
export function containerNetworkKey(machineName: string, networkName: string): string {
  return `${machineName.toLowerCase()}~${networkName.toLowerCase()}`;
}

function fromEntity(entity: Record<string, unknown>): AttachmentRecord {
  const json = <T>(key: string): T | undefined => {
    const value = entity[key];
    return typeof value === 'string' && value !== '' ? (JSON.parse(value) as T) : undefined;
  };
  const currentStep = entity.currentStep;
  return {
    tenantId: String(entity.partitionKey),
    attachmentId: String(entity.rowKey),
    runtimeStatus: entity.runtimeStatus as AttachmentRecord['runtimeStatus'],
    currentStep:
      typeof currentStep === 'string' && currentStep !== ''
        ? (currentStep as AttachmentRecord['currentStep'])
        : undefined,
    createdTime: String(entity.createdTime),
    lastUpdatedTime: String(entity.lastUpdatedTime),
    cancelRequested: entity.cancelRequested === true,
    detachRequested: entity.detachRequested === true,
    eventCount: Number(entity.eventCount ?? 0),
    request: json('request') as AttachmentRecord['request'],
    steps: withAllSteps(json('steps') ?? {}),
    result: json('result') ?? {},
    lastError: json('lastError'),
    etag: typeof entity.etag === 'string' ? entity.etag : undefined,
  };
}

function etagOf(response: TableTransactionResponse, index: number): string | undefined {
  return response.subResponses[index]?.etag;
}
