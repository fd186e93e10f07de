import { setTimeout as sleep } from 'node:timers/promises';

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import type { AttachRequestInput } from '../../shared/model/attachRequest';
import { addresses, labOf, loadRaceNics } from './support/lab';
import { type ReliabilityStack, type RunnerHandle, startReliabilityStack } from './support/reliabilityStack';

/**
 * Races between attachments, within one host (the NIC write batcher) and between two hosts (two runner processes
 * on the same storage, as a scaled-out Function App): writes to one NIC must never lose an update, one address must
 * never go to two attachments, and one attachment submitted twice must run once.
 */
describe('races', () => {
  let stack: ReliabilityStack;
  const lab = labOf(() => stack);
  const { request, nic, nicWrites } = lab;
  // Two runners and a busy NIC make these slower than the other focused tests.
  const waitForEnd = (tenantId: string, attachmentId: string) => lab.waitForEnd(tenantId, attachmentId, 40_000);
  let one: RunnerHandle;
  let two: RunnerHandle;
  /**
   * NICs whose reads are held at a barrier: each read is made at once, but its answer waits until another read of
   * the same NIC has been made too (or 3 s have passed), so two readers hold the same version when they write. The
   * 3 s outlast the other runner's longest idle poll of its queue (host.json maxPollingInterval, 2 s).
   */
  const slowReads = new Set<string>();
  const heldReads = new Map<string, () => void>();
  const readBarrier = async (nicId: string) => {
    const waiting = heldReads.get(nicId);
    if (waiting) {
      heldReads.delete(nicId);
      waiting();
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        heldReads.delete(nicId);
        resolve();
      }, 3_000);
      heldReads.set(nicId, () => {
        clearTimeout(timer);
        resolve();
      });
    });
  };

  beforeAll(async () => {
    stack = await startReliabilityStack({
      env: { STEP_LEASE_MS: '5000' },
      ncProxy: ({ method, path }) => {
        const id = /\/networkInterfaces\/([^/]+)$/i.exec(path)?.[1];
        const nicId = id?.toLowerCase();
        return method === 'GET' && nicId && slowReads.has(nicId)
          ? { onForwarded: () => readBarrier(nicId) }
          : undefined;
      },
    });
    [one, two] = await Promise.all([stack.startRunner(), stack.startRunner()]);
  });
  afterAll(() => stack.stop());
  beforeEach(async () => {
    slowReads.clear();
    for (const release of heldReads.values()) release();
    heldReads.clear();
    await stack.ncAdmin('POST', '/_emulator/reset');
    await stack.ncAdmin('PUT', '/_emulator/settings', { cancelInProgressOnPut: false });
    await loadRaceNics(stack);
  });

  const submit = (tenantId: string, body: AttachRequestInput, via: RunnerHandle) =>
    stack.api('POST', `/tenants/${tenantId}/attachments`, body, via);

  /** Which runner ran step 1 of an attachment (from the runners' logs). */
  const stepOneRunner = (attachmentId: string) =>
    stack.output
      .filter((l) => l.includes(`/${attachmentId} addIpConfigurations delivery`) && /succeeded/.test(l))
      .map((l) => /^\[(runner-\d+)\]/.exec(l)?.[1])[0];

  it('two attachments adding different addresses to one NIC at the same moment both succeed (one host)', async () => {
    const [a, b] = await Promise.all([
      submit(
        'race-a',
        request('same-nic-a', { nic: { resourceId: 'RaceVM1_Net0' }, containerIps: { addresses: ['192.168.1.150'] } }),
        one,
      ),
      submit(
        'race-b',
        request('same-nic-b', { nic: { resourceId: 'RaceVM1_Net0' }, containerIps: { addresses: ['192.168.1.151'] } }),
        one,
      ),
    ]);
    expect([a.status, b.status]).toEqual([202, 202]);
    const docs = [await waitForEnd('race-a', 'same-nic-a'), await waitForEnd('race-b', 'same-nic-b')];
    expect(docs.map((d) => d.runtimeStatus)).toEqual(['Completed', 'Completed']);
    expect(addresses(await nic('RaceVM1_Net0')).sort()).toEqual(['192.168.1.150', '192.168.1.151', '192.168.1.240']);
  });

  it('two hosts adding different addresses to the same NICs at the same moment lose no update', async () => {
    // NIC reads held at a barrier keep both hosts inside read-merge-write together: the later PUT carries a stale
    // If-Match and must get 412 (or meet the running operation, 409), read again and merge, never overwrite.
    const nics = ['RaceVM1_Net0', 'RaceVM2_Net0', 'RaceVM3_Net0'];
    for (const id of nics) slowReads.add(id.toLowerCase());
    const pairs = nics.map((id, k) => ({
      id,
      a: `hosts-${k}-a`,
      b: `hosts-${k}-b`,
      ips: [`192.168.1.${160 + 2 * k}`, `192.168.1.${161 + 2 * k}`],
    }));
    await Promise.all(
      pairs.map(async (p) => {
        await submit(
          'race-a',
          request(p.a, { nic: { resourceId: p.id }, containerIps: { addresses: [p.ips[0]!] } }),
          one,
        );
        await sleep(150);
        await submit(
          'race-b',
          request(p.b, { nic: { resourceId: p.id }, containerIps: { addresses: [p.ips[1]!] } }),
          two,
        );
      }),
    );
    let crossHost = 0;
    let conflicts = 0;
    for (const p of pairs) {
      const docs = [await waitForEnd('race-a', p.a), await waitForEnd('race-b', p.b)];
      expect(docs.map((d) => `${d.id}: ${d.runtimeStatus} ${d.lastError?.code ?? ''}`)).toEqual([
        `${p.a}: Completed `,
        `${p.b}: Completed `,
      ]);
      const held = addresses(await nic(p.id));
      expect(held.filter((x) => p.ips.includes(x ?? '')).sort()).toEqual(p.ips);
      expect(new Set(held).size).toBe(held.length);
      if (stepOneRunner(p.a) !== stepOneRunner(p.b)) crossHost++;
      conflicts += (await nicWrites(p.id)).filter((r) => r.status === 412 || r.status === 409).length;
    }
    console.log(
      `two hosts: ${crossHost} of ${pairs.length} pairs ran on different hosts; ${conflicts} PUT(s) answered 412/409`,
    );
    expect(crossHost).toBeGreaterThan(0);
    // The race really happened: some write lost its If-Match and was merged again.
    expect(conflicts).toBeGreaterThan(0);
  });

  it('a newer PUT that cancels the running operation makes the earlier writer write again; both succeed', async () => {
    await stack.ncAdmin('PUT', '/_emulator/settings', { cancelInProgressOnPut: true, provisioningDelayInMs: 400 });
    try {
      await Promise.all([
        submit(
          'race-a',
          request('cancel-a', { nic: { resourceId: 'RaceVM2_Net0' }, containerIps: { addresses: ['192.168.1.170'] } }),
          one,
        ),
        (async () => {
          await sleep(250);
          await submit(
            'race-b',
            request('cancel-b', {
              nic: { resourceId: 'RaceVM2_Net0' },
              containerIps: { addresses: ['192.168.1.171'] },
            }),
            two,
          );
        })(),
      ]);
      const docs = [await waitForEnd('race-a', 'cancel-a'), await waitForEnd('race-b', 'cancel-b')];
      expect(docs.map((d) => d.runtimeStatus)).toEqual(['Completed', 'Completed']);
      const held = addresses(await nic('RaceVM2_Net0'));
      expect(held.sort()).toEqual(['192.168.1.170', '192.168.1.171', '192.168.1.241']);
      expect((await nic('RaceVM2_Net0')).properties.provisioningState).toBe('Succeeded');
      // The cancellation really happened, and the canceled writer wrote again.
      expect(
        stack.output.some((l) => /cancel-a addIpConfigurations .*canceled the write to NIC RaceVM2_Net0/.test(l)),
      ).toBe(true);
    } finally {
      await stack.ncAdmin('PUT', '/_emulator/settings', { cancelInProgressOnPut: false, provisioningDelayInMs: 100 });
    }
  });

  // A write refused with 409 AnotherOperationInProgress waits for the other writer's operation (bounded by time,
  // not by six polls), and running out of time is a retryable error, not a failed attachment.
  it('a NIC busy with another host’s operation longer than six polls: the later attachment waits, it does not fail', async () => {
    await stack.ncAdmin('PUT', '/_emulator/settings', { provisioningDelayInMs: 2_500 });
    try {
      await submit(
        'race-a',
        request('busy-nic-a', {
          nic: { resourceId: 'RaceVM3_Net0' },
          containerIps: { addresses: ['192.168.1.195'] },
        }),
        one,
      );
      for (let i = 0; i < 50 && (await nicWrites('RaceVM3_Net0')).filter((r) => r.status < 300).length === 0; i++)
        await sleep(50);
      await submit(
        'race-b',
        request('busy-nic-b', {
          nic: { resourceId: 'RaceVM3_Net0' },
          containerIps: { addresses: ['192.168.1.196'] },
        }),
        two,
      );
      const docs = [await waitForEnd('race-a', 'busy-nic-a'), await waitForEnd('race-b', 'busy-nic-b')];
      console.log(docs.map((d) => `${d.id}: ${d.runtimeStatus} ${d.lastError?.code ?? ''}`).join('; '));
      expect(docs.map((d) => d.runtimeStatus)).toEqual(['Completed', 'Completed']);
    } finally {
      await stack.ncAdmin('PUT', '/_emulator/settings', { provisioningDelayInMs: 100 });
    }
  });

  it('two tenants asking for the same address on two NICs: one succeeds, the other fails with PrivateIPAddressInUse', async () => {
    await Promise.all([
      submit(
        'tenant-x',
        request('same-ip-x', { nic: { resourceId: 'RaceVM1_Net0' }, containerIps: { addresses: ['192.168.1.180'] } }),
        one,
      ),
      submit(
        'tenant-y',
        request('same-ip-y', { nic: { resourceId: 'RaceVM2_Net0' }, containerIps: { addresses: ['192.168.1.180'] } }),
        two,
      ),
    ]);
    const docs = [await waitForEnd('tenant-x', 'same-ip-x'), await waitForEnd('tenant-y', 'same-ip-y')];
    const outcomes = docs.map((d) =>
      d.runtimeStatus === 'Completed' ? 'Completed' : `${d.runtimeStatus} ${d.currentStep} ${d.lastError?.code}`,
    );
    expect(outcomes.sort()).toEqual(['Completed', 'Failed addIpConfigurations PrivateIPAddressInUse']);
    const holders = [await nic('RaceVM1_Net0'), await nic('RaceVM2_Net0')].filter((n) =>
      addresses(n).includes('192.168.1.180'),
    );
    expect(holders.map((n) => n.resourceId)).toEqual([
      docs.find((d) => d.runtimeStatus === 'Completed')?.result.networkInterface?.resourceId,
    ]);
  });

  // Each IP configuration is tagged with the attachment that owns it, so an address on the NIC that another
  // attachment owns is a conflict, not "a re-run of my own addition".
  it('two tenants asking for the same address on the same NIC: one succeeds, the other fails with PrivateIPAddressInUse', async () => {
    await Promise.all([
      submit(
        'tenant-x',
        request('same-nic-ip-x', {
          nic: { resourceId: 'RaceVM3_Net0' },
          containerIps: { addresses: ['192.168.1.185'] },
        }),
        one,
      ),
      submit(
        'tenant-y',
        request('same-nic-ip-y', {
          nic: { resourceId: 'RaceVM3_Net0' },
          containerIps: { addresses: ['192.168.1.185'] },
        }),
        one,
      ),
    ]);
    const docs = [await waitForEnd('tenant-x', 'same-nic-ip-x'), await waitForEnd('tenant-y', 'same-nic-ip-y')];
    const outcomes = docs.map((d) =>
      d.runtimeStatus === 'Completed' ? 'Completed' : `${d.runtimeStatus} ${d.lastError?.code}`,
    );
    expect(outcomes.sort()).toEqual(['Completed', 'Failed PrivateIPAddressInUse']);
  });

  // Choices of free addresses are reserved in the process before the write, and ownership is checked on merge.
  it('two attachments asking for free addresses (count) on one NIC at once get distinct addresses', async () => {
    await Promise.all([
      submit(
        'race-a',
        request('count-same-a', { nic: { resourceId: 'RaceVM1_Net0' }, containerIps: { count: 2 } }),
        one,
      ),
      submit(
        'race-b',
        request('count-same-b', { nic: { resourceId: 'RaceVM1_Net0' }, containerIps: { count: 2 } }),
        one,
      ),
    ]);
    const docs = [await waitForEnd('race-a', 'count-same-a'), await waitForEnd('race-b', 'count-same-b')];
    expect(docs.map((d) => d.runtimeStatus)).toEqual(['Completed', 'Completed']);
    const taken = docs.flatMap((d) => (d.result.ipConfigurations ?? []).map((c) => c.privateIPAddress));
    expect(new Set(taken).size).toBe(4);
  });

  it('the same attachment submitted concurrently to two hosts and the entry queue runs once', async () => {
    const body = request('twice-at-once', {
      nic: { resourceId: 'RaceVM2_Net0' },
      containerIps: { addresses: ['192.168.1.190', '192.168.1.191'] },
    });
    const entry = stack.queues().getQueueClient('attach-requests');
    await entry.createIfNotExists();
    await stack.registerLabTenant('dup', body);
    const answers = await Promise.all([
      submit('dup', body, one),
      submit('dup', body, two),
      submit('dup', body, one),
      entry
        .sendMessage(Buffer.from(JSON.stringify({ tenantId: 'dup', ...body })).toString('base64'))
        .then(() => undefined),
    ]);
    const created = answers.flatMap((a) => (a ? [a.body.created] : []));
    expect(answers.flatMap((a) => (a ? [a.status] : []))).toEqual([202, 202, 202]);
    expect(created.filter((c) => c === true).length).toBeLessThanOrEqual(1);
    const doc = await waitForEnd('dup', 'twice-at-once');
    expect(doc.runtimeStatus).toBe('Completed');
    await sleep(1_000);
    const again = await waitForEnd('dup', 'twice-at-once');
    const types = (again.history ?? []).map((e) => `${e.type}${e.step ? ` ${e.step}` : ''}`);
    expect(types.filter((t) => t === 'Submitted')).toHaveLength(1);
    expect(types.filter((t) => t.startsWith('StepStarted'))).toHaveLength(4);
    expect(types.filter((t) => t === 'Completed')).toHaveLength(1);
    expect((await nicWrites('RaceVM2_Net0')).filter((r) => r.status < 300)).toHaveLength(1);
    const held = addresses(await nic('RaceVM2_Net0'));
    expect(held.filter((x) => x === '192.168.1.190' || x === '192.168.1.191')).toHaveLength(2);
  });
});
