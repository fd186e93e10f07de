import { describe, expect, it } from 'vitest';

import type { MachineTaskRecord } from '../../../shared/state/MachineTaskStore';
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
});
