import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import {
  type ErrorBody,
  type Harness,
  type HttpResult,
  type IpConfigurationInput,
  type ListBody,
  type NicBody,
  startHarness,
  staticIpConfiguration,
  type SubnetBody,
  type VirtualNetworkBody,
} from './harness';

/** VNet3 is loaded raw and reuses VNet1's prefixes; the last block uses the seed's VNet2, which does too. */
const VNET3_SUBNET1 = '/virtualNetworks/VNet3/subnets/Subnet1';
const VNET1_SUBNET1 = '/virtualNetworks/VNet1/subnets/Subnet1';
const VNET1_SUBNET2 = '/virtualNetworks/VNet1/subnets/Subnet2';
const VNET2_SUBNET1 = '/virtualNetworks/VNet2/subnets/Subnet1';
const MIXED = 'IPConfigurationsDontUseSameVnet';

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

  describe('a NIC sits in one virtual network', () => {
    it('refuses a new NIC with ipConfigurations on VNet1 and VNet3, in the controller error shape', async () => {
      const res = await put(
        'Straddle_Net0',
        newNic(
          'Straddle_Net0',
          onSubnet('a', '192.168.1.50', VNET1_SUBNET1),
          onSubnet('b', '192.168.1.51', VNET3_SUBNET1),
        ),
      );
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(res.body).toEqual({
        error: {
          code: MIXED,
          message: expect.stringContaining(VNET3_SUBNET1) as unknown,
          target: 'properties.ipConfigurations[1].properties.subnet',
        },
      });
      expect(res.body.error.message).toContain(VNET1_SUBNET1);
      expect((await h.api('GET', '/networkInterfaces/Straddle_Net0')).status).toBe(404);
    });

    it('refuses adding a VNet3 ipConfiguration to a VNet1 NIC, by NIC PUT and by child PUT, and changes nothing', async () => {
      const before = (await h.api<NicBody>('GET', '/networkInterfaces/ContainerHostVM1_Net0')).body;
      const body = {
        ...before,
        properties: {
          ...before.properties,
          ipConfigurations: [...before.properties.ipConfigurations, onSubnet('b', '192.168.1.51', VNET3_SUBNET1)],
        },
      };
      const whole = await put('ContainerHostVM1_Net0', body);
      expect(whole.status).toBe(400);
      expect(whole.body.error.code).toBe(MIXED);
      const child = await h.api<ErrorBody>('PUT', '/networkInterfaces/ContainerHostVM1_Net0/ipConfigurations/b', {
        body: onSubnet('b', '192.168.1.51', VNET3_SUBNET1),
      });
      expect(child.status).toBe(400);
      expect(child.body.error.code).toBe(MIXED);
      const after = (await h.api<NicBody>('GET', '/networkInterfaces/ContainerHostVM1_Net0')).body;
      expect(after.etag).toBe(before.etag);
      expect(after.properties.ipConfigurations.map((c) => c.resourceId)).toEqual(['ContainerHostVM1_IP0']);
    });

    it('answers 500 instead when validationStatus is 500', async () => {
      await h.request('PUT', '/_emulator/settings', { body: { validationStatus: 500 } });
      const res = await put(
        'Straddle_Net0',
        newNic('Straddle_Net0', onSubnet('a', '192.168.1.50', VNET1_SUBNET1), dynamicOn('b', VNET3_SUBNET1)),
      );
      expect(res.status).toBe(500);
      expect(res.body.error.code).toBe(MIXED);
    });

    it('accepts two subnets of one virtual network, however the refs are cased', async () => {
      const res = await put(
        'TwoSubnets_Net0',
        newNic(
          'TwoSubnets_Net0',
          onSubnet('a', '192.168.1.50', VNET1_SUBNET1),
          onSubnet('b', '192.168.2.50', VNET1_SUBNET2.toUpperCase()),
        ),
      );
      expect(res.status).toBe(201);
    });

    it('accepts several virtual networks on a NIC with isMultitenantStack true ([MS-NCNBI] §3.1.5.11)', async () => {
      const multitenant = (name: string, ...ipConfigurations: IpConfigurationInput[]): unknown => {
        const body = newNic(name, ...ipConfigurations) as { properties: Record<string, unknown> };
        body.properties.isMultitenantStack = true;
        return body;
      };
      const first = await put(
        'Multi_Net0',
        multitenant(
          'Multi_Net0',
          onSubnet('a', '192.168.1.9', VNET3_SUBNET1),
          onSubnet('b', '192.168.1.50', VNET1_SUBNET1),
        ),
      );
      expect(first.status).toBe(201);
      // Each address is still checked within its own network: .50 is taken on VNet1 only, .9 on both.
      const second = await put(
        'Multi_Net1',
        multitenant(
          'Multi_Net1',
          onSubnet('a', '192.168.1.50', VNET3_SUBNET1),
          onSubnet('b', '192.168.1.51', VNET1_SUBNET1),
        ),
      );
      expect(second.status).toBe(201);
      const clash = await put(
        'Multi_Net2',
        multitenant(
          'Multi_Net2',
          onSubnet('a', '192.168.1.52', VNET1_SUBNET1),
          onSubnet('b', '192.168.1.9', VNET3_SUBNET1),
        ),
      );
      expect(clash.status).toBe(400);
      expect(clash.body.error.code).toBe('PrivateIPAddressInUse');
      expect(clash.body.error.message).toContain('/networkInterfaces/Multi_Net0/ipConfigurations/a');
    });
  });

  describe("the seed's two tenants: VNet1 (contoso) and VNet2 (fabrikam) both use 192.168.1.0/24", () => {
    it('accepts the same new address on a VNet1 NIC and on a VNet2 NIC', async () => {
      const onVnet1 = await put(
        'Contoso_Net9',
        newNic('Contoso_Net9', onSubnet('ip0', '192.168.1.101', VNET1_SUBNET1)),
      );
      expect(onVnet1.status).toBe(201);
      const onVnet2 = await put(
        'Fabrikam_Net9',
        newNic('Fabrikam_Net9', onSubnet('ip0', '192.168.1.101', VNET2_SUBNET1)),
      );
      expect(onVnet2.status).toBe(201);
      // 192.168.1.10 is ContainerHostVM2's on VNet1, and free on VNet2.
      expect(
        (await put('Fabrikam_Net8', newNic('Fabrikam_Net8', onSubnet('ip0', '192.168.1.10', VNET2_SUBNET1)))).status,
      ).toBe(201);
    });

    it('takes the seed NICs that share 192.168.1.9 back unchanged', async () => {
      for (const name of ['ContainerHostVM1_Net0', 'FabrikamVM1_Net0']) {
        const nic = (await h.api<NicBody>('GET', `/networkInterfaces/${name}`)).body;
        expect((await put(name, nic)).status, name).toBe(200);
      }
    });

    it('refuses an address within VNet2 with PrivateIPAddressInUse naming the VNet2 holder', async () => {
      const res = await put('Fabrikam_Net9', newNic('Fabrikam_Net9', onSubnet('ip0', '192.168.1.9', VNET2_SUBNET1)));
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('PrivateIPAddressInUse');
      expect(res.body.error.message).toContain('/networkInterfaces/FabrikamVM1_Net0/ipConfigurations/FabrikamVM1_IP0');
      const again = await put('Contoso_Net9', newNic('Contoso_Net9', onSubnet('ip0', '192.168.1.9', VNET1_SUBNET1)));
      expect(again.body.error.code).toBe('PrivateIPAddressInUse');
      expect(again.body.error.message).toContain('/networkInterfaces/ContainerHostVM1_Net0/ipConfigurations/');
    });

    it(`refuses a NIC PUT mixing VNet1 and VNet2 subnets with ${MIXED}`, async () => {
      const fabrikam = (await h.api<NicBody>('GET', '/networkInterfaces/FabrikamVM1_Net0')).body;
      const res = await put('FabrikamVM1_Net0', {
        ...fabrikam,
        properties: {
          ...fabrikam.properties,
          ipConfigurations: [
            ...fabrikam.properties.ipConfigurations,
            onSubnet('IP_192_168_1_101', '192.168.1.101', VNET1_SUBNET1),
          ],
        },
      });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe(MIXED);
      expect(res.body.error.message).toContain(VNET2_SUBNET1);
      expect(res.body.error.message).toContain(VNET1_SUBNET1);
      expect((await h.api<NicBody>('GET', '/networkInterfaces/FabrikamVM1_Net0')).body.etag).toBe(fabrikam.etag);
    });
  });

  describe('subnet back-references (read-only properties.ipConfigurations)', () => {
    const FABRIKAM = '/networkInterfaces/FabrikamVM1_Net0';
    const refs = async (subnet: string): Promise<string[]> => {
      const res = await h.api<SubnetBody>('GET', subnet);
      expect(res.status).toBe(200);
      return res.body.properties.ipConfigurations.map((r) => r.resourceRef);
    };
    const SEED_VNET1_SUBNET1 = [
      '/networkInterfaces/ContainerHostVM1_Net0/ipConfigurations/ContainerHostVM1_IP0',
      '/networkInterfaces/ContainerHostVM2_Net0/ipConfigurations/ContainerHostVM2_IP0',
    ];

    it('list exactly the configurations on each subnet, before and after a PUT that adds one', async () => {
      expect(await refs(VNET2_SUBNET1)).toEqual([`${FABRIKAM}/ipConfigurations/FabrikamVM1_IP0`]);
      expect(await refs(VNET1_SUBNET1)).toEqual(SEED_VNET1_SUBNET1);
      expect(await refs(VNET1_SUBNET2)).toEqual(['/networkInterfaces/TenantVM3_Net0/ipConfigurations/TenantVM3_IP0']);

      const nic = (await h.api<NicBody>('GET', FABRIKAM)).body;
      const res = await put('FabrikamVM1_Net0', {
        ...nic,
        properties: {
          ...nic.properties,
          // A ref spelled in another case still names VNet2/Subnet1.
          ipConfigurations: [
            ...nic.properties.ipConfigurations,
            onSubnet('IP_192_168_1_101', '192.168.1.101', VNET2_SUBNET1.toLowerCase()),
          ],
        },
      });
      expect(res.status).toBe(200);
      const added = [`${FABRIKAM}/ipConfigurations/FabrikamVM1_IP0`, `${FABRIKAM}/ipConfigurations/IP_192_168_1_101`];
      // Already while the NIC is Updating, and the same once it has settled.
      expect(await refs(VNET2_SUBNET1)).toEqual(added);
      await h.waitForOperation(res.headers['azure-asyncoperation'] ?? '');
      expect(await refs(VNET2_SUBNET1)).toEqual(added);
      // The same address's holders on VNet1 are untouched, and so is the other tenant's subnet.
      expect(await refs(VNET1_SUBNET1)).toEqual(SEED_VNET1_SUBNET1);
      // The subnet list and the virtual network's embedded subnets say the same.
      const listed = await h.api<ListBody<SubnetBody>>('GET', '/virtualNetworks/VNet2/subnets');
      expect(listed.body.value.map((sub) => sub.properties.ipConfigurations.map((r) => r.resourceRef))).toEqual([
        added,
      ]);
      const vnet = await h.api<VirtualNetworkBody>('GET', '/virtualNetworks/VNet2');
      expect(vnet.body.properties.subnets[0]?.properties.ipConfigurations).toEqual(
        added.map((resourceRef) => ({ resourceRef })),
      );
    });

    it('follow an ipConfiguration that moves to another subnet of the same virtual network', async () => {
      const nic = (await h.api<NicBody>('GET', '/networkInterfaces/ContainerHostVM2_Net0')).body;
      const res = await put('ContainerHostVM2_Net0', {
        ...nic,
        properties: {
          ...nic.properties,
          ipConfigurations: [onSubnet('ContainerHostVM2_IP0', '192.168.2.10', VNET1_SUBNET2)],
        },
      });
      expect(res.status).toBe(200);
      expect(await refs(VNET1_SUBNET1)).toEqual([SEED_VNET1_SUBNET1[0]]);
      expect(await refs(VNET1_SUBNET2)).toEqual([
        '/networkInterfaces/TenantVM3_Net0/ipConfigurations/TenantVM3_IP0',
        '/networkInterfaces/ContainerHostVM2_Net0/ipConfigurations/ContainerHostVM2_IP0',
      ]);
    });

    it('are the controller’s own: copies in a loaded body are ignored, and a NIC loaded on the subnet appears', async () => {
      const loaded = await h.admin('POST', '/resources', {
        resources: [
          {
            resourceRef: '/virtualNetworks/VNet4',
            body: {
              properties: {
                addressSpace: { addressPrefixes: ['10.4.0.0/16'] },
                subnets: [
                  {
                    resourceId: 'Subnet1',
                    properties: {
                      addressPrefix: '10.4.1.0/24',
                      // What a client might send back from an earlier GET, or invent: never stored.
                      ipConfigurations: [
                        { resourceRef: '/networkInterfaces/Ghost_Net0/ipConfigurations/Ghost_IP0' },
                        { resourceRef: `${FABRIKAM}/ipConfigurations/FabrikamVM1_IP0` },
                      ],
                    },
                  },
                ],
              },
            },
          },
        ],
      });
      expect(loaded.status).toBe(200);
      expect(await refs('/virtualNetworks/VNet4/subnets/Subnet1')).toEqual([]);
      const created = await put(
        'VNet4_Net0',
        newNic('VNet4_Net0', onSubnet('a', '10.4.1.5', '/VIRTUALNETWORKS/vnet4/Subnets/SUBNET1')),
      );
      expect(created.status).toBe(201);
      expect(await refs('/virtualNetworks/VNet4/subnets/Subnet1')).toEqual([
        '/networkInterfaces/VNet4_Net0/ipConfigurations/a',
      ]);
      // Loading the network again (its subnets as GET shows them, back-references included) changes nothing.
      const vnet = await h.api<VirtualNetworkBody>('GET', '/virtualNetworks/VNet4');
      await h.admin('POST', '/resources', { resources: [{ resourceRef: '/virtualNetworks/VNet4', body: vnet.body }] });
      expect(await refs('/virtualNetworks/VNet4/subnets/Subnet1')).toEqual([
        '/networkInterfaces/VNet4_Net0/ipConfigurations/a',
      ]);
    });

    it('name each NIC on a network, so its NICs are found without the NIC list: a network of none has none', async () => {
      const subnets = await h.api<ListBody<SubnetBody>>('GET', '/virtualNetworks/VNet3/subnets');
      expect(subnets.status).toBe(200);
      expect(subnets.body.value.map((sub) => sub.properties.ipConfigurations)).toEqual([[]]);
      const vnet1 = await h.api<ListBody<SubnetBody>>('GET', '/virtualNetworks/VNet1/subnets');
      const named = vnet1.body.value.flatMap((sub) => sub.properties.ipConfigurations.map((r) => r.resourceRef));
      const all = await h.api<ListBody<NicBody>>('GET', '/networkInterfaces');
      const onVnet1 = all.body.value.flatMap((nic) =>
        nic.properties.ipConfigurations
          .filter((ipc) => ipc.properties.subnet?.resourceRef.toLowerCase().startsWith('/virtualnetworks/vnet1/'))
          .map((ipc) => ipc.resourceRef),
      );
      expect([...named].sort()).toEqual([...onVnet1].sort());
    });

    it('drop an ipConfiguration once it is deleted, and all of a NIC once the NIC is deleted', async () => {
      const created = await put(
        'Fabrikam_Net9',
        newNic(
          'Fabrikam_Net9',
          onSubnet('a', '192.168.1.101', VNET2_SUBNET1),
          onSubnet('b', '192.168.1.102', VNET2_SUBNET1),
        ),
      );
      expect(created.status).toBe(201);
      await h.waitForOperation(created.headers['azure-asyncoperation'] ?? '');
      expect(await refs(VNET2_SUBNET1)).toEqual([
        `${FABRIKAM}/ipConfigurations/FabrikamVM1_IP0`,
        '/networkInterfaces/Fabrikam_Net9/ipConfigurations/a',
        '/networkInterfaces/Fabrikam_Net9/ipConfigurations/b',
      ]);

      const child = await h.api('DELETE', '/networkInterfaces/Fabrikam_Net9/ipConfigurations/a');
      expect(child.status).toBe(202);
      await h.waitForOperation(child.headers['azure-asyncoperation'] ?? '');
      expect(await refs(VNET2_SUBNET1)).toEqual([
        `${FABRIKAM}/ipConfigurations/FabrikamVM1_IP0`,
        '/networkInterfaces/Fabrikam_Net9/ipConfigurations/b',
      ]);

      const whole = await h.api('DELETE', '/networkInterfaces/Fabrikam_Net9');
      expect(whole.status).toBe(202);
      await h.waitForOperation(whole.headers['azure-asyncoperation'] ?? '');
      expect(await refs(VNET2_SUBNET1)).toEqual([`${FABRIKAM}/ipConfigurations/FabrikamVM1_IP0`]);
      expect(await refs(VNET1_SUBNET1)).toEqual(SEED_VNET1_SUBNET1);
    });
  });
});
