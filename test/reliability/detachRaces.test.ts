import { setTimeout as sleep } from 'node:timers/promises';

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import type { AttachRequestInput } from '../../shared/model/attachRequest';
import { ownershipProblems, type StatusDocument } from './support/invariants';
import { addresses, expectCompleted, expectDetached, labOf, loadRaceNics, RACE_NICS } from './support/lab';
import { type ReliabilityStack, type RunnerHandle, startReliabilityStack } from './support/reliabilityStack';
import { requestDetach } from './support/workload';

const VM = 'ContainerHostVM1';

/**
 * Races between a detach and other attachments, within one host (the NIC writer's group commit) and between two
 * hosts (two runner processes on the same storage): a release and an addition on one NIC at the same moment, a
 * release while another attachment's step-1 operation runs on the NIC, and two detaches of one shared Docker network.
 * Each test checks the ownership properties (support/invariants.ts) over its own attachments: nothing of a Detached
 * attachment left, every address of a Completed one in place and tagged for it, and a network on the VM iff an
 * attachment that reached step 4 still holds it.
 */
describe('detach races', () => {
  let stack: ReliabilityStack;
  const lab = labOf(() => stack);
  const { request, nic, nicWrites, machine } = lab;
  // Two runners and a busy NIC make these slower than the other focused tests.
  const waitForEnd = (tenantId: string, attachmentId: string) => lab.waitForEnd(tenantId, attachmentId, 40_000);
  let one: RunnerHandle;
  let two: RunnerHandle;
  /** NICs whose reads reach the app late (read at once, answered 600 ms later): a stale read when it arrives. */
  const slowReads = new Set<string>();

  beforeAll(async () => {
    stack = await startReliabilityStack({
      env: { STEP_LEASE_MS: '5000' },
      ncProxy: ({ method, path }) => {
        const id = /\/networkInterfaces\/([^/]+)$/i.exec(path)?.[1];
        return method === 'GET' && id && slowReads.has(id.toLowerCase()) ? { answerDelayInMs: 600 } : undefined;
      },
    });
    [one, two] = await Promise.all([stack.startRunner(), stack.startRunner()]);
  });
  afterAll(() => stack.stop());
  // Only the controller starts afresh: the machines' task records outlive a test, so the ARM emulator keeps its
  // state too, and each test uses Docker networks of its own.
  beforeEach(async () => {
    slowReads.clear();
    await stack.ncAdmin('POST', '/_emulator/reset');
    await stack.ncAdmin('PUT', '/_emulator/settings', { cancelInProgressOnPut: false, provisioningDelayInMs: 100 });
    await loadRaceNics(stack);
  });

  interface Attachment {
    tenantId: string;
    attachmentId: string;
    request: AttachRequestInput;
  }
  const attachment = (
    tenantId: string,
    attachmentId: string,
    nicId: string,
    ips: string[],
    network: string,
    overrides: Partial<AttachRequestInput> = {},
  ): Attachment => ({
    tenantId,
    attachmentId,
    request: request(attachmentId, {
      nic: { resourceId: nicId },
      containerIps: { addresses: ips },
      network: { name: network, driver: 'l2bridge' },
      ...overrides,
    }),
  });
  async function submit(a: Attachment, via: RunnerHandle): Promise<void> {
    const answer = await stack.api('POST', `/tenants/${a.tenantId}/attachments`, a.request, via);
    expect(answer.status).toBe(202);
  }
  async function attach(a: Attachment, via: RunnerHandle): Promise<StatusDocument> {
    await submit(a, via);
    const doc = await waitForEnd(a.tenantId, a.attachmentId);
    expectCompleted(doc);
    return doc;
  }
  /** The ownership properties over these attachments, as they stand now. */
  async function ownership(attachments: Attachment[]): Promise<string[]> {
    const entries = await Promise.all(
      attachments.map(async (a) => ({ ...a, doc: await waitForEnd(a.tenantId, a.attachmentId) })),
    );
    return ownershipProblems(stack, entries);
  }
  /** Waits until the controller has accepted a PUT to the NIC since its request log was cleared. */
  async function nicWriteAccepted(nicId: string): Promise<void> {
    for (let i = 0; i < 100 && (await nicWrites(nicId)).filter((r) => r.status < 300).length === 0; i++)
      await sleep(50);
  }
  /** The address a race NIC is loaded with. */
  const seededAddress = (nicId: string) => `192.168.1.${240 + RACE_NICS.findIndex((n) => n === nicId)}`;
  const runsOf = async (script: string, network: string) =>
    (await machine(VM)).scriptRuns.filter((r) => r.script === script && r.parameters.NetworkName === network).length;

  it('a detach and an attach on one NIC at the same moment (two hosts): one releases, the other adds, no update lost', async () => {
    // One network for all: it stays while the new attachments use it, so each release starts at once.
    const pairs = RACE_NICS.map((id, k) => ({
      id,
      old: attachment(
        'race-old',
        `swap-${k}-old`,
        id,
        [`192.168.1.${150 + 4 * k}`, `192.168.1.${151 + 4 * k}`],
        'SwapNet',
      ),
      fresh: attachment(
        'race-new',
        `swap-${k}-new`,
        id,
        [`192.168.1.${152 + 4 * k}`, `192.168.1.${153 + 4 * k}`],
        'SwapNet',
      ),
    }));
    await Promise.all(pairs.map((p) => attach(p.old, one)));
    // NIC reads answered late keep the release and the addition inside read-merge-write together: the later PUT
    // carries a stale If-Match and must get 412 (or meet the running operation, 409), read again and merge.
    for (const id of RACE_NICS) slowReads.add(id.toLowerCase());
    await Promise.all(
      pairs.map(async (p, k) => {
        await Promise.all([requestDetach(stack, p.old, one), sleep(100 * k).then(() => submit(p.fresh, two))]);
      }),
    );
    let conflicts = 0;
    for (const p of pairs) {
      expectDetached(await waitForEnd(p.old.tenantId, p.old.attachmentId));
      expectCompleted(await waitForEnd(p.fresh.tenantId, p.fresh.attachmentId));
      const held = addresses(await nic(p.id)).sort();
      expect(held).toEqual([...(p.fresh.request.containerIps.addresses ?? []), seededAddress(p.id)].sort());
      conflicts += (await nicWrites(p.id)).filter((r) => r.status === 412 || r.status === 409).length;
    }
    expect(await ownership(pairs.flatMap((p) => [p.old, p.fresh]))).toEqual([]);
    console.log(`detach and attach at once: ${conflicts} NIC PUT(s) answered 412/409`);
    // The race really happened: some write lost its If-Match (or met the other's operation) and was merged again.
    expect(conflicts).toBeGreaterThan(0);
  });

  // Whichever host takes the release from the queue: the one following the operation holds the release back until
  // the operation ends (group commit), another one meets it (409) and waits for it; neither may fail or lose a write.
  it('a detach asked for while another attachment’s step-1 operation runs on the NIC waits for it', async () => {
    const cases = [
      { id: 'RaceVM2_Net0', k: 0 },
      { id: 'RaceVM3_Net0', k: 1 },
    ].map(({ id, k }) => ({
      id,
      old: attachment(
        'race-old',
        `busy-${k}-old`,
        id,
        [`192.168.1.${170 + 4 * k}`, `192.168.1.${171 + 4 * k}`],
        'BusyNet',
      ),
      fresh: attachment(
        'race-new',
        `busy-${k}-new`,
        id,
        [`192.168.1.${172 + 4 * k}`, `192.168.1.${173 + 4 * k}`],
        'BusyNet',
      ),
    }));
    await Promise.all(cases.map((c) => attach(c.old, one)));
    await stack.ncAdmin('DELETE', '/_emulator/requests');
    await stack.ncAdmin('PUT', '/_emulator/settings', { provisioningDelayInMs: 2_500 });
    await Promise.all(
      cases.map(async (c) => {
        await submit(c.fresh, one);
        await nicWriteAccepted(c.id);
        // Step 1's operation now runs for 2.5 s; the release is asked for in the middle of it.
        await requestDetach(stack, c.old, two);
      }),
    );
    for (const c of cases) {
      expectDetached(await waitForEnd(c.old.tenantId, c.old.attachmentId));
      expectCompleted(await waitForEnd(c.fresh.tenantId, c.fresh.attachmentId));
      const n = await nic(c.id);
      expect(addresses(n).sort()).toEqual(
        [...(c.fresh.request.containerIps.addresses ?? []), seededAddress(c.id)].sort(),
      );
      expect(n.properties.provisioningState).toBe('Succeeded');
    }
    const busy = (await Promise.all(cases.map((c) => nicWrites(c.id)))).flat().filter((r) => r.status === 409);
    console.log(`release during step 1: ${busy.length} NIC PUT(s) met the running operation (409)`);
    expect(await ownership(cases.flatMap((c) => [c.old, c.fresh]))).toEqual([]);
  });

  it('two attachments sharing a network detached at the same moment (two hosts): the network is removed once', async () => {
    const twins = [
      attachment('race-a', 'twin-a', 'RaceVM1_Net0', ['192.168.1.180'], 'TwinNet'),
      attachment('race-b', 'twin-b', 'RaceVM2_Net0', ['192.168.1.181'], 'TwinNet'),
    ];
    await Promise.all([attach(twins[0]!, one), attach(twins[1]!, two)]);
    expect(await runsOf('ensure-container-network', 'TwinNet')).toBe(1);
    await Promise.all([requestDetach(stack, twins[0]!, one), requestDetach(stack, twins[1]!, two)]);
    const docs = [await waitForEnd('race-a', 'twin-a'), await waitForEnd('race-b', 'twin-b')];
    for (const doc of docs) expectDetached(doc);
    console.log(
      `two detaches of one network: ${docs.map((d) => JSON.stringify(d.detachSteps?.[0]?.detail)).join('; ')}`,
    );
    expect((await machine(VM)).dockerNetworks.map((n) => n.name)).not.toContain('TwinNet');
    expect(await runsOf('remove-container-network', 'TwinNet')).toBe(1);
    expect(await ownership(twins)).toEqual([]);
  });

  // The last user of a network detaches while another attachment of the network, asked to detach while still
  // attaching, has not reached step 4: cancellation takes effect at the next step boundary, so that one will never
  // use the network, and must not keep it.
  it('a network’s last user detaches while another, asked to detach before its step 4, still attaches: the network goes', async () => {
    const last = attachment('race-a', 'cancel-last', 'RaceVM1_Net0', ['192.168.1.190'], 'CancelNet');
    const leaving = attachment('race-b', 'cancel-leaving', 'RaceVM2_Net0', ['192.168.1.191'], 'CancelNet');
    await attach(last, one);
    await stack.ncAdmin('DELETE', '/_emulator/requests');
    await stack.ncAdmin('PUT', '/_emulator/settings', { provisioningDelayInMs: 3_000 });
    await submit(leaving, two);
    await nicWriteAccepted('RaceVM2_Net0');
    // Still at step 1 for 3 s: canceled when it reaches step 2, then it detaches.
    await requestDetach(stack, leaving, two);
    await requestDetach(stack, last, one);
    expectDetached(await waitForEnd('race-a', 'cancel-last'));
    const left = await waitForEnd('race-b', 'cancel-leaving');
    expectDetached(left);
    expect(left.steps.map((s) => s.status)).toEqual(['Succeeded', 'Canceled', 'Pending', 'Pending']);
    expect((await machine(VM)).dockerNetworks.map((n) => n.name)).not.toContain('CancelNet');
    expect(await ownership([last, leaving])).toEqual([]);
  });

  // The last user of a network detaches while another attachment of the network is still attaching (before its
  // step 4): that one counts as a user, so the network is kept for it. It then fails for good before step 4, and its
  // own detach is the last one out: it removes the network though it never reached step 4 itself.
  it('a network’s last user detaches while another still attaches and then fails before step 4: the network goes', async () => {
    const last = attachment('race-a', 'orphan-last', 'RaceVM1_Net0', ['192.168.1.195'], 'OrphanNet');
    const failing = attachment('race-b', 'orphan-failing', 'RaceVM2_Net0', ['192.168.1.196'], 'OrphanNet');
    await attach(last, one);
    await stack.ncAdmin('DELETE', '/_emulator/requests');
    // The failing one's NIC write is accepted, then its operation fails for good after 3 s of provisioning.
    await stack.ncAdmin('PUT', '/_emulator/settings', { provisioningDelayInMs: 3_000 });
    await stack.ncAdmin('POST', '/_emulator/faults', {
      method: 'PUT',
      path: '^/networkInterfaces/RaceVM2_Net0$',
      operation: { status: 'Failed', error: { code: 'PortProfileRejected', message: 'Rejected (injected).' } },
    });
    await submit(failing, two);
    await nicWriteAccepted('RaceVM2_Net0');
    // Still at step 1, and not asked to stop: it counts as a user of the network.
    await requestDetach(stack, last, one);
    const lastDoc = await waitForEnd('race-a', 'orphan-last');
    expectDetached(lastDoc);
    expect(lastDoc.detachSteps?.[0]?.detail).toMatchObject({ removed: false });
    const failed = await waitForEnd('race-b', 'orphan-failing');
    expect(`${failed.runtimeStatus} ${failed.currentStep} ${failed.lastError?.code}`).toBe(
      'Failed addIpConfigurations PortProfileRejected',
    );
    expect((await machine(VM)).dockerNetworks.map((n) => n.name)).toContain('OrphanNet');
    // Its detach is the last one out of the network, and takes it away (the controller takes writes again).
    await stack.ncAdmin('DELETE', '/_emulator/faults');
    await requestDetach(stack, failing, two);
    const failingDoc = await waitForEnd('race-b', 'orphan-failing');
    expectDetached(failingDoc);
    expect(failingDoc.detachSteps?.[0]?.detail).toMatchObject({ removed: true });
    expect((await machine(VM)).dockerNetworks.map((n) => n.name)).not.toContain('OrphanNet');
    expect(await ownership([last, failing])).toEqual([]);
  });
});
