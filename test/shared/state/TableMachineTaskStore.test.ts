import { describe, expect, it } from 'vitest';

import type { MachineTaskRecord } from '../../../shared/model/MachineTaskStore';
import { tableClientFrom } from '../../../shared/state/tableClient';
import { TableMachineTaskStore } from '../../../shared/state/TableMachineTaskStore';
import { useAzurite } from '../../support/azurite';

const MACHINE = {
  subscriptionId: '00000000-0000-0000-0000-000000000000',
  resourceGroup: 'sdn-lab',
  machineName: 'HV01',
};
const azurite = useAzurite();
let tableNumber = 0;

/** A store on a fresh table, its clock under the test's control, and the table reads it makes. */
function store() {
  tableNumber += 1;
  const table = tableClientFrom(azurite.connectionString(), `machinetasks${Date.now() % 100_000}x${tableNumber}`);
  const reads: string[] = [];
  table.pipeline.addPolicy({
    name: 'count',
    sendRequest: (request, next) => {
      if (request.method === 'GET') reads.push(request.url);
      return next(request);
    },
  });
  const clock = { nowInMs: 1_000_000 };
  return { tasks: new TableMachineTaskStore(table, () => clock.nowInMs), reads, clock };
}

const record = (status: MachineTaskRecord['status']): MachineTaskRecord => ({
  machine: MACHINE,
  task: 'enableNetworkProxy',
  subject: '',
  status,
  script: 'enable-network-proxy',
  scriptVersion: 1,
  inputHash: 'h',
  updatedTime: '2026-11-28T10:00:00.000Z',
});

describe('TableMachineTaskStore', () => {
  it('answers a reuse question from an Applied record it saw within the asked age, and reads otherwise', async () => {
    const { tasks, reads, clock } = store();
    const written = await tasks.putTask(record('Applied'), undefined);
    expect(written?.etag).toBeDefined();
    const before = reads.length;
    expect((await tasks.getTask(MACHINE, 'enableNetworkProxy', '', { appliedWithinInMs: 5_000 }))?.status).toBe(
      'Applied',
    );
    expect(reads.length).toBe(before);
    // Without the option, or once the record is older than asked, the row is read.
    await tasks.getTask(MACHINE, 'enableNetworkProxy', '');
    clock.nowInMs += 6_000;
    await tasks.getTask(MACHINE, 'enableNetworkProxy', '', { appliedWithinInMs: 5_000 });
    expect(reads.length).toBe(before + 2);
  });

  it.each([
    ['a Running record', 'Running'],
    ['a Failed record', 'Failed'],
  ] as const)('never answers from %s', async (_, status) => {
    const { tasks, reads } = store();
    const applied = await tasks.putTask(record('Applied'), undefined);
    await tasks.putTask(record(status), applied?.etag);
    const before = reads.length;
    expect((await tasks.getTask(MACHINE, 'enableNetworkProxy', '', { appliedWithinInMs: 5_000 }))?.status).toBe(status);
    expect(reads.length).toBe(before + 1);
  });

  it('forgets an Applied record when a write to it loses its etag check', async () => {
    const { tasks, reads } = store();
    const first = await tasks.putTask(record('Applied'), undefined);
    await tasks.putTask(record('Applied'), first?.etag);
    // A write from the stale version loses: someone else wrote since, so what this store saw is no longer sure.
    expect(await tasks.putTask(record('Running'), first?.etag)).toBeUndefined();
    const before = reads.length;
    await tasks.getTask(MACHINE, 'enableNetworkProxy', '', { appliedWithinInMs: 5_000 });
    expect(reads.length).toBe(before + 1);
  });

  describe('waiters', () => {
    const waiter = (attachmentId: string, recheck: number) => ({
      tenantId: 'contoso',
      attachmentId,
      step: 'enableNetworkProxy' as const,
      recheck,
    });

    it('keeps each parked step under its task only, oldest re-check first, and the task row untouched', async () => {
      const { tasks } = store();
      const running = await tasks.putTask(record('Running'), undefined);
      await tasks.addWaiter(MACHINE, 'enableNetworkProxy', '', waiter('a2', 3));
      await tasks.addWaiter(MACHINE, 'enableNetworkProxy', '', waiter('a1', 1));
      // Idempotent: the same waiter noted twice is one row.
      await tasks.addWaiter(MACHINE, 'enableNetworkProxy', '', waiter('a1', 1));
      // Another task on the same machine, and another subject of the same task, keep their own.
      await tasks.addWaiter(MACHINE, 'installPrivateCloudPlugin', '', waiter('a3', 1));
      await tasks.addWaiter(MACHINE, 'enableNetworkProxy', 'other', waiter('a4', 1));

      expect(await tasks.listWaiters(MACHINE, 'enableNetworkProxy', '')).toEqual([waiter('a1', 1), waiter('a2', 3)]);
      expect(await tasks.listWaiters(MACHINE, 'enableNetworkProxy', 'other')).toEqual([waiter('a4', 1)]);
      expect((await tasks.getTask(MACHINE, 'enableNetworkProxy', ''))?.etag).toBe(running?.etag);
    });

    it('removes the woken waiters, skipping rows already gone, and keeps one parked again meanwhile', async () => {
      const { tasks } = store();
      for (let i = 0; i < 120; i++) await tasks.addWaiter(MACHINE, 'enableNetworkProxy', '', waiter(`a${i}`, 1));
      const woken = await tasks.listWaiters(MACHINE, 'enableNetworkProxy', '');
      expect(woken).toHaveLength(120);
      // a0 parked again with its next re-check after the owner listed it; a1 was removed by another waker.
      await tasks.addWaiter(MACHINE, 'enableNetworkProxy', '', waiter('a0', 2));
      await tasks.removeWaiters(MACHINE, 'enableNetworkProxy', '', [waiter('a1', 1)]);

      await tasks.removeWaiters(MACHINE, 'enableNetworkProxy', '', woken);
      expect(await tasks.listWaiters(MACHINE, 'enableNetworkProxy', '')).toEqual([waiter('a0', 2)]);
    });
  });
});
