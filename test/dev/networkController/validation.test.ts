import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import {
  type ErrorBody,
  type Harness,
  type HttpResult,
  type IpConfigurationInput,
  type NicBody,
  SEED_NIC,
  startHarness,
  staticIpConfiguration,
} from './harness';

const NIC_PATH = `/networkInterfaces/${SEED_NIC}`;
const SUBNET1 = '/virtualNetworks/VNet1/subnets/Subnet1';

interface NicInput {
  resourceId?: string;
  resourceRef?: string;
  etag: string;
  instanceId: string;
  properties: Record<string, unknown> & { ipConfigurations: IpConfigurationInput[] };
}

const seedIpConfiguration = (nic: NicInput): IpConfigurationInput =>
  nic.properties.ipConfigurations[0] as IpConfigurationInput;

interface Case {
  name: string;
  code: string;
  /** Turns the seed NIC (as GET returns it, plus one new Static ipConfiguration `new` on Subnet1) into the bad body. */
  mutate: (nic: NicInput, added: IpConfigurationInput) => void;
  message?: RegExp;
  path?: string;
}

const CASES: Case[] = [
  {
    name: 'duplicate ipConfiguration resourceIds (case-insensitive)',
    code: 'DuplicateResourceId',
    mutate: (nic) => nic.properties.ipConfigurations.push(staticIpConfiguration('NEW', '192.168.1.102')),
  },
  {
    name: 'no privateIPAllocationMethod',
    code: 'InvalidRequestFormat',
    mutate: (_n, added) => delete added.properties.privateIPAllocationMethod,
  },
  {
    name: 'unknown privateIPAllocationMethod',
    code: 'InvalidRequestFormat',
    mutate: (_n, added) => (added.properties.privateIPAllocationMethod = 'Sticky'),
  },
  { name: 'no subnet', code: 'SubnetIsRequired', mutate: (_n, added) => delete added.properties.subnet },
  {
    name: 'Static without an address',
    code: 'PrivateIPAddressMissing',
    mutate: (_n, added) => delete added.properties.privateIPAddress,
  },
  {
    name: 'empty address',
    code: 'PrivateIPAddressMissing',
    mutate: (_n, added) => (added.properties.privateIPAddress = ''),
  },
  ...['192.168.1.300', '192.168.1', '192.168.01.5', 'abc', '192.168.1.5/24'].map((address): Case => ({
    name: `malformed address ${address}`,
    code: 'InvalidPrivateIPAddressFormat',
    mutate: (_n, added) => (added.properties.privateIPAddress = address),
  })),
  {
    name: 'numeric address',
    code: 'InvalidPrivateIPAddressFormat',
    mutate: (_n, added) => (added.properties.privateIPAddress = 3232235877),
  },
  ...['192.168.2.50', '10.20.1.50', '192.168.0.7'].map((address): Case => ({
    name: `address ${address} outside Subnet1`,
    code: 'PrivateIPAddressNotInSubnet',
    mutate: (_n, added) => (added.properties.privateIPAddress = address),
    message: /192\.168\.1\.0\/24/,
  })),
  ...['192.168.1.0', '192.168.1.1', '192.168.1.255'].map((address): Case => ({
    name: `reserved address ${address}`,
    code: 'PrivateIPAddressInReservedRange',
    mutate: (_n, added) => (added.properties.privateIPAddress = address),
  })),
  {
    name: 'address held by another NIC',
    code: 'PrivateIPAddressInUse',
    mutate: (_n, added) => (added.properties.privateIPAddress = '192.168.1.10'),
    message: /\/networkInterfaces\/ContainerHostVM2_Net0\/ipConfigurations\/ContainerHostVM2_IP0/,
  },
  {
    name: 'address used twice in the same body',
    code: 'PrivateIPAddressInUse',
    mutate: (nic) => nic.properties.ipConfigurations.push(staticIpConfiguration('second', '192.168.1.101')),
    message: /ipConfigurations\/new/,
  },
  {
    name: 'an ipConfiguration on a subnet of another virtual network',
    code: 'IPConfigurationsDontUseSameVnet',
    mutate: (_n, added) => {
      added.properties.privateIPAddress = '192.168.1.50';
      added.properties.subnet = { resourceRef: '/virtualNetworks/VNet2/subnets/Subnet1' };
      delete added.properties.accessControlList;
    },
    message: /VNet1\/subnets\/Subnet1.*VNet2\/subnets\/Subnet1/,
  },
  {
    name: 'missing subnet',
    code: 'InvalidResourceReference',
    mutate: (_n, added) => (added.properties.subnet = { resourceRef: '/virtualNetworks/VNet1/subnets/Subnet9' }),
  },
  {
    name: 'missing virtual network',
    code: 'InvalidResourceReference',
    mutate: (_n, added) => (added.properties.subnet = { resourceRef: '/virtualNetworks/VNet9/subnets/Subnet1' }),
  },
  {
    name: 'missing ACL',
    code: 'InvalidResourceReference',
    mutate: (_n, added) => (added.properties.accessControlList = { resourceRef: '/accessControlLists/DenyAll' }),
  },
  {
    name: 'subnet ref pointing at an ACL',
    code: 'InvalidJsonReferenceWrongType',
    mutate: (_n, added) => (added.properties.subnet = { resourceRef: '/accessControlLists/AllowAll' }),
  },
  {
    name: 'ACL ref pointing at a subnet',
    code: 'InvalidJsonReferenceWrongType',
    mutate: (_n, added) => (added.properties.accessControlList = { resourceRef: SUBNET1 }),
  },
  {
    name: 'subnet given as a string',
    code: 'InvalidJsonReferenceFormat',
    mutate: (_n, added) => (added.properties.subnet = SUBNET1),
  },
  {
    name: 'subnet ref without a leading slash',
    code: 'InvalidJsonReferenceFormat',
    mutate: (_n, added) => (added.properties.subnet = { resourceRef: SUBNET1.slice(1) }),
  },
  {
    name: 'ipConfiguration without resourceId',
    code: 'InvalidRequestFormat',
    mutate: (_n, added) => delete added.resourceId,
  },
  {
    name: 'ipConfigurations not an array',
    code: 'InvalidRequestFormat',
    mutate: (nic) => Object.assign(nic.properties, { ipConfigurations: {} }),
  },
  {
    name: 'changed privateMacAllocationMethod',
    code: 'PrivateMacAllocationMethodCannotBeUpdated',
    mutate: (nic) => (nic.properties.privateMacAllocationMethod = 'Dynamic'),
  },
  {
    name: 'no privateMacAllocationMethod',
    code: 'InvalidRequestFormat',
    mutate: (nic) => delete nic.properties.privateMacAllocationMethod,
  },
  {
    name: 'changed isHostVirtualNetworkInterface',
    code: 'IsHostVirtualNetworkInterfaceCannotBeUpdated',
    mutate: (nic) => (nic.properties.isHostVirtualNetworkInterface = true),
  },
  {
    name: 'changed privateIPAllocationMethod of an existing ipConfiguration',
    code: 'PrivateIpAllocationMethodCannotBeUpdated',
    mutate: (nic) => (seedIpConfiguration(nic).properties.privateIPAllocationMethod = 'Dynamic'),
  },
  ...['00-15-5D-38-01-01', '00155D38010', '00155D3801011', 'GG155D380101', ''].map((mac): Case => ({
    name: `MAC '${mac}'`,
    code: mac === '' ? 'PrivateMacAddressMissing' : 'InvalidPrivateMacAddress',
    mutate: (nic) => (nic.properties.privateMacAddress = mac),
  })),
  {
    name: 'body resourceId differing from the URL',
    code: 'InvalidRequestFormat',
    mutate: (nic) => (nic.resourceId = 'SomeOtherNic'),
  },
  {
    name: 'no properties',
    code: 'InvalidRequestFormat',
    mutate: (nic) => delete (nic as Partial<NicInput>).properties,
  },
];

describe('NC emulator: synchronous PUT validation', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });
  beforeEach(async () => {
    await h.admin('POST', '/reset');
    await h.request('PUT', '/_emulator/settings', { body: { validationStatus: 400 } });
  });

  async function seedNicWithNew(): Promise<{ nic: NicInput; added: IpConfigurationInput }> {
    const nic = (await h.api<NicBody>('GET', NIC_PATH)).body as unknown as NicInput;
    const added = staticIpConfiguration('new', '192.168.1.101');
    nic.properties.ipConfigurations.push(added);
    return { nic, added };
  }

  function put(body: unknown, path = NIC_PATH): Promise<HttpResult<NicBody & ErrorBody>> {
    return h.api<NicBody & ErrorBody>('PUT', path, { body });
  }

  it('accepts the unmodified base body (so every case below fails for its own reason)', async () => {
    const { nic } = await seedNicWithNew();
    expect((await put(nic)).status).toBe(200);
  });

  it.each(CASES)('$name → 400 $code', async ({ code, mutate, message }) => {
    const { nic, added } = await seedNicWithNew();
    const { etag } = nic;
    mutate(nic, added);
    const res = await put(nic);
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.body.error.code).toBe(code);
    expect(typeof res.body.error.message).toBe('string');
    if (message !== undefined) expect(res.body.error.message).toMatch(message);
    // Nothing was applied.
    const after = await h.api<NicBody>('GET', NIC_PATH);
    expect(after.body.etag).toBe(etag);
    expect(after.body.properties.provisioningState).toBe('Succeeded');
  });

  it('requires a MAC address on a new Static NIC', async () => {
    const res = await put(
      { properties: { privateMacAllocationMethod: 'Static', ipConfigurations: [] } },
      '/networkInterfaces/NoMac',
    );
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('PrivateMacAddressMissing');
  });

  it('answers validation failures with 500 when validationStatus is 500', async () => {
    await h.request('PUT', '/_emulator/settings', { body: { validationStatus: 500 } });
    const { nic, added } = await seedNicWithNew();
    added.properties.privateIPAddress = '192.168.1.10';
    const res = await put(nic);
    expect(res.status).toBe(500);
    expect(res.body.error.code).toBe('PrivateIPAddressInUse');
  });

  it('ignores read-only fields sent back by the client', async () => {
    const { nic } = await seedNicWithNew();
    const { instanceId } = nic;
    Object.assign(nic, {
      resourceRef: '/networkInterfaces/Bogus',
      etag: 'W/"bogus"',
      instanceId: '00000000-0000-0000-0000-000000000000',
    });
    nic.properties.provisioningState = 'Failed';
    nic.properties.configurationState = { status: 'Failure', detailedInfo: [] };
    seedIpConfiguration(nic).properties.provisioningState = 'Deleting';
    seedIpConfiguration(nic).instanceId = 'bogus';
    const res = await put(nic);
    expect(res.status).toBe(200);
    expect(res.body.resourceRef).toBe(NIC_PATH);
    expect(res.body.instanceId).toBe(instanceId);
    expect(res.body.etag).not.toBe('W/"bogus"');
    expect(res.body.properties.provisioningState).toBe('Updating');
    expect(res.body.properties.configurationState?.status).toBe('Success');
    expect(res.body.properties.ipConfigurations[0]?.instanceId).not.toBe('bogus');
  });

  it('a subnet that is not Succeeded cannot be referenced', async () => {
    await h.admin('POST', '/resources', {
      resources: [
        {
          resourceRef: '/virtualNetworks/VNet3',
          body: {
            properties: {
              addressSpace: { addressPrefixes: ['172.16.0.0/16'] },
              subnets: [
                { resourceId: 'Subnet1', properties: { provisioningState: 'Failed', addressPrefix: '172.16.1.0/24' } },
              ],
            },
          },
        },
      ],
    });
    const { nic, added } = await seedNicWithNew();
    added.properties.subnet = { resourceRef: '/virtualNetworks/VNet3/subnets/Subnet1' };
    added.properties.privateIPAddress = '172.16.1.5';
    const res = await put(nic);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('ReferencedResourceNotProvisioned');
  });

  it('rejects a PUT that keeps an address another NIC also holds (inconsistent state loaded raw)', async () => {
    const loaded = await h.admin<{ count: number }>('POST', '/resources', {
      resources: [
        {
          resourceRef: '/networkInterfaces/Squatter_Net0',
          body: {
            properties: {
              privateMacAllocationMethod: 'Static',
              privateMacAddress: '00155D3809FF',
              ipConfigurations: [
                {
                  resourceId: 'ip0',
                  properties: {
                    privateIPAddress: '192.168.1.9',
                    privateIPAllocationMethod: 'Static',
                    subnet: { resourceRef: SUBNET1 },
                  },
                },
              ],
            },
          },
        },
      ],
    });
    expect(loaded.body).toEqual({ count: 1 });
    const nic = (await h.api<NicBody>('GET', NIC_PATH)).body;
    const res = await put(nic);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('PrivateIPAddressInUse');
    expect(res.body.error.message).toContain('/networkInterfaces/Squatter_Net0/ipConfigurations/ip0');
  });
});
