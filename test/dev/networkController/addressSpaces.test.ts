import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import {
  type ErrorBody,
  type Harness,
  type HttpResult,
  type IpConfigurationInput,
  type NicBody,
  startHarness,
  staticIpConfiguration,
} from './harness';

/** A tenant network loaded raw, reusing VNet1's prefixes, so these tests do not depend on the seed's VNet2. */
const VNET3_SUBNET1 = '/virtualNetworks/VNet3/subnets/Subnet1';
const VNET1_SUBNET1 = '/virtualNetworks/VNet1/subnets/Subnet1';

function newNic(name: string, ...ipConfigurations: IpConfigurationInput[]): Record<string, unknown> {
  return {
    resourceId: name,
    properties: { privateMacAllocationMethod: 'Static', privateMacAddress: '00155D3803FF', ipConfigurations },
  };
}

function onSubnet(resourceId: string, address: string, subnet: string): IpConfigurationInput {
  const ipc = staticIpConfiguration(resourceId, address, subnet);
  delete ipc.properties.accessControlList;
  return ipc;
}

function dynamicOn(resourceId: string, subnet: string): IpConfigurationInput {
  return { resourceId, properties: { privateIPAllocationMethod: 'Dynamic', subnet: { resourceRef: subnet } } };
}

describe('NC emulator: every virtual network is its own address space', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });
  beforeEach(async () => {
    await h.admin('POST', '/reset');
    await h.request('PUT', '/_emulator/settings', { body: { validationStatus: 400, provisioningDelayInMs: 0 } });
    const loaded = await h.admin('POST', '/resources', {
      resources: [
        {
          resourceRef: '/virtualNetworks/VNet3',
          body: {
            properties: {
              addressSpace: { addressPrefixes: ['192.168.0.0/16'] },
              subnets: [{ resourceId: 'Subnet1', properties: { addressPrefix: '192.168.1.0/24' } }],
            },
          },
        },
      ],
    });
    expect(loaded.status).toBe(200);
  });

  function put(name: string, body: unknown): Promise<HttpResult<NicBody & ErrorBody>> {
    return h.api<NicBody & ErrorBody>('PUT', `/networkInterfaces/${name}`, { body });
  }

  it('accepts an address on VNet3 that a NIC on VNet1 already holds', async () => {
    const res = await put('Tenant3_Net0', newNic('Tenant3_Net0', onSubnet('ip0', '192.168.1.9', VNET3_SUBNET1)));
    expect(res.status).toBe(201);
    expect(res.body.properties.ipConfigurations[0]?.properties.privateIPAddress).toBe('192.168.1.9');
    // Both holders stay where they are.
    const seedNic = await h.api<NicBody>('GET', '/networkInterfaces/ContainerHostVM1_Net0');
    expect(seedNic.body.properties.ipConfigurations[0]?.properties.privateIPAddress).toBe('192.168.1.9');
  });

  it('still refuses the address within VNet3 once a VNet3 NIC holds it', async () => {
    expect(
      (await put('Tenant3_Net0', newNic('Tenant3_Net0', onSubnet('ip0', '192.168.1.9', VNET3_SUBNET1)))).status,
    ).toBe(201);
    const res = await put('Tenant3_Net1', newNic('Tenant3_Net1', onSubnet('ip0', '192.168.1.9', VNET3_SUBNET1)));
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('PrivateIPAddressInUse');
    expect(res.body.error.message).toContain('/networkInterfaces/Tenant3_Net0/ipConfigurations/ip0');
    expect((await h.api('GET', '/networkInterfaces/Tenant3_Net1')).status).toBe(404);
  });

  it('compares subnet refs case-insensitively when deciding the virtual network', async () => {
    const res = await put(
      'Shouty_Net0',
      newNic('Shouty_Net0', onSubnet('ip0', '192.168.1.10', '/VIRTUALNETWORKS/vnet1/Subnets/SUBNET1')),
    );
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('PrivateIPAddressInUse');
    expect(res.body.error.message).toContain(
      '/networkInterfaces/ContainerHostVM2_Net0/ipConfigurations/ContainerHostVM2_IP0',
    );
  });

  it('allocates Dynamic addresses from the virtual network of the subnet, ignoring other networks', async () => {
    expect((await put('Low_Net0', newNic('Low_Net0', onSubnet('ip0', '192.168.1.2', VNET1_SUBNET1)))).status).toBe(201);
    const vnet1 = await put('Dyn1_Net0', newNic('Dyn1_Net0', dynamicOn('d', VNET1_SUBNET1)));
    expect(vnet1.body.properties.ipConfigurations[0]?.properties.privateIPAddress).toBe('192.168.1.3');
    const vnet3 = await put('Dyn3_Net0', newNic('Dyn3_Net0', dynamicOn('d', VNET3_SUBNET1)));
    expect(vnet3.status).toBe(201);
    expect(vnet3.body.properties.ipConfigurations[0]?.properties.privateIPAddress).toBe('192.168.1.2');
  });
});
