import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { isKnownError } from '../../../shared/errors';
import { stableUuid } from '../../../shared/ids';
import { NetworkControllerClient } from '../../../shared/networkController/NetworkControllerClient';
import { NicDirectory } from '../../../shared/networkController/NicDirectory';
import { mergeIpConfigurations } from '../../../shared/networkController/nicMerge';
import { NicUpdateBatcher } from '../../../shared/networkController/NicUpdateBatcher';
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

  it('lists the NICs once for many lookups within its age, and again after a refresh', async () => {
    const directory = new NicDirectory(client, { maxAgeInMs: 60_000 });
    await Promise.all(Array.from({ length: 20 }, () => directory.snapshot()));
    await directory.getVirtualSubnet('VNet1', 'Subnet1');
    await directory.getVirtualSubnet('VNet1', 'Subnet1');
    const log = () => nc.admin('GET', '/_emulator/requests') as Promise<{ method: string; path: string }[]>;
    expect((await log()).filter((r) => /networkInterfaces$/i.test(r.path))).toHaveLength(1);
    expect((await log()).filter((r) => /subnets\/Subnet1$/i.test(r.path))).toHaveLength(1);
    const snapshot = await directory.snapshot({}, true);
    expect(snapshot.network('VNet1').holdersByAddress.get('192.168.1.9')).toEqual([
      { nicId: NIC, ipConfigurationId: 'ContainerHostVM1_IP0' },
    ]);
    expect((await log()).filter((r) => /networkInterfaces$/i.test(r.path))).toHaveLength(2);
  });
});
