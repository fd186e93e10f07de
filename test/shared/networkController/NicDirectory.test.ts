import { describe, expect, it } from 'vitest';

import { NicDirectory } from '../../../shared/networkController/NicDirectory';
import { findNicByAddress } from '../../../shared/networkController/nicMerge';
import type { NetworkInterface } from '../../../shared/networkController/resources';

function nic(resourceId: string, ...addresses: string[]): NetworkInterface {
  return {
    resourceRef: `/networkInterfaces/${resourceId}`,
    resourceId,
    properties: {
      ipConfigurations: addresses.map((address, i) => ({
        resourceId: `${resourceId}_IP${i}`,
        properties: {
          privateIPAddress: address,
          privateIPAllocationMethod: 'Static',
          subnet: { resourceRef: '/virtualNetworks/VNetA/subnets/Subnet1' },
        },
      })),
    },
  };
}

/** A directory over a controller holding `nics`, counting list reads, its clock under the test's control. */
function directory(nics: NetworkInterface[]) {
  const clock = { nowInMs: 1_000_000 };
  let lists = 0;
  const client = {
    listNetworkInterfaces: () => {
      lists += 1;
      return Promise.resolve(nics);
    },
    getVirtualSubnet: () => Promise.reject(new Error('not used')),
    getAccessControlList: () => Promise.reject(new Error('not used')),
    getServer: () => Promise.reject(new Error('not used')),
  };
  const dir = new NicDirectory(client, { maxAgeInMs: 5_000, nowInMs: () => clock.nowInMs });
  return { dir, clock, lists: () => lists };
}

describe('NicDirectory', () => {
  it('serves one list read for the window, indexed by id and by address', async () => {
    const { dir, lists } = directory([nic('VM1_Net0', '10.0.0.4'), nic('VM2_Net0', '10.0.0.5')]);
    const first = await dir.snapshot();
    const second = await dir.snapshot();
    expect(lists()).toBe(1);
    expect(second).toBe(first);
    expect(first.byId.get('vm2_net0')?.resourceId).toBe('VM2_Net0');
    expect(findNicByAddress(first.network('VNetA'), '10.0.0.4').resourceId).toBe('VM1_Net0');
  });

  it('adds the addresses this process wrote to the cached index, replacing the NIC’s earlier claim', async () => {
    const { dir } = directory([nic('VM1_Net0', '10.0.0.4'), nic('VM2_Net0', '10.0.0.5')]);
    (await dir.snapshot()).network('VNetA');
    dir.noteAddresses('VM1_Net0', 'VNetA', [{ address: '10.0.1.7', ipConfigurationId: 'IP_10_0_1_7' }]);
    dir.noteAddresses('vm1_net0', 'vnetA', [{ address: '10.0.1.7', ipConfigurationId: 'IP_10_0_1_7' }]);
    const snapshot = await dir.snapshot();
    expect(snapshot.network('VNetA').holdersByAddress.get('10.0.1.7')).toEqual([
      { nicId: 'vm1_net0', ipConfigurationId: 'IP_10_0_1_7' },
    ]);
    // A fresh list starts from what the controller says.
    expect((await dir.snapshot({}, true)).network('VNetA').holdersByAddress.has('10.0.1.7')).toBe(false);
  });

  it('answers address questions within one virtual network: the same address elsewhere is another network’s', async () => {
    const other = nic('Other_Net0', '10.0.0.4');
    other.properties.ipConfigurations[0]!.properties.subnet = { resourceRef: '/virtualNetworks/VNetB/subnets/Subnet1' };
    const { dir } = directory([nic('VM1_Net0', '10.0.0.4'), other]);
    const snapshot = await dir.snapshot();
    expect(findNicByAddress(snapshot.network('VNetA'), '10.0.0.4').resourceId).toBe('VM1_Net0');
    expect(findNicByAddress(snapshot.network('vnetb'), '10.0.0.4').resourceId).toBe('Other_Net0');
    expect(snapshot.network('VNetC').holdersByAddress.size).toBe(0);
    // What this process writes on one network is not in use on another.
    dir.noteAddresses('VM1_Net0', 'VNetA', [{ address: '10.0.1.7', ipConfigurationId: 'IP_10_0_1_7' }]);
    expect((await dir.snapshot()).network('VNetB').holdersByAddress.has('10.0.1.7')).toBe(false);
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
