import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { isKnownError } from '../../../shared/errors';
import { stableUuid } from '../../../shared/ids';
import type { AttachRequestInput } from '../../../shared/model/attachRequest';
import { NetworkControllerClient } from '../../../shared/networkController/NetworkControllerClient';
import { NicDirectory } from '../../../shared/networkController/NicDirectory';
import { OWNER_TAG, ownerOf, writableNic } from '../../../shared/networkController/nicMerge';
import { NicUpdateBatcher } from '../../../shared/networkController/NicUpdateBatcher';
import {
  addIpConfigurations,
  type AddIpConfigurationsCheckpoint,
  type AddIpConfigurationsDeps,
} from '../../../shared/workflow/addIpConfigurations';
import type { StepOutcome, StepRunContext } from '../../../shared/workflow/stepTypes';
import { tenantGuard } from '../../../shared/workflow/tenantGuard';
import { InMemoryTenantStore } from '../../support/InMemoryTenantStore';
import { startTestNetworkController } from '../../support/ncEmulator';
import { acceptedSeedRequest } from '../../support/seed';
import { exampleTenant, LAB_DEFAULTS } from '../../support/tenants';

const NIC1 = 'ContainerHostVM1_Net0';
const NIC2 = 'ContainerHostVM2_Net0';
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Step 1 as one process runs it: one client, one NIC directory and one batcher shared by every attachment. */
describe('addIpConfigurations against the Network Controller emulator', () => {
  let nc: Awaited<ReturnType<typeof startTestNetworkController>>;
  let deps: AddIpConfigurationsDeps;
  let client: NetworkControllerClient;

  beforeAll(async () => {
    nc = await startTestNetworkController({ provisioningDelayInMs: 30 });
  });
  afterAll(() => nc.close());
  beforeEach(async () => {
    await nc.admin('POST', '/_emulator/reset');
    await nc.admin('DELETE', '/_emulator/faults');
    await nc.admin('DELETE', '/_emulator/requests');
    client = new NetworkControllerClient(nc.baseUrl, { tls: { caCertPem: nc.ca.caCertPem }, retryDelayInMs: 10 });
    deps = {
      networkController: client,
      directory: new NicDirectory(client, { maxAgeInMs: 10_000 }),
      writer: new NicUpdateBatcher(client, { windowInMs: 20, pollIntervalInMs: 20, stableUuid, sleep }),
      // Every tenant here may use contoso's network and machines; the boundary has tests of its own.
      authorize: tenantGuard(new InMemoryTenantStore({ lab: () => exampleTenant('contoso') }), LAB_DEFAULTS),
      pollIntervalInMs: 20,
      operationTimeoutInMs: 10_000,
    };
  });

  /** One attachment's deliveries: the checkpoint survives between them as the state row would keep it. */
  function attachment(attachmentId: string, overrides: Partial<AttachRequestInput> = {}, tenantId = 'contoso') {
    const saved: { checkpoint?: AddIpConfigurationsCheckpoint; writes: number } = { writes: 0 };
    const deliver = async (): Promise<StepOutcome<AddIpConfigurationsCheckpoint>> => {
      const run: StepRunContext<AddIpConfigurationsCheckpoint> = {
        tenantId,
        attachmentId,
        request: acceptedSeedRequest({ attachmentId, ...overrides }),
        attempt: 1,
        result: {},
        ...(saved.checkpoint ? { checkpoint: saved.checkpoint } : {}),
        saveCheckpoint: (checkpoint) => {
          saved.checkpoint = checkpoint;
          saved.writes++;
          return Promise.resolve();
        },
        inlineWaitInMs: 5_000,
        options: {},
        nowInMs: () => Date.now(),
        sleep,
        log: () => undefined,
      };
      return addIpConfigurations(deps, run);
    };
    /** Delivers until the step ends, as the executor would, and returns the outcome or the last error. */
    const untilDone = async (maxDeliveries = 5) => {
      let last: unknown;
      for (let i = 0; i < maxDeliveries; i++) {
        try {
          const outcome = await deliver();
          if (outcome.kind === 'succeeded') return outcome;
          saved.checkpoint = outcome.checkpoint;
        } catch (error) {
          last = error;
          if (!isKnownError(error) || !error.retryable) throw error;
        }
      }
      throw last;
    };
    return { saved, deliver, untilDone };
  }

  const nic = async (id: string) => (await client.getNetworkInterface(id)).value;
  const taken = (outcome: StepOutcome<AddIpConfigurationsCheckpoint>) =>
    outcome.kind === 'succeeded' ? (outcome.result.ipConfigurations ?? []).map((c) => c.privateIPAddress) : [];

  it('adds the addresses to the NIC, each tagged with the attachment that owns it', async () => {
    const outcome = await attachment('seed-1').untilDone();
    expect(taken(outcome)).toHaveLength(10);
    const added = (await nic(NIC1)).properties.ipConfigurations.filter((c) => c.resourceId.startsWith('IP_'));
    expect(added.map((c) => c.tags?.[OWNER_TAG])).toEqual(Array(10).fill(ownerOf('contoso', 'seed-1')));
  });

  it.each([
    [
      'named addresses need no state write: a redelivery finds them on the NIC as ours',
      { range: { first: '192.168.1.120', last: '192.168.1.121' } },
      0,
    ],
    ['free addresses are stored before the write, so a redelivery reuses them', { count: 2 }, 1],
  ] as const)('%s', async (_, containerIps, stateWrites) => {
    const a = attachment('crash-after-put', { containerIps });
    const first = taken(await a.untilDone());
    expect(a.saved.writes).toBe(stateWrites);
    // The invocation died after the write, before its outcome was stored: the redelivery starts from what was saved.
    const again = taken(await a.untilDone());
    expect(again).toEqual(first);
    const puts = ((await nc.admin('GET', '/_emulator/requests')) as { method: string; status: number }[]).filter(
      (r) => r.method === 'PUT' && r.status < 300,
    );
    expect(puts).toHaveLength(1);
  });

  it('writes the NIC again when the controller’s operation ended Failed with RetryableError', async () => {
    await nc.admin('POST', '/_emulator/faults', {
      method: 'PUT',
      path: '^/networkInterfaces/[^/]+$',
      times: 1,
      operation: { status: 'Failed', error: { code: 'RetryableError', message: 'Transient host failure.' } },
    });
    const a = attachment('op-fail', { containerIps: { addresses: ['192.168.1.141'] } });
    const first = await a.deliver().catch((error: unknown) => error);
    expect(first).toMatchObject({ code: 'RetryableError', retryable: true });
    // The spent operation is forgotten, so the next delivery writes instead of reading the failure back.
    expect(a.saved.checkpoint?.operation).toBeUndefined();
    expect(a.saved.checkpoint?.addresses).toEqual(['192.168.1.141']);
    expect(taken(await a.untilDone())).toEqual(['192.168.1.141']);
    expect((await nic(NIC1)).properties.provisioningState).toBe('Succeeded');
    const puts = ((await nc.admin('GET', '/_emulator/requests')) as { method: string; status: number }[]).filter(
      (r) => r.method === 'PUT' && r.status < 300,
    );
    expect(puts).toHaveLength(2);
  });

  it('chooses again when an earlier delivery cleared its checkpoint (an empty checkpoint is no choice)', async () => {
    const a = attachment('cleared', { containerIps: { count: 2 } });
    a.saved.checkpoint = {} as AddIpConfigurationsCheckpoint;
    expect(taken(await a.untilDone())).toEqual(['192.168.1.2', '192.168.1.3']);
  });

  it('gives attachments choosing free addresses at the same moment distinct ones, on one NIC or two', async () => {
    const outcomes = await Promise.all([
      attachment('count-a', { containerIps: { count: 2 } }).untilDone(),
      attachment('count-b', { containerIps: { count: 2 } }).untilDone(),
      attachment('count-c', {
        nic: { resourceId: NIC2 },
        containerHost: { machineName: 'ContainerHostVM2' },
        containerIps: { count: 2 },
      }).untilDone(),
    ]);
    const all = outcomes.flatMap(taken);
    expect(new Set(all).size).toBe(6);
  });

  it.each([
    ['at once (one batched write)', true],
    ['one after the other', false],
  ])('refuses an address another attachment took on the same NIC, %s', async (_, together) => {
    const first = attachment('same-x', { containerIps: { addresses: ['192.168.1.185'] } }, 'tenant-x');
    const second = attachment('same-y', { containerIps: { addresses: ['192.168.1.185'] } }, 'tenant-y');
    const settle = (p: Promise<unknown>) =>
      p.then(
        () => 'Succeeded',
        (error: unknown) => (isKnownError(error) ? `${error.code} retryable=${error.retryable}` : String(error)),
      );
    const outcomes = together
      ? await Promise.all([settle(first.untilDone()), settle(second.untilDone())])
      : [await settle(first.untilDone()), await settle(second.untilDone())];
    const winner = outcomes[0] === 'Succeeded' ? first : second;
    expect([...outcomes].sort()).toEqual(['PrivateIPAddressInUse retryable=false', 'Succeeded']);
    // A re-run of the winner is still its own.
    expect(await settle(winner.deliver())).toBe('Succeeded');
  });

  it('adopts an address already on the NIC with no owner, and then refuses it to others', async () => {
    await attachment('by-hand', { containerIps: { addresses: ['192.168.1.150'] } }).untilDone();
    // Strip the tag, as if the configuration had been added by hand.
    const current = await client.getNetworkInterface(NIC1);
    const body = writableNic(current.value);
    for (const ipc of body.properties.ipConfigurations) delete ipc.tags;
    const put = await client.putNetworkInterface(NIC1, body, { ifMatch: current.etag });
    if (put.operationUrl) await sleep(100);
    const adopter = attachment('adopter', { containerIps: { addresses: ['192.168.1.150'] } });
    expect(taken(await adopter.untilDone())).toEqual(['192.168.1.150']);
    const ipc = (await nic(NIC1)).properties.ipConfigurations.find((c) => c.resourceId === 'IP_192_168_1_150');
    expect(ipc?.tags?.[OWNER_TAG]).toBe(ownerOf('contoso', 'adopter'));
    await expect(
      attachment('late', { containerIps: { addresses: ['192.168.1.150'] } }).untilDone(),
    ).rejects.toMatchObject({ code: 'PrivateIPAddressInUse' });
  });
});
