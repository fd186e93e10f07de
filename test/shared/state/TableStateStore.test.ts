import { TableClient } from '@azure/data-tables';
import { describe, expect, it } from 'vitest';

import { type AttachmentRecord, newAttachmentRecord } from '../../../shared/model/records';
import type { RecordMutation } from '../../../shared/model/StateStore';
import { tableClientFrom } from '../../../shared/state/tableClient';
import { TableStateStore } from '../../../shared/state/TableStateStore';
import { useAzurite } from '../../support/azurite';
import { InMemoryStateStore } from '../../support/InMemoryStateStore';
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

describe('TableStateStore.listContainerNetworkUsers', () => {
  /** An attachment of `tenantId` naming this container host and network, stored with `runtimeStatus`. */
  async function stored(
    store: TableStateStore,
    tenantId: string,
    attachmentId: string,
    runtimeStatus: AttachmentRecord['runtimeStatus'],
    names: { machineName?: string; networkName?: string } = {},
  ): Promise<void> {
    const request = acceptedSeedRequest({
      attachmentId,
      containerHost: { machineName: names.machineName ?? 'ContainerHostVM1' },
      network: { name: names.networkName ?? 'MyContainerOverlayNetwork', driver: 'l2bridge' },
    });
    const record = newAttachmentRecord(tenantId, request, '2026-11-28T10:00:00.000Z');
    await store.createAttachment(record, [{ type: 'Submitted' }]);
    if (runtimeStatus !== 'Pending')
      await store.updateAttachment(tenantId, attachmentId, (current) => ({ record: { ...current, runtimeStatus } }));
  }

  const ids = (records: AttachmentRecord[]) => records.map((r) => `${r.tenantId}/${r.attachmentId}`).sort();

  it('finds every tenant’s attachments on that machine and network, in any case, except Detached ones', async () => {
    const store = new TableStateStore(tableClientFrom(azurite.connectionString(), freshTableName()));
    await stored(store, 'contoso', 'c-completed', 'Completed');
    await stored(store, 'contoso', 'c-detaching', 'Detaching');
    await stored(store, 'contoso', 'c-detached', 'Detached');
    await stored(store, 'fabrikam', 'f-running', 'Running');
    await stored(store, 'fabrikam', 'f-failed', 'Failed', { machineName: 'CONTAINERHOSTVM1' });
    await stored(store, 'northwind', 'n-pending', 'Pending', { networkName: 'mycontaineroverlaynetwork' });
    await stored(store, 'northwind', 'n-canceled', 'Canceled');
    // Not users: another machine, another network, a name that only starts the same.
    await stored(store, 'contoso', 'c-vm2', 'Completed', { machineName: 'ContainerHostVM2' });
    await stored(store, 'contoso', 'c-net2', 'Completed', { networkName: 'OtherNetwork' });
    await stored(store, 'fabrikam', 'f-prefix', 'Completed', { networkName: 'MyContainerOverlayNetwork2' });

    const expected = [
      'contoso/c-completed',
      'contoso/c-detaching',
      'fabrikam/f-failed',
      'fabrikam/f-running',
      'northwind/n-canceled',
      'northwind/n-pending',
    ];
    expect(ids(await store.listContainerNetworkUsers('ContainerHostVM1', 'MyContainerOverlayNetwork'))).toEqual(
      expected,
    );
    expect(ids(await store.listContainerNetworkUsers('containerhostvm1', 'MYCONTAINEROVERLAYNETWORK'))).toEqual(
      expected,
    );
    // Whole records, with every step (what removeContainerNetwork reads).
    const [first] = await store.listContainerNetworkUsers('ContainerHostVM1', 'MyContainerOverlayNetwork');
    expect(first?.steps.createContainerNetwork).toEqual({ status: 'Pending', attempts: 0 });
    expect(first?.request.network.name).toBe('MyContainerOverlayNetwork');
  });

  it('leaves out an attachment once it is Detached, and takes no history rows for attachments', async () => {
    const store = new TableStateStore(tableClientFrom(azurite.connectionString(), freshTableName()));
    await stored(store, 'contoso', 'c-1', 'Completed');
    expect(ids(await store.listContainerNetworkUsers('ContainerHostVM1', 'MyContainerOverlayNetwork'))).toEqual([
      'contoso/c-1',
    ]);
    await store.updateAttachment('contoso', 'c-1', (current) => ({
      record: { ...current, runtimeStatus: 'Detached' },
      events: [{ type: 'Detached' }],
    }));
    expect(await store.listContainerNetworkUsers('ContainerHostVM1', 'MyContainerOverlayNetwork')).toEqual([]);
  });

  it('treats quotes in the names as data, not as part of the filter', async () => {
    const store = new TableStateStore(tableClientFrom(azurite.connectionString(), freshTableName()));
    await stored(store, 'contoso', 'c-1', 'Completed');
    expect(await store.listContainerNetworkUsers("x' or kind eq 'attachment", "y' or 'a' eq 'a")).toEqual([]);
  });

  // Known gap, not fixed here: the query matches on containerNetworkKey, which rows written before detach existed do
  // not have, and such a row gets it only when the attachment is next written. An attachment that ended before the
  // upgrade (typically Completed, its containers using the network) is therefore not counted, and another
  // attachment's detach removes the network it uses. Remove `.fails` once the store finds such rows.
  it.fails('finds an attachment stored before the lookup column existed', async () => {
    const name = freshTableName();
    const store = new TableStateStore(tableClientFrom(azurite.connectionString(), name));
    await stored(store, 'contoso', 'old-1', 'Completed');
    // The row as a version without detach wrote it: no containerNetworkKey column.
    const table = tableClientFrom(azurite.connectionString(), name);
    const entity = await table.getEntity<Record<string, unknown>>('contoso', 'old-1');
    const { containerNetworkKey: _key, etag: _etag, timestamp: _ts, ...legacy } = entity;
    await table.updateEntity({ ...legacy, partitionKey: 'contoso', rowKey: 'old-1' }, 'Replace');
    expect((await table.getEntity<Record<string, unknown>>('contoso', 'old-1')).containerNetworkKey).toBeUndefined();
    expect(ids(await store.listContainerNetworkUsers('ContainerHostVM1', 'MyContainerOverlayNetwork'))).toEqual([
      'contoso/old-1',
    ]);
  });
});

describe('listContainerHostUsers: every tenant’s attachments on one container host VM', () => {
  async function add(store: TableStateStore | InMemoryStateStore, tenantId: string, id: string, machine: string) {
    const request = acceptedSeedRequest({
      containerHost: { machineName: machine },
      network: { name: `net-${id}`, driver: 'l2bridge' },
    });
    await store.createAttachment(
      { ...newAttachmentRecord(tenantId, request, '2026-11-28T10:00:00.000Z'), attachmentId: id },
      [],
    );
  }

  it.each([
    ['the table store', () => new TableStateStore(tableClientFrom(azurite.connectionString(), freshTableName()))],
    ['the in-memory store', () => new InMemoryStateStore()],
  ])('%s finds them by machine name in any case, whatever the network, never Detached ones', async (_, make) => {
    const store = make();
    await add(store, 'contoso', 'a', 'ContainerHostVM1');
    await add(store, 'fabrikam', 'b', 'containerhostvm1');
    // Names that share the prefix, or sort right next to it, are other machines.
    await add(store, 'contoso', 'c', 'ContainerHostVM10');
    await add(store, 'contoso', 'd', 'ContainerHostVM1.lab');
    await add(store, 'contoso', 'e', 'ContainerHostVM');
    await add(store, 'contoso', 'f', 'ContainerHostVM1');
    await store.updateAttachment('contoso', 'f', (record) => ({ record: { ...record, runtimeStatus: 'Detached' } }));
    const users = await store.listContainerHostUsers('CONTAINERHOSTVM1');
    expect(users.map((u) => `${u.tenantId}/${u.attachmentId}`).sort()).toEqual(['contoso/a', 'fabrikam/b']);
    expect(await store.listContainerHostUsers('NoSuchVM')).toEqual([]);
  });
});
