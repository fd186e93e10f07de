import { describe, expect, it } from 'vitest';

import type { MachineTaskRecord, MachineTaskStore, TaskWaiter } from '../../../shared/model/MachineTaskStore';
import { tableClientFrom } from '../../../shared/state/tableClient';
import { TableMachineTaskStore } from '../../../shared/state/TableMachineTaskStore';
import { useAzurite } from '../../support/azurite';
import { InMemoryMachineTaskStore } from '../../support/InMemoryMachineTaskStore';

/**
 * The contract every MachineTaskStore keeps, run against the table store and the in-memory one the fast machine-task
 * tests use, so the fake cannot drift from the real thing.
 */
const MACHINE = {
  subscriptionId: '00000000-0000-0000-0000-000000000000',
  resourceGroup: 'sdn-lab',
  machineName: 'HV01',
};
const azurite = useAzurite();
let tableNumber = 0;

const stores: [string, () => MachineTaskStore][] = [
  ['in memory', () => new InMemoryMachineTaskStore()],
  [
    'Azure Table',
    () => {
      tableNumber += 1;
      return new TableMachineTaskStore(
        tableClientFrom(azurite.connectionString(), `taskcontract${Date.now() % 100_000}x${tableNumber}`),
      );
    },
  ],
];

/**
 * The store, with a rival writer that changes the stored record (through `rival`) just before each of this store's
 * next `times` etag-guarded writes: the write then loses its etag check, as against another process.
 */
function withRival(
  tasks: MachineTaskStore,
  rival: (current: MachineTaskRecord) => MachineTaskRecord,
  times: number,
): MachineTaskStore {
  const put = tasks.putTask.bind(tasks);
  let left = times;
  tasks.putTask = async (next, expectedEtag) => {
    if (left > 0 && expectedEtag !== undefined) {
      left -= 1;
      const current = await tasks.getTask(next.machine, next.task, next.subject);
      await put(rival(current!), current?.etag);
    }
    return put(next, expectedEtag);
  };
  return tasks;
}

const record = (status: MachineTaskRecord['status'], subject = ''): MachineTaskRecord => ({
  machine: MACHINE,
  task: 'enableNetworkProxy',
  subject,
  status,
  script: 'enable-network-proxy',
  scriptVersion: 1,
  inputHash: 'h',
  updatedTime: '2026-11-28T10:00:00.000Z',
});

const waiter = (attachmentId: string, recheck: number): TaskWaiter => ({
  tenantId: 'contoso',
  attachmentId,
  step: 'enableNetworkProxy',
  recheck,
});

describe.each(stores)('MachineTaskStore contract (%s)', (_, newStore) => {
  it('creates only when none exists, and writes only over the etag it read', async () => {
    const tasks = newStore();
    expect(await tasks.getTask(MACHINE, 'enableNetworkProxy', '')).toBeUndefined();
    const first = await tasks.putTask(record('Running'), undefined);
    expect(first?.etag).toBeDefined();
    expect(await tasks.putTask(record('Running'), undefined)).toBeUndefined();
    const second = await tasks.putTask(record('Applied'), first?.etag);
    expect(second?.status).toBe('Applied');
    expect(await tasks.putTask(record('Failed'), first?.etag)).toBeUndefined();
    expect((await tasks.getTask(MACHINE, 'enableNetworkProxy', ''))?.status).toBe('Applied');
  });

  it('updateTask applies the change to what is stored, reading again after a lost race', async () => {
    const tasks = newStore();
    expect(
      (await tasks.updateTask(MACHINE, 'enableNetworkProxy', '', (current) => current ?? record('Running')))?.status,
    ).toBe('Running');
    let rounds = 0;
    // Another writer slips in on the first round only: the second round sees its write.
    const raced = withRival(tasks, (current) => ({ ...current, exitCode: 7 }), 1);
    const updated = await raced.updateTask(MACHINE, 'enableNetworkProxy', '', (current) => {
      rounds += 1;
      return { ...current!, status: 'Applied' };
    });
    expect(rounds).toBe(2);
    expect(updated).toMatchObject({ status: 'Applied', exitCode: 7 });
  });

  it('updateTask gives up after maxRounds lost races, writing nothing', async () => {
    const tasks = newStore();
    await tasks.putTask(record('Running'), undefined);
    const raced = withRival(tasks, (current) => ({ ...current, exitCode: (current.exitCode ?? 0) + 1 }), 2);
    const outcome = await raced.updateTask(
      MACHINE,
      'enableNetworkProxy',
      '',
      (current) => ({ ...current!, status: 'Failed' }),
      { maxRounds: 2 },
    );
    expect(outcome).toBeUndefined();
    expect((await tasks.getTask(MACHINE, 'enableNetworkProxy', ''))?.status).toBe('Running');
  });

  it('keeps waiters per task and subject, oldest re-check first, idempotently, and removes the woken ones', async () => {
    const tasks = newStore();
    await tasks.addWaiter(MACHINE, 'enableNetworkProxy', '', waiter('a2', 3));
    await tasks.addWaiter(MACHINE, 'enableNetworkProxy', '', waiter('a1', 1));
    await tasks.addWaiter(MACHINE, 'enableNetworkProxy', '', waiter('a1', 1));
    await tasks.addWaiter(MACHINE, 'installPrivateCloudPlugin', '', waiter('a3', 1));
    await tasks.addWaiter(MACHINE, 'enableNetworkProxy', 'other', waiter('a4', 1));
    const woken = await tasks.listWaiters(MACHINE, 'enableNetworkProxy', '');
    expect(woken).toEqual([waiter('a1', 1), waiter('a2', 3)]);
    await tasks.addWaiter(MACHINE, 'enableNetworkProxy', '', waiter('a1', 2));
    await tasks.removeWaiters(MACHINE, 'enableNetworkProxy', '', [...woken, waiter('gone', 1)]);
    expect(await tasks.listWaiters(MACHINE, 'enableNetworkProxy', '')).toEqual([waiter('a1', 2)]);
    expect(await tasks.listWaiters(MACHINE, 'enableNetworkProxy', 'other')).toEqual([waiter('a4', 1)]);
  });

  it('keeps the trace context a waiter parked with, so its wake-up continues its own trace', async () => {
    const tasks = newStore();
    const trace = { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', tracestate: 'rojo=1' };
    await tasks.addWaiter(MACHINE, 'enableNetworkProxy', '', { ...waiter('a1', 1), trace });
    await tasks.addWaiter(MACHINE, 'enableNetworkProxy', '', waiter('a2', 2));
    expect(await tasks.listWaiters(MACHINE, 'enableNetworkProxy', '')).toEqual([
      { ...waiter('a1', 1), trace },
      waiter('a2', 2),
    ]);
  });
});
