import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { isKnownError } from '../../../shared/errors';
import { stableUuid } from '../../../shared/ids';
import { NetworkControllerClient } from '../../../shared/networkController/NetworkControllerClient';
import { NicDirectory } from '../../../shared/networkController/NicDirectory';
import { checkNicTenancy, mergeIpConfigurations, OWNER_TAG, ownerOf } from '../../../shared/networkController/nicMerge';
import { NicUpdateBatcher } from '../../../shared/networkController/NicUpdateBatcher';
import type { IpConfiguration, NetworkInterface } from '../../../shared/networkController/resources';
import { InMemoryNetworkController } from '../../support/InMemoryNetworkController';
import { startTestNetworkController } from '../../support/ncEmulator';

const NIC = 'ContainerHostVM1_Net0';
const SUBNET = '/virtualNetworks/VNet1/subnets/Subnet1';

describe('NicUpdateBatcher and NicDirectory against the emulator', () => {
  let nc: Awaited<ReturnType<typeof startTestNetworkController>>;
  let client: NetworkControllerClient;

  beforeAll(async () => {
    nc = await startTestNetworkController({ provisioningDelayInMs: 100 });
  });
  afterAll(() => nc.close());
  beforeEach(async () => {
    await nc.admin('POST', '/_emulator/reset');
    await nc.admin('DELETE', '/_emulator/requests');
    client = new NetworkControllerClient(nc.baseUrl, { tls: { caCertPem: nc.ca.caCertPem }, retryDelayInMs: 10 });
  });

  const puts = async () =>
    ((await nc.admin('GET', '/_emulator/requests')) as { method: string; path: string }[]).filter(
      (r) => r.method === 'PUT',
    ).length;

  it('writes 50 attachments aimed at one NIC in a handful of PUTs, each with its own result', async () => {
    const batcher = new NicUpdateBatcher(client, {
      windowInMs: 50,
      pollIntervalInMs: 50,
      stableUuid,
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    });
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        batcher.update(NIC, {
          addresses: [`192.168.1.${100 + i}`],
          subnetRef: SUBNET,
          aclRef: '/accessControlLists/AllowAll',
        }),
      ),
    );
    expect(await puts()).toBeLessThanOrEqual(5);
    expect(results.every((r) => r.operationUrl !== undefined)).toBe(true);
    expect(Math.max(...results.map((r) => r.batchSize))).toBeGreaterThan(1);
    await new Promise((r) => setTimeout(r, 300));
    const { value } = await client.getNetworkInterface(NIC);
    expect(value.properties.ipConfigurations).toHaveLength(51);
  });

  it('group-commits: what arrives while a write runs goes in the next PUT, without PUTs the controller refuses', async () => {
    await nc.admin('PUT', '/_emulator/settings', { provisioningDelayInMs: 300 });
    const batcher = new NicUpdateBatcher(client, {
      windowInMs: 0,
      pollIntervalInMs: 50,
      stableUuid,
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    });
    const first = batcher.update(NIC, { addresses: ['192.168.1.100'], subnetRef: SUBNET });
    await new Promise((r) => setTimeout(r, 30));
    const later = Array.from({ length: 10 }, (_, i) =>
      batcher.update(NIC, { addresses: [`192.168.1.${120 + i}`], subnetRef: SUBNET }),
    );
    const results = await Promise.all([first, ...later]);
    expect(results[0]?.batchSize).toBe(1);
    expect(results[1]?.batchSize).toBe(10);
    const log = (await nc.admin('GET', '/_emulator/requests')) as { method: string; status: number }[];
    expect(log.filter((r) => r.method === 'PUT').map((r) => r.status)).toEqual([200, 200]);
    await nc.admin('PUT', '/_emulator/settings', { provisioningDelayInMs: 100 });
  });

  it.each([
    ['waits out another writer’s operation that outlasts six polls', 2_000, 'written'],
    ['gives up after its hold time with a retryable error that keeps the controller’s code', 200, 'retryable'],
  ] as const)('a NIC busy with another host’s operation: %s', async (_, maxHoldInMs, expected) => {
    await nc.admin('PUT', '/_emulator/settings', { provisioningDelayInMs: 700 });
    try {
      // Another host's write starts the operation this process knows nothing about.
      const other = new NetworkControllerClient(nc.baseUrl, { tls: { caCertPem: nc.ca.caCertPem } });
      const { value, etag } = await other.getNetworkInterface(NIC);
      const { body } = mergeIpConfigurations({ nic: value, addresses: ['192.168.1.199'], subnetRef: SUBNET });
      if (!body) throw new Error('nothing to write');
      await other.putNetworkInterface(NIC, body, { ifMatch: etag });
      const batcher = new NicUpdateBatcher(client, {
        windowInMs: 0,
        pollIntervalInMs: 50,
        maxHoldInMs,
        stableUuid,
        sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
      });
      const outcome = await batcher.update(NIC, { addresses: ['192.168.1.150'], subnetRef: SUBNET }).then(
        () => 'written',
        (error: unknown) => (isKnownError(error) && error.retryable ? `retryable ${error.code}` : String(error)),
      );
      expect(outcome).toBe(expected === 'written' ? 'written' : 'retryable AnotherOperationInProgress');
      const refused = ((await nc.admin('GET', '/_emulator/requests')) as { method: string; status: number }[]).filter(
        (r) => r.method === 'PUT' && r.status === 409,
      );
      expect(refused.length).toBeGreaterThan(expected === 'written' ? 6 : 0);
    } finally {
      await nc.admin('PUT', '/_emulator/settings', { provisioningDelayInMs: 100 });
    }
  });

  it('when the controller refuses a batched PUT for one addition, writes the others on their own', async () => {
    // Another NIC takes an address behind this process's back: the merge cannot know, the controller refuses.
    const other = await client.getNetworkInterface('ContainerHostVM2_Net0');
    const { body } = mergeIpConfigurations({ nic: other.value, addresses: ['192.168.1.150'], subnetRef: SUBNET });
    if (!body) throw new Error('nothing to write');
    await client.putNetworkInterface('ContainerHostVM2_Net0', body, { ifMatch: other.etag });
    await new Promise((r) => setTimeout(r, 200));
    const batcher = new NicUpdateBatcher(client, {
      windowInMs: 0,
      pollIntervalInMs: 20,
      stableUuid,
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    });
    const outcomes = await Promise.all(
      ['192.168.1.160', '192.168.1.150', '192.168.1.161'].map((address) =>
        batcher.update(NIC, { addresses: [address], subnetRef: SUBNET }).then(
          () => 'written',
          (error: unknown) => (isKnownError(error) ? error.code : String(error)),
        ),
      ),
    );
    expect(outcomes).toEqual(['written', 'PrivateIPAddressInUse', 'written']);
    await new Promise((r) => setTimeout(r, 200));
    const held = (await client.getNetworkInterface(NIC)).value.properties.ipConfigurations.map(
      (c) => c.properties.privateIPAddress,
    );
    expect(held).toEqual(expect.arrayContaining(['192.168.1.160', '192.168.1.161']));
    expect(held).not.toContain('192.168.1.150');
  });

  it('fails only the addition that conflicts, and writes the others', async () => {
    const batcher = new NicUpdateBatcher(client, {
      windowInMs: 50,
      pollIntervalInMs: 50,
      stableUuid,
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    });
    const [good, bad] = await Promise.allSettled([
      batcher.update(NIC, { addresses: ['192.168.1.150'], subnetRef: SUBNET }),
      // 192.168.1.9 is already this NIC's primary address under another id.
      batcher.update(NIC, { addresses: ['192.168.1.9'], subnetRef: SUBNET }),
    ]);
    expect(good.status).toBe('fulfilled');
    expect(bad.status).toBe('rejected');
    const reason = (bad as PromiseRejectedResult).reason as unknown;
    expect(isKnownError(reason) && reason.code).toBe('PrivateIPAddressInUse');
    expect(await puts()).toBe(1);
  });

  it('reads a network once for many lookups within its age, and again after a refresh, never listing every NIC', async () => {
    const directory = new NicDirectory(client, { maxAgeInMs: 60_000 });
    await Promise.all(Array.from({ length: 20 }, () => directory.network('VNet1')));
    await directory.getVirtualSubnet('VNet1', 'Subnet1');
    await directory.getVirtualSubnet('VNet1', 'Subnet1');
    const log = () => nc.admin('GET', '/_emulator/requests') as Promise<{ method: string; path: string }[]>;
    const count = async (pattern: RegExp) => (await log()).filter((r) => pattern.test(r.path)).length;
    expect(await count(/\/virtualNetworks\/VNet1\/subnets$/i)).toBe(1);
    expect(await count(/subnets\/Subnet1$/i)).toBe(1);
    // VNet1's three NICs, each read once; VNet2's is never read.
    expect(await count(/\/networkInterfaces\/[^/]+$/i)).toBe(3);
    expect(await count(/\/networkInterfaces\/FabrikamVM1_Net0$/i)).toBe(0);
    const view = await directory.network('VNet1', {}, true);
    expect(view.holdersByAddress.get('192.168.1.9')).toEqual([
      { nicId: NIC, ipConfigurationId: 'ContainerHostVM1_IP0' },
    ]);
    expect(await count(/\/virtualNetworks\/VNet1\/subnets$/i)).toBe(2);
    expect(await count(/\/networkInterfaces$/i)).toBe(0);
  });
});

describe('NicUpdateBatcher: releases of detaching attachments go in the same PUTs as additions', () => {
  const LEAVING = ownerOf('contoso', 'leaving');
  const ARRIVING = ownerOf('contoso', 'arriving');
  const ipc = (address: string, owner?: string): IpConfiguration => ({
    resourceId: `IP_${address.replaceAll('.', '_')}`,
    ...(owner ? { tags: { [OWNER_TAG]: owner } } : {}),
    properties: { privateIPAddress: address, privateIPAllocationMethod: 'Static', subnet: { resourceRef: SUBNET } },
  });
  const startingNic = (): NetworkInterface => ({
    resourceId: NIC,
    properties: {
      ipConfigurations: [
        { ...ipc('192.168.1.9'), resourceId: 'ContainerHostVM1_IP0' },
        ipc('192.168.1.101', LEAVING),
        ipc('192.168.1.102', LEAVING),
      ],
    },
  });

  function setup() {
    const nc = new InMemoryNetworkController([startingNic()]);
    const batcher = new NicUpdateBatcher(nc, {
      windowInMs: 0,
      pollIntervalInMs: 1,
      maxHoldInMs: 0,
      stableUuid,
      sleep: () => Promise.resolve(),
    });
    const held = () =>
      nc.nic(NIC).properties.ipConfigurations.map((c) => [c.properties.privateIPAddress, c.tags?.[OWNER_TAG]]);
    return { nc, batcher, held };
  }

  it('writes one attachment’s addition and another’s release, arriving together, in one PUT', async () => {
    const { nc, batcher, held } = setup();
    const [added, released] = await Promise.all([
      batcher.update(NIC, { addresses: ['192.168.1.150'], subnetRef: SUBNET, owner: ARRIVING }),
      batcher.update(NIC, { release: LEAVING }),
    ]);
    expect(nc.puts).toHaveLength(1);
    expect(nc.puts[0]?.ifMatch).toBeDefined();
    expect(added).toMatchObject({ batchSize: 2, operationUrl: nc.lastOperationUrl() });
    expect(released).toMatchObject({ batchSize: 2, operationUrl: nc.lastOperationUrl() });
    expect(held()).toEqual([
      ['192.168.1.9', undefined],
      ['192.168.1.150', ARRIVING],
    ]);
  });

  it('an address released earlier in the batch may be taken by a later addition in the same PUT', async () => {
    const { nc, batcher, held } = setup();
    await Promise.all([
      batcher.update(NIC, { release: LEAVING }),
      batcher.update(NIC, { addresses: ['192.168.1.101'], subnetRef: SUBNET, owner: ARRIVING }),
    ]);
    expect(nc.puts).toHaveLength(1);
    expect(held()).toEqual([
      ['192.168.1.9', undefined],
      ['192.168.1.101', ARRIVING],
    ]);
  });

  it('an addition of an address still held, ahead of its release in the batch, fails alone; the release is written', async () => {
    const { nc, batcher, held } = setup();
    const [addition, release] = await Promise.allSettled([
      batcher.update(NIC, { addresses: ['192.168.1.101'], subnetRef: SUBNET, owner: ARRIVING }),
      batcher.update(NIC, { release: LEAVING }),
    ]);
    expect(addition.status).toBe('rejected');
    expect((addition as PromiseRejectedResult).reason).toMatchObject({ code: 'PrivateIPAddressInUse' });
    expect(((addition as PromiseRejectedResult).reason as Error).message).toContain(
      'for attachment leaving of this tenant; detach it to release the address',
    );
    expect(release).toMatchObject({ status: 'fulfilled', value: { batchSize: 1 } });
    expect(nc.puts).toHaveLength(1);
    expect(held()).toEqual([['192.168.1.9', undefined]]);
  });

  it('a release whose guard refuses the NIC is refused alone, before any write for it', async () => {
    const { nc, batcher, held } = setup();
    const guard = (nic: NetworkInterface) => checkNicTenancy(nic, 'VNet2', ['VNet2']);
    const [refused, added] = await Promise.allSettled([
      batcher.update(NIC, { release: LEAVING, guard }),
      batcher.update(NIC, { addresses: ['192.168.1.150'], subnetRef: SUBNET, owner: ARRIVING }),
    ]);
    expect((refused as PromiseRejectedResult).reason).toMatchObject({ code: 'NicNotInTenantNetwork' });
    expect(added).toMatchObject({ status: 'fulfilled', value: { batchSize: 1 } });
    expect(nc.puts).toHaveLength(1);
    expect(held().map(([address]) => address)).toEqual([
      '192.168.1.9',
      '192.168.1.101',
      '192.168.1.102',
      '192.168.1.150',
    ]);
  });

  it('a release with nothing left to release writes nothing and answers the NIC as read', async () => {
    const { nc, batcher } = setup();
    const result = await batcher.update(NIC, { release: ownerOf('contoso', 'never-here') });
    expect(result.operationUrl).toBeUndefined();
    expect(result.nic.properties.ipConfigurations).toHaveLength(3);
    expect(nc.puts).toEqual([]);
  });

  it('a release and an addition have distinct replay ids, the same change on the same NIC version the same one', async () => {
    const ids: string[] = [];
    for (const change of [
      { release: LEAVING },
      { addresses: ['192.168.1.150'], subnetRef: SUBNET },
      { release: LEAVING },
    ]) {
      const { nc, batcher } = setup();
      await batcher.update(NIC, change);
      ids.push(nc.puts[0]?.clientRequestId ?? '');
    }
    expect(ids[0]).not.toBe(ids[1]);
    expect(ids[0]).toBe(ids[2]);
  });

  it('a release that loses the etag race reads again and releases from the newer NIC', async () => {
    const { nc, batcher, held } = setup();
    const original = nc.getNetworkInterface.bind(nc);
    let reads = 0;
    nc.getNetworkInterface = async (nicId: string) => {
      const read = await original(nicId);
      // Another host adds an address between this read and its write.
      if (++reads === 1)
        nc.set({
          ...startingNic(),
          properties: {
            ipConfigurations: [...startingNic().properties.ipConfigurations, ipc('192.168.1.160', ARRIVING)],
          },
        });
      return read;
    };
    await batcher.update(NIC, { release: LEAVING });
    expect(reads).toBe(2);
    expect(nc.puts).toHaveLength(1);
    expect(held()).toEqual([
      ['192.168.1.9', undefined],
      ['192.168.1.160', ARRIVING],
    ]);
  });
});
