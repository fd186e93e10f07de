import { TableClient } from '@azure/data-tables';
import { describe, expect, it } from 'vitest';

import { type AttachmentRecord, newAttachmentRecord } from '../../../shared/model/records';
import type { RecordMutation } from '../../../shared/model/StateStore';
import { tableClientFrom } from '../../../shared/state/tableClient';
import { TableStateStore } from '../../../shared/state/TableStateStore';
import { useAzurite } from '../../support/azurite';
import { acceptedSeedRequest } from '../../support/seed';

const TENANT = 'tenant-a';
const azurite = useAzurite();
let tableNumber = 0;

/** Counts the table requests a store makes, by HTTP method (GET = a read, POST $batch = a transaction). */
function countingTable(name: string): { table: TableClient; requests: string[] } {
  const requests: string[] = [];
  const table = tableClientFrom(azurite.connectionString(), name);
  table.pipeline.addPolicy({
    name: 'count',
    sendRequest: (request, next) => {
      requests.push(request.method);
      return next(request);
    },
  });
  return { table, requests };
}

function freshTableName(): string {
  tableNumber += 1;
  return `statestore${Date.now() % 100_000}x${tableNumber}`;
}

async function created(store: TableStateStore, attachmentId: string): Promise<AttachmentRecord> {
  const record = { ...newAttachmentRecord(TENANT, acceptedSeedRequest(), '2026-11-28T10:00:00.000Z'), attachmentId };
  return (await store.createAttachment(record, [{ type: 'Submitted' }])).record;
}

const touch =
  (value: string) =>
  (record: AttachmentRecord): RecordMutation => ({ record: { ...record, lastUpdatedTime: value } });

describe('TableStateStore guarded writes from the record it last saw', () => {
  it('writes without reading when it wrote the record last', async () => {
    const { table, requests } = countingTable(freshTableName());
    const store = new TableStateStore(table);
    await created(store, 'att-1');
    requests.length = 0;
    await store.updateAttachment(TENANT, 'att-1', touch('2026-11-28T10:00:01.000Z'));
    await store.updateAttachment(TENANT, 'att-1', touch('2026-11-28T10:00:02.000Z'));
    expect(requests.filter((m) => m === 'GET')).toHaveLength(0);
    expect((await store.getAttachment(TENANT, 'att-1'))?.lastUpdatedTime).toBe('2026-11-28T10:00:02.000Z');
  });

  it('reads again and re-applies the change when another writer got there first', async () => {
    const name = freshTableName();
    const { table, requests } = countingTable(name);
    const mine = new TableStateStore(table);
    const other = new TableStateStore(tableClientFrom(azurite.connectionString(), name));
    await created(mine, 'att-2');
    await other.updateAttachment(TENANT, 'att-2', (record) => ({
      record: { ...record, cancelRequested: true },
      events: [{ type: 'CancelRequested' }],
    }));
    requests.length = 0;
    const seen: boolean[] = [];
    const written = await mine.updateAttachment(TENANT, 'att-2', (record) => {
      seen.push(record.cancelRequested);
      return { record: { ...record, lastUpdatedTime: '2026-11-28T10:00:03.000Z' }, events: [{ type: 'Completed' }] };
    });
    // First from the stale record (its write fails its etag check), then from a fresh read.
    expect(seen).toEqual([false, true]);
    expect(requests.filter((m) => m === 'GET')).toHaveLength(1);
    expect(written).toMatchObject({ cancelRequested: true, eventCount: 3 });
    const history = await mine.listHistory(TENANT, 'att-2');
    expect(history.map((e) => e.type)).toEqual(['Submitted', 'CancelRequested', 'Completed']);
  });

  it('does not trust a decision not to write that was made on a remembered record', async () => {
    const name = freshTableName();
    const mine = new TableStateStore(tableClientFrom(azurite.connectionString(), name));
    const other = new TableStateStore(tableClientFrom(azurite.connectionString(), name));
    await created(mine, 'att-3');
    await other.updateAttachment(TENANT, 'att-3', (record) => ({ record: { ...record, cancelRequested: true } }));
    const result = await mine.updateAttachment(TENANT, 'att-3', (record) =>
      record.cancelRequested ? { record: { ...record, runtimeStatus: 'Canceled' } } : undefined,
    );
    expect(result?.runtimeStatus).toBe('Canceled');
  });

  it('reports a record deleted since it was remembered as missing', async () => {
    const name = freshTableName();
    const mine = new TableStateStore(tableClientFrom(azurite.connectionString(), name));
    await created(mine, 'att-4');
    await tableClientFrom(azurite.connectionString(), name).deleteEntity(TENANT, 'att-4');
    expect(await mine.updateAttachment(TENANT, 'att-4', touch('2026-11-28T10:00:04.000Z'))).toBeUndefined();
  });

  it('keeps its own copies: changing a returned record does not change the next write', async () => {
    const store = new TableStateStore(tableClientFrom(azurite.connectionString(), freshTableName()));
    const record = await created(store, 'att-5');
    record.steps.addIpConfigurations.attempts = 99;
    const seen: number[] = [];
    await store.updateAttachment(TENANT, 'att-5', (current) => {
      seen.push(current.steps.addIpConfigurations.attempts);
      return { record: current };
    });
    expect(seen).toEqual([0]);
  });

  it('reads every time when told to remember nothing', async () => {
    const { table, requests } = countingTable(freshTableName());
    const store = new TableStateStore(table, { recentRecords: 0 });
    await created(store, 'att-6');
    requests.length = 0;
    await store.updateAttachment(TENANT, 'att-6', touch('2026-11-28T10:00:05.000Z'));
    expect(requests.filter((m) => m === 'GET')).toHaveLength(1);
  });
});
