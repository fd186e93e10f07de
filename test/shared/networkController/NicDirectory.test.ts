import { describe, expect, it } from 'vitest';

import { RemoteServiceError } from '../../../shared/errors';
import { NicDirectory, nicIdOfBackReference } from '../../../shared/networkController/NicDirectory';
import { findNicByAddress } from '../../../shared/networkController/nicMerge';
import type { NetworkInterface, VirtualSubnet } from '../../../shared/networkController/resources';
import { rejectionOf } from '../../support/rejection';

const SUBNET_A = '/virtualNetworks/VNetA/subnets/Subnet1';
const SUBNET_B = '/virtualNetworks/VNetB/subnets/Subnet1';

function nic(resourceId: string, addresses: string[], subnet = SUBNET_A): NetworkInterface {
  return {
    resourceRef: `/networkInterfaces/${resourceId}`,
    resourceId,
    properties: {
      ipConfigurations: addresses.map((address, i) => ({
        resourceId: `${resourceId}_IP${i}`,
        properties: {
          privateIPAddress: address,
          privateIPAllocationMethod: 'Static',
          subnet: { resourceRef: subnet },
        },
      })),
    },
  };
}

const backRefs = (...nics: NetworkInterface[]) =>
  nics.flatMap((n) =>
    n.properties.ipConfigurations.map((ipc) => ({
      resourceRef: `/networkInterfaces/${n.resourceId}/ipConfigurations/${ipc.resourceId}`,
    })),
  );

const notFound = (target: string) =>
  new RemoteServiceError(`${target} was not found.`, {
    source: 'NetworkController',
    code: 'NotFound',
    statusCode: 404,
    retryable: false,
  });

/**
 * A directory over a controller whose virtual network `VNetA` has one subnet whose back-references are
 * `subnetRefs()` (by default, every NIC's configurations on it), counting every read, its clock under the test's
 * control.
 */
function directory(nics: NetworkInterface[], subnetRefs?: () => { resourceRef: string }[]) {
  const clock = { nowInMs: 1_000_000 };
  const reads: string[] = [];
  /** When set, every NIC read fails with this instead. */
  const failure: { nicReads?: Error } = {};
  const stored = new Map(nics.map((n) => [n.resourceId.toLowerCase(), n]));
  const client = {
    listVirtualSubnets: (virtualNetworkId: string): Promise<VirtualSubnet[]> => {
      reads.push(`subnets ${virtualNetworkId}`);
      if (virtualNetworkId.toLowerCase() !== 'vneta') return Promise.reject(notFound(virtualNetworkId));
      const onA = [...stored.values()].filter((n) =>
        n.properties.ipConfigurations.some((c) => c.properties.subnet?.resourceRef === SUBNET_A),
      );
      return Promise.resolve([
        {
          resourceRef: SUBNET_A,
          resourceId: 'Subnet1',
          properties: { addressPrefix: '10.0.0.0/24', ipConfigurations: subnetRefs?.() ?? backRefs(...onA) },
        },
      ]);
    },
    getNetworkInterface: (nicId: string) => {
      reads.push(`nic ${nicId}`);
      if (failure.nicReads) return Promise.reject(failure.nicReads);
      const found = stored.get(nicId.toLowerCase());
      return found ? Promise.resolve({ value: structuredClone(found) }) : Promise.reject(notFound(nicId));
    },
    getVirtualSubnet: () => Promise.reject(new Error('not used')),
    getAccessControlList: () => Promise.reject(new Error('not used')),
    getServer: () => Promise.reject(new Error('not used')),
  };
  const dir = new NicDirectory(client, { maxAgeInMs: 5_000, nowInMs: () => clock.nowInMs, readConcurrency: 3 });
  return { dir, clock, reads, stored, failure };
}

describe('NicDirectory: a virtual network read through its subnets’ back-references', () => {
  it('reads the subnets once, then only the NICs they name, each once, and serves that for its age', async () => {
    const onA = [nic('VM1_Net0', ['10.0.0.4']), nic('VM2_Net0', ['10.0.0.5', '10.0.0.6'])];
    const { dir, clock, reads } = directory([...onA, nic('Other_Net0', ['10.0.0.4'], SUBNET_B)]);
    const [first, second] = await Promise.all([dir.network('VNetA'), dir.network('vneta')]);
    expect(second).toBe(first);
    expect(reads.sort()).toEqual(['nic VM1_Net0', 'nic VM2_Net0', 'subnets VNetA']);
    expect(first.nics.map((n) => n.resourceId)).toEqual(['VM1_Net0', 'VM2_Net0']);
    expect(first.subnets.map((s) => s.resourceId)).toEqual(['Subnet1']);
    expect(findNicByAddress(first, '10.0.0.6').resourceId).toBe('VM2_Net0');
    expect(first.byId.has('other_net0')).toBe(false);

    clock.nowInMs += 5_000;
    expect(await dir.network('VNetA')).toBe(first);
    clock.nowInMs += 1;
    expect(await dir.network('VNetA')).not.toBe(first);
    expect(reads.filter((r) => r.startsWith('subnets'))).toHaveLength(2);
  });

  it('answers a network with zero NICs with an empty view, after one read', async () => {
    const { dir, reads } = directory([nic('Other_Net0', ['10.0.0.4'], SUBNET_B)]);
    const view = await dir.network('VNetA');
    expect(view.nics).toEqual([]);
    expect(view.holdersByAddress.size).toBe(0);
    expect(view.subnets).toHaveLength(1);
    expect(reads).toEqual(['subnets VNetA']);
    expect(() => findNicByAddress(view, '10.0.0.4')).toThrow(
      expect.objectContaining({ code: 'NetworkInterfaceNotFound' }),
    );
  });

  it('leaves out a NIC a back-reference names but that was deleted meanwhile (404)', async () => {
    const kept = nic('VM1_Net0', ['10.0.0.4']);
    const { dir, reads } = directory([kept], () => [
      ...backRefs(kept),
      { resourceRef: '/networkInterfaces/Gone_Net0/ipConfigurations/Gone_IP0' },
    ]);
    const view = await dir.network('VNetA');
    expect(view.nics.map((n) => n.resourceId)).toEqual(['VM1_Net0']);
    expect(reads).toContain('nic Gone_Net0');
  });

  it('leaves out a NIC whose configurations moved off the network between the two reads', async () => {
    const moved = nic('VM1_Net0', ['10.0.0.4']);
    const { dir, stored } = directory([moved], () => backRefs(moved));
    stored.set('vm1_net0', nic('VM1_Net0', ['10.0.0.4'], SUBNET_B));
    const view = await dir.network('VNetA');
    expect(view.nics).toEqual([]);
    expect(view.holdersByAddress.size).toBe(0);
  });

  it('fails the read when a NIC read fails otherwise, and reads again on the next question', async () => {
    const { dir, reads, failure } = directory([], () => [
      { resourceRef: '/networkInterfaces/Busy/ipConfigurations/x' },
    ]);
    failure.nicReads = new RemoteServiceError('Service unavailable.', {
      source: 'NetworkController',
      code: 'ServiceUnavailable',
      statusCode: 503,
      retryable: true,
    });
    expect(await rejectionOf(dir.network('VNetA'))).toMatchObject({ code: 'ServiceUnavailable' });
    delete failure.nicReads;
    expect((await dir.network('VNetA')).nics).toEqual([]);
    expect(reads.filter((r) => r.startsWith('subnets'))).toHaveLength(2);
  });

  it('refuses an answer for another NIC than the one asked for', async () => {
    const real = nic('VM1_Net0', ['10.0.0.4']);
    const { dir, stored } = directory([real], () => backRefs(real));
    stored.set('vm1_net0', nic('Impostor_Net0', ['10.0.0.4']));
    expect(await rejectionOf(dir.network('VNetA'))).toMatchObject({ code: 'UnexpectedResponse', retryable: false });
  });

  it('reads each NIC once however many back-references name it, and ignores refs that name no NIC', async () => {
    const multi = nic('VM1_Net0', ['10.0.0.4', '10.0.0.5', '10.0.0.6']);
    const hostile = [
      { resourceRef: '/networkInterfaces/../ipConfigurations/x' },
      { resourceRef: '/networkInterfaces/./ipConfigurations/x' },
      { resourceRef: '/networkInterfaces/a?b/ipConfigurations/x' },
      { resourceRef: '/networkInterfaces/a b/ipConfigurations/x' },
      { resourceRef: '/networkInterfaces/a\\b/ipConfigurations/x' },
      { resourceRef: '/loadBalancers/LB1/frontendIPConfigurations/FE1' },
      { resourceRef: 'https://elsewhere.example/networkInterfaces/VM9/ipConfigurations/x' },
      { resourceRef: '/networkInterfaces/VM9' },
      { resourceRef: '' },
    ];
    const { dir, reads } = directory([multi], () => [...backRefs(multi), ...backRefs(multi), ...hostile]);
    const view = await dir.network('VNetA');
    expect(view.nics.map((n) => n.resourceId)).toEqual(['VM1_Net0']);
    expect(reads).toEqual(['subnets VNetA', 'nic VM1_Net0']);
  });

  it('keeps each network’s view apart, and fails for a network the controller does not have', async () => {
    const { dir } = directory([nic('VM1_Net0', ['10.0.0.4'])]);
    await dir.network('VNetA');
    expect(await rejectionOf(dir.network('VNetZ'))).toMatchObject({ code: 'NotFound', statusCode: 404 });
    // The failed read is not kept: the next question asks the controller again.
    expect(await rejectionOf(dir.network('VNetZ'))).toMatchObject({ code: 'NotFound' });
  });

  it('records a NIC as this process wrote it, in place: its new addresses held, those it gave up free', async () => {
    const { dir, reads } = directory([nic('VM1_Net0', ['10.0.0.4', '10.0.0.7']), nic('VM2_Net0', ['10.0.0.5'])]);
    const view = await dir.network('VNetA');
    dir.noteWrite('vneta', nic('VM1_Net0', ['10.0.0.4', '10.0.0.8']));
    await Promise.resolve();
    expect(view.holdersByAddress.get('10.0.0.8')).toEqual([{ nicId: 'VM1_Net0', ipConfigurationId: 'VM1_Net0_IP1' }]);
    expect(view.holdersByAddress.has('10.0.0.7')).toBe(false);
    expect(view.holdersByAddress.get('10.0.0.4')).toHaveLength(1);
    expect(view.holdersByAddress.get('10.0.0.5')).toHaveLength(1);
    // A NIC the view did not show (named by the request, not on the network before) is found from now on.
    dir.noteWrite('VNetA', nic('New_Net0', ['10.0.0.9']));
    await Promise.resolve();
    expect(findNicByAddress(view, '10.0.0.9').resourceId).toBe('New_Net0');
    // Another network's view is not touched.
    dir.noteWrite('VNetB', nic('VM1_Net0', ['10.0.0.10'], SUBNET_B));
    await Promise.resolve();
    expect(view.holdersByAddress.has('10.0.0.10')).toBe(false);
    expect(await dir.network('VNetA')).toBe(view);
    expect(reads.filter((r) => r.startsWith('subnets'))).toHaveLength(1);
  });

  it('reads a network again once it is invalidated, and starts from what the controller says', async () => {
    const { dir, stored } = directory([nic('VM1_Net0', ['10.0.0.4'])]);
    const before = await dir.network('VNetA');
    stored.set('vm1_net0', nic('VM1_Net0', ['10.0.0.4', '10.0.0.20']));
    expect((await dir.network('VNetA')).holdersByAddress.has('10.0.0.20')).toBe(false);
    dir.invalidate('VNETA');
    const after = await dir.network('VNetA');
    expect(after).not.toBe(before);
    expect(after.holdersByAddress.has('10.0.0.20')).toBe(true);
  });

  it('drops expired views as it goes, so a process keeps only the networks asked for lately', async () => {
    const { dir, clock } = directory([nic('VM1_Net0', ['10.0.0.4'])]);
    await dir.network('VNetA');
    await rejectionOf(dir.network('VNetZ'));
    expect(dir.cacheSize().networks).toBe(1);
    clock.nowInMs += 10_001;
    // Any new read sweeps; VNetA's expired view goes, the fresh one stays.
    await rejectionOf(dir.network('VNetY'));
    expect(dir.cacheSize().networks).toBe(0);
    await dir.network('VNetA');
    expect(dir.cacheSize().networks).toBe(1);
  });

  it('reads a NIC the request names directly, uncached', async () => {
    const { dir, reads } = directory([nic('Lonely_Net0', [])]);
    expect((await dir.getNetworkInterface('Lonely_Net0')).resourceId).toBe('Lonely_Net0');
    await dir.getNetworkInterface('Lonely_Net0');
    expect(reads).toEqual(['nic Lonely_Net0', 'nic Lonely_Net0']);
    expect(await rejectionOf(dir.getNetworkInterface('Nope'))).toMatchObject({ statusCode: 404 });
  });

  it('holds a reservation for others only, until it expires or its owner lets it go', () => {
    const { dir, clock } = directory([]);
    dir.reserveAddresses(['10.0.1.7', '10.0.1.8'], 'contoso/a1');
    expect(dir.isReservedForOther('10.0.1.7', 'contoso/a2')).toBe(true);
    expect(dir.isReservedForOther('10.0.1.7', 'contoso/a1')).toBe(false);
    expect(dir.isReservedForOther('10.0.1.9', 'contoso/a2')).toBe(false);

    dir.releaseAddresses('contoso/a1');
    expect(dir.isReservedForOther('10.0.1.8', 'contoso/a2')).toBe(false);

    dir.reserveAddresses(['10.0.1.9'], 'contoso/a3');
    clock.nowInMs += 180_000;
    expect(dir.isReservedForOther('10.0.1.9', 'contoso/a2')).toBe(false);
  });
});

describe('nicIdOfBackReference', () => {
  it.each([
    ['/networkInterfaces/VM1_Net0/ipConfigurations/IP_10_0_0_4', 'VM1_Net0'],
    ['/NETWORKINTERFACES/vm1_net0/IPCONFIGURATIONS/x/', 'vm1_net0'],
    ['/networkInterfaces/../ipConfigurations/x', undefined],
    ['/networkInterfaces/VM1_Net0/ipConfigurations/x/extra', undefined],
    ['/networkInterfaces/VM1%2F..%2F/ipConfigurations/x', 'VM1%2F..%2F'],
    ['/virtualNetworks/VNet1/subnets/Subnet1', undefined],
  ])('%s names %s', (ref, nicId) => {
    expect(nicIdOfBackReference(ref)).toBe(nicId);
  });
});
