import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { isKnownError, StepError } from '../../../shared/errors';
import { stableUuid } from '../../../shared/ids';
import type { AttachRequestInput } from '../../../shared/model/attachRequest';
import { withAllSteps } from '../../../shared/model/records';
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
      // The look ahead at the machines has tests of its own.
      preflight: () => Promise.resolve({}),
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
        steps: withAllSteps({}),
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

  it('writes nothing when the look ahead at the machines refuses the request', async () => {
    const before = await nic(NIC1);
    deps.preflight = () =>
      Promise.reject(new StepError('containerHost (Typo): not found', { code: 'ResourceNotFound', retryable: false }));
    await expect(attachment('look-ahead').deliver()).rejects.toMatchObject({ code: 'ResourceNotFound' });
    expect((await nic(NIC1)).etag).toBe(before.etag);
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

  describe('reads only the request’s virtual network', () => {
    interface LoggedRequest {
      method: string;
      path: string;
      status: number;
      ifMatch: string | null;
    }
    const requests = async () => (await nc.admin('GET', '/_emulator/requests')) as LoggedRequest[];
    const SUBNET1 = '/virtualNetworks/VNet1/subnets/Subnet1';
    /** A NIC put in place by another writer (another process, or a person), through the controller's API. */
    const putByOther = async (nicId: string, ipConfigurations: object[]) => {
      await client.putNetworkInterface(nicId, {
        resourceId: nicId,
        properties: { privateMacAllocationMethod: 'Dynamic', ipConfigurations },
      } as never);
      // Past the emulator's provisioning delay: the NIC is Succeeded before the attachment reads it.
      await sleep(60);
    };
    const onSubnet1 = (resourceId: string, address: string, owner?: string) => ({
      resourceId,
      ...(owner === undefined ? {} : { tags: { [OWNER_TAG]: owner } }),
      properties: {
        privateIPAddress: address,
        privateIPAllocationMethod: 'Static',
        subnet: { resourceRef: SUBNET1 },
      },
    });

    it('never lists the controller’s NICs, and reads no NIC of another network, however many there are', async () => {
      // 300 NICs of other tenants, on 30 virtual networks that reuse VNet1's addresses.
      const resources = Array.from({ length: 30 }, (_, v) => [
        {
          resourceRef: `/virtualNetworks/Other${v}`,
          body: {
            properties: { subnets: [{ resourceId: 'Subnet1', properties: { addressPrefix: '192.168.1.0/24' } }] },
          },
        },
        ...Array.from({ length: 10 }, (_, n) => ({
          resourceRef: `/networkInterfaces/Other${v}_VM${n}`,
          body: {
            properties: {
              privateMacAllocationMethod: 'Dynamic',
              ipConfigurations: [
                {
                  resourceId: 'IP0',
                  properties: {
                    privateIPAddress: `192.168.1.${101 + n}`,
                    privateIPAllocationMethod: 'Static',
                    subnet: { resourceRef: `/virtualNetworks/Other${v}/subnets/Subnet1` },
                  },
                },
              ],
            },
          },
        })),
      ]).flat();
      await nc.admin('POST', '/_emulator/resources', { resources });
      await nc.admin('DELETE', '/_emulator/requests');

      expect(taken(await attachment('cold').untilDone())).toHaveLength(10);
      const log = await requests();
      expect(log.filter((r) => /\/networkInterfaces\/?$/i.test(r.path))).toEqual([]);
      expect(log.filter((r) => /\/networkInterfaces\/Other/i.test(r.path))).toEqual([]);
      // VNet1's subnets once, then VNet1's three NICs once each (and the written one again around its write).
      expect(log.filter((r) => /\/virtualNetworks\/VNet1\/subnets$/i.test(r.path))).toHaveLength(1);
      const nicReads = new Set(
        log.filter((r) => r.method === 'GET' && /networkInterfaces/i.test(r.path)).map((r) => r.path),
      );
      expect([...nicReads].map((p) => p.split('/').pop()).sort()).toEqual([NIC1, NIC2, 'TenantVM3_Net0']);
    });

    it('reads no ACL the subnet already names (its back-references span tenants); reads another, and refuses a missing one', async () => {
      expect(taken(await attachment('subnet-acl', { containerIps: { count: 1 } }).untilDone())).toHaveLength(1);
      expect((await requests()).filter((r) => /accessControlLists/i.test(r.path))).toEqual([]);
      const before = await nic(NIC1);
      await expect(
        attachment('no-acl', { accessControlListId: 'NoSuchAcl', containerIps: { count: 1 } }).deliver(),
      ).rejects.toMatchObject({ code: 'NotFound', statusCode: 404 });
      expect((await requests()).filter((r) => /accessControlLists\/NoSuchAcl$/i.test(r.path))).toHaveLength(1);
      expect((await nic(NIC1)).etag).toBe(before.etag);
    });

    it('finds by resourceId a NIC that joined the network after the network was read, with one direct read', async () => {
      await attachment('warm', { containerIps: { addresses: ['192.168.1.140'] } }).untilDone();
      await putByOther('Joined_Net0', [onSubnet1('Joined_IP0', '192.168.1.60')]);
      await nc.admin('DELETE', '/_emulator/requests');
      const joined = attachment('joined', {
        nic: { resourceId: 'Joined_Net0' },
        containerIps: { addresses: ['192.168.1.141'] },
      });
      expect(taken(await joined.untilDone())).toEqual(['192.168.1.141']);
      // The cached network was not read again: the named NIC was read on its own.
      expect((await requests()).filter((r) => /subnets$/i.test(r.path))).toEqual([]);
      expect((await nic('Joined_Net0')).properties.ipConfigurations.map((c) => c.resourceId)).toEqual([
        'Joined_IP0',
        'IP_192_168_1_141',
      ]);
    });

    it('refuses a named NIC with no configuration on any network as not the tenant’s, not as missing', async () => {
      await putByOther('Bare_Net0', []);
      await expect(
        attachment('bare', { nic: { resourceId: 'Bare_Net0' }, containerIps: { count: 1 } }).deliver(),
      ).rejects.toMatchObject({ code: 'NicNotInTenantNetwork', retryable: false });
      await expect(
        attachment('missing', { nic: { resourceId: 'Missing_Net0' }, containerIps: { count: 1 } }).deliver(),
      ).rejects.toMatchObject({ code: 'NotFound', retryable: false });
      expect((await requests()).filter((r) => r.method === 'PUT' && r.path.includes('Bare'))).toHaveLength(1);
    });

    it('finds by the VM’s address a NIC that joined after the network was read, by reading the network again', async () => {
      await attachment('warm', { containerIps: { addresses: ['192.168.1.140'] } }).untilDone();
      await putByOther('Joined_Net0', [onSubnet1('Joined_IP0', '192.168.1.61')]);
      await nc.admin('DELETE', '/_emulator/requests');
      const byAddress = attachment('by-address', {
        nic: { privateIpAddress: '192.168.1.61' },
        containerIps: { addresses: ['192.168.1.142'] },
      });
      expect(taken(await byAddress.untilDone())).toEqual(['192.168.1.142']);
      expect((await requests()).filter((r) => /\/virtualNetworks\/VNet1\/subnets$/i.test(r.path))).toHaveLength(1);
    });

    it.each([
      ['on the same NIC', NIC1],
      ['on another NIC of the network', NIC2],
    ])(
      'a cached read gone stale (another process took the next free address %s): the write is refused, the network read again, another address chosen',
      async (_, holder) => {
        // Warms the view: VNet1's lowest free address is 192.168.1.2.
        expect(taken(await attachment('first', { containerIps: { count: 1 } }).untilDone())).toEqual(['192.168.1.2']);
        const before = await client.getNetworkInterface(holder);
        const body = writableNic(before.value);
        body.properties.ipConfigurations.push(onSubnet1('IP_192_168_1_3', '192.168.1.3', ownerOf('contoso', 'other')));
        await client.putNetworkInterface(holder, body, { ifMatch: before.etag });
        await sleep(60);
        await nc.admin('DELETE', '/_emulator/requests');
        const late = attachment('late', { containerIps: { count: 1 } });
        expect(taken(await late.untilDone())).toEqual(['192.168.1.4']);
        const log = await requests();
        // The network was read again after the refusal, and no write used the stale etag of the cached read.
        expect(log.filter((r) => /\/virtualNetworks\/VNet1\/subnets$/i.test(r.path))).toHaveLength(1);
        const puts = log.filter((r) => r.method === 'PUT');
        expect(puts.every((r) => r.ifMatch !== before.etag)).toBe(true);
        expect(puts.filter((r) => r.status < 300)).toHaveLength(1);
        const holderAddresses = (await nic(holder)).properties.ipConfigurations.map(
          (c) => c.properties.privateIPAddress,
        );
        expect(holderAddresses).toContain('192.168.1.3');
      },
    );
  });
});
