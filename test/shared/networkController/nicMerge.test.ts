import { describe, expect, it } from 'vitest';

import { StepError, ValidationError } from '../../../shared/errors';
import type { AttachRequest } from '../../../shared/model/attachRequest';
import { parseIpv4Cidr } from '../../../shared/model/ipv4';
import {
  addressHolders,
  ADOPTED_TAG,
  findNicByAddress,
  findNicById,
  indexNics,
  mergeIpConfigurations,
  missingAddresses,
  ownedAddresses,
  OWNER_TAG,
  ownerOf,
  releaseIpConfigurations,
  resolveContainerAddresses,
} from '../../../shared/networkController/nicMerge';
import type { IpConfiguration, NetworkInterface } from '../../../shared/networkController/resources';
import { thrownBy } from '../../support/rejection';

const SUBNET_REF = '/virtualNetworks/VNet1/subnets/Subnet1';
const ACL_REF = '/accessControlLists/AllowAll';
const SUBNET = parseIpv4Cidr('192.168.1.0/24');

/** The container host NIC as the Network Controller's GET returns it. */
function seedNic(): NetworkInterface {
  return {
    resourceRef: '/networkInterfaces/ContainerHostVM1_Net0',
    resourceId: 'ContainerHostVM1_Net0',
    etag: 'W/"6c1c6ae2-2f4e-4c1b-9f3a-2d1c5e0b7a41"',
    instanceId: 'c1c4b0a5-8d36-4c6e-8e0f-6f8b1a0d2e31',
    tags: { vm: 'ContainerHostVM1' },
    properties: {
      provisioningState: 'Succeeded',
      privateMacAddress: '00155D380101',
      privateMacAllocationMethod: 'Static',
      isPrimary: true,
      dnsSettings: { dnsServers: ['10.50.34.10'] },
      portSettings: { macSpoofingEnabled: false, arpGuardEnabled: false, vmqWeight: 100 },
      ipConfigurations: [
        {
          resourceRef: '/networkInterfaces/ContainerHostVM1_Net0/ipConfigurations/ContainerHostVM1_IP0',
          resourceId: 'ContainerHostVM1_IP0',
          etag: 'W/"6c1c6ae2-2f4e-4c1b-9f3a-2d1c5e0b7a41"',
          instanceId: '0f2d4a9e-3b5c-4e7a-9c1d-8a6b2e4f0c13',
          properties: {
            provisioningState: 'Succeeded',
            privateIPAddress: '192.168.1.9',
            privateIPAllocationMethod: 'Static',
            subnet: { resourceRef: SUBNET_REF },
            accessControlList: { resourceRef: ACL_REF },
          },
        },
      ],
      configurationState: {
        status: 'Success',
        detailedInfo: [],
        lastUpdatedTime: '2026-11-28T04:33:40.000Z',
        id: 'c1c4b0a5-8d36-4c6e-8e0f-6f8b1a0d2e31',
      },
    },
  };
}

function nic(resourceId: string, ...ipConfigurations: [id: string, address?: string][]): NetworkInterface {
  return {
    resourceRef: `/networkInterfaces/${resourceId}`,
    resourceId,
    properties: {
      ipConfigurations: ipConfigurations.map(([id, address]) => ({
        resourceId: id,
        properties: {
          ...(address === undefined ? {} : { privateIPAddress: address }),
          privateIPAllocationMethod: 'Static',
          subnet: { resourceRef: SUBNET_REF },
        },
      })),
    },
  };
}

function withIpConfigurations(base: NetworkInterface, ...extra: IpConfiguration[]): NetworkInterface {
  return {
    ...base,
    properties: { ...base.properties, ipConfigurations: [...base.properties.ipConfigurations, ...extra] },
  };
}

function containerConfig(address: string, resourceId = `IP_${address.replaceAll('.', '_')}`): IpConfiguration {
  return {
    resourceRef: `/networkInterfaces/ContainerHostVM1_Net0/ipConfigurations/${resourceId}`,
    resourceId,
    etag: 'W/"00000000-0000-0000-0000-000000000001"',
    properties: {
      provisioningState: 'Succeeded',
      privateIPAddress: address,
      privateIPAllocationMethod: 'Static',
      subnet: { resourceRef: SUBNET_REF },
    },
  };
}

const neighbour = () => nic('ContainerHostVM2_Net0', ['ContainerHostVM2_IP0', '192.168.1.10']);

describe('addressHolders', () => {
  it('maps every static address of every NIC to the NICs and IP configurations holding it', () => {
    const holders = addressHolders([
      seedNic(),
      neighbour(),
      nic('Multi_Net0', ['Multi_IP0', '192.168.2.9'], ['Multi_IP1', '192.168.2.10'], ['Dynamic_IP', undefined]),
      nic('Clash_Net0', ['Clash_IP0', '192.168.1.10']),
    ]);
    expect(Object.fromEntries(holders)).toEqual({
      '192.168.1.9': [{ nicId: 'ContainerHostVM1_Net0', ipConfigurationId: 'ContainerHostVM1_IP0' }],
      '192.168.1.10': [
        { nicId: 'ContainerHostVM2_Net0', ipConfigurationId: 'ContainerHostVM2_IP0' },
        { nicId: 'Clash_Net0', ipConfigurationId: 'Clash_IP0' },
      ],
      '192.168.2.9': [{ nicId: 'Multi_Net0', ipConfigurationId: 'Multi_IP0' }],
      '192.168.2.10': [{ nicId: 'Multi_Net0', ipConfigurationId: 'Multi_IP1' }],
    });
  });

  it('is empty for no NICs or NICs without configurations', () => {
    expect(addressHolders([]).size).toBe(0);
    expect(addressHolders([nic('Empty_Net0')]).size).toBe(0);
  });
});

describe('findNicByAddress', () => {
  const nics = [
    seedNic(),
    neighbour(),
    nic('Multi_Net0', ['Multi_IP0', '192.168.2.9'], ['Multi_IP1', '192.168.1.100']),
  ];

  it.each([
    ['192.168.1.9', 'ContainerHostVM1_Net0'],
    ['192.168.1.10', 'ContainerHostVM2_Net0'],
    ['192.168.1.100', 'Multi_Net0'],
  ])('finds the NIC holding %s', (address, nicId) => {
    expect(findNicByAddress(indexNics(nics), address).resourceId).toBe(nicId);
  });

  it.each(['192.168.1.1', '192.168.1.90', '192.168.1.99', '10.20.1.9'])(
    'fails with NetworkInterfaceNotFound when no NIC holds %s (no prefix matching)',
    (address) => {
      const error = thrownBy(() => findNicByAddress(indexNics(nics), address));
      expect(error).toBeInstanceOf(StepError);
      expect(error).toMatchObject({ code: 'NetworkInterfaceNotFound', retryable: false });
      expect((error as Error).message).toContain(address);
    },
  );

  it('fails with AmbiguousNetworkInterface naming both NICs when two hold the address', () => {
    const error = thrownBy(() =>
      findNicByAddress(indexNics([...nics, nic('Clash_Net0', ['Clash_IP0', '192.168.1.10'])]), '192.168.1.10'),
    );
    expect(error).toBeInstanceOf(StepError);
    expect(error).toMatchObject({ code: 'AmbiguousNetworkInterface', retryable: false });
    expect((error as Error).message).toContain('ContainerHostVM2_Net0 and Clash_Net0');
    expect((error as Error).message).toContain('nic.resourceId');
  });
});

describe('findNicById', () => {
  it.each([
    ['ContainerHostVM1_Net0', 'ContainerHostVM1_Net0'],
    ['containerhostvm1_net0', 'ContainerHostVM1_Net0'],
    ['CONTAINERHOSTVM2_NET0', 'ContainerHostVM2_Net0'],
    ['ContainerHostVM3_Net0', undefined],
  ])('looks up %s without regard to case', (id, expected) => {
    expect(findNicById(indexNics([seedNic(), neighbour()]), id)?.resourceId).toBe(expected);
  });
});

describe('resolveContainerAddresses', () => {
  type ContainerIps = AttachRequest['containerIps'];
  const resolve = (ips: ContainerIps, held: string[] = [], subnet = SUBNET) =>
    resolveContainerAddresses(ips, subnet, 'Subnet1', (address) => held.includes(address));
  const range = (first: string, last: string): ContainerIps => ({ range: { first, last } });
  const reserved = (address: string) =>
    `${address} is reserved in 192.168.1.0/24 (network, gateway or broadcast address)`;
  const outside = (address: string) => `${address} is not inside subnet Subnet1 (192.168.1.0/24)`;

  it.each<[string, ContainerIps, string[]]>([
    [
      'listed addresses in the given order',
      { addresses: ['192.168.1.105', '192.168.1.101'] },
      ['192.168.1.105', '192.168.1.101'],
    ],
    [
      'the seed range expanded',
      range('192.168.1.101', '192.168.1.110'),
      Array.from({ length: 10 }, (_, i) => `192.168.1.${101 + i}`),
    ],
    ['a one-address range', range('192.168.1.200', '192.168.1.200'), ['192.168.1.200']],
    [
      'the first and last usable addresses',
      { addresses: ['192.168.1.2', '192.168.1.254'] },
      ['192.168.1.2', '192.168.1.254'],
    ],
  ])('returns %s', (_name, ips, expected) => {
    expect(resolve(ips)).toEqual(expected);
  });

  it('does not check listed addresses against held ones (the merge reports that conflict)', () => {
    expect(resolve({ addresses: ['192.168.1.10'] }, ['192.168.1.10'])).toEqual(['192.168.1.10']);
  });

  it.each<[string, ContainerIps, { field: string; reason: string }[]]>([
    [
      'an address outside the subnet',
      { addresses: ['192.168.1.101', '192.168.2.5'] },
      [{ field: 'containerIps.addresses[1]', reason: outside('192.168.2.5') }],
    ],
    [
      'the network, gateway and broadcast addresses',
      { addresses: ['192.168.1.0', '192.168.1.1', '192.168.1.101', '192.168.1.255'] },
      [
        { field: 'containerIps.addresses[0]', reason: reserved('192.168.1.0') },
        { field: 'containerIps.addresses[1]', reason: reserved('192.168.1.1') },
        { field: 'containerIps.addresses[3]', reason: reserved('192.168.1.255') },
      ],
    ],
    [
      'a range starting at the gateway',
      range('192.168.1.1', '192.168.1.5'),
      [{ field: 'containerIps.range.first', reason: reserved('192.168.1.1') }],
    ],
    [
      'a range ending at the broadcast address',
      range('192.168.1.250', '192.168.1.255'),
      [{ field: 'containerIps.range.last', reason: reserved('192.168.1.255') }],
    ],
    [
      'a range wholly outside the subnet, once per end',
      range('192.168.0.250', '192.168.0.255'),
      [
        { field: 'containerIps.range.first', reason: outside('192.168.0.250') },
        { field: 'containerIps.range.last', reason: outside('192.168.0.255') },
      ],
    ],
    [
      'a range running past the subnet',
      range('192.168.1.254', '192.168.2.3'),
      [{ field: 'containerIps.range.last', reason: outside('192.168.2.3') }],
    ],
  ])('rejects %s with PrivateIPAddressNotInSubnet naming the fields', (_name, ips, issues) => {
    const error = thrownBy(() => resolve(ips));
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({ code: 'PrivateIPAddressNotInSubnet', retryable: false });
    expect((error as ValidationError).issues).toEqual(issues);
  });

  it.each<[string, ContainerIps]>([
    ['a range starting at the network address', range('192.168.1.0', '192.168.1.20')],
    ['a range starting below the subnet', range('192.168.0.250', '192.168.1.20')],
  ])('does not blame range.last (a valid host address) for %s', (_name, ips) => {
    const error = thrownBy(() => resolve(ips)) as ValidationError;
    expect(error.code).toBe('PrivateIPAddressNotInSubnet');
    expect(error.issues.map((i) => i.field)).not.toContain('containerIps.range.last');
  });

  it.each<[string, number, string[], string, string[]]>([
    ['skips network and gateway', 3, [], '192.168.1.0/24', ['192.168.1.2', '192.168.1.3', '192.168.1.4']],
    [
      'skips addresses held anywhere in the controller',
      3,
      ['192.168.1.2', '192.168.1.4', '192.168.1.9', '192.168.1.10', '10.20.1.9'],
      '192.168.1.0/24',
      ['192.168.1.3', '192.168.1.5', '192.168.1.6'],
    ],
    ['skips the broadcast address', 5, [], '10.0.0.0/29', ['10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6']],
    [
      'takes what is left of a nearly full subnet',
      1,
      ['10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.6'],
      '10.0.0.0/29',
      ['10.0.0.5'],
    ],
  ])('count %s', (_name, count, held, cidr, expected) => {
    expect(resolve({ count }, held, parseIpv4Cidr(cidr))).toEqual(expected);
  });

  it.each<[string, number, string[], string]>([
    ['more than the subnet has', 6, [], '10.0.0.0/29'],
    ['more than is free', 2, ['10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5'], '10.0.0.0/29'],
    ['any address of a /31', 1, [], '10.0.0.0/31'],
  ])('count fails with SubnetIsFull when asking for %s', (_name, count, held, cidr) => {
    const error = thrownBy(() => resolve({ count }, held, parseIpv4Cidr(cidr)));
    expect(error).toBeInstanceOf(StepError);
    expect(error).toMatchObject({ code: 'SubnetIsFull', retryable: false });
    expect((error as Error).message).toBe(`Subnet Subnet1 has fewer than ${count} free addresses.`);
  });

  it('count ignores held addresses that are not IPv4 (dual-stack NICs elsewhere on the controller)', () => {
    expect(resolve({ count: 1 }, ['192.168.1.2', 'fd00:1::9'])).toEqual(['192.168.1.3']);
  });
});

describe('mergeIpConfigurations: who owns an address on the NIC', () => {
  const tagged = (address: string, owner?: string): IpConfiguration => ({
    ...containerConfig(address),
    ...(owner ? { tags: { [OWNER_TAG]: owner } } : {}),
  });
  const ME = ownerOf('contoso', 'seed-1');
  const OTHER = ownerOf('fabrikam', 'other-1');

  it.each([
    { name: 'new address: added with our tag', on: [], alreadyPresent: [], adopted: [], added: ['192.168.1.101'] },
    {
      name: 'ours already (a re-run): nothing to write',
      on: [tagged('192.168.1.101', ME)],
      alreadyPresent: ['192.168.1.101'],
      adopted: [],
      added: [],
    },
    {
      name: 'there with no owner (added by hand): adopted, the tag written',
      on: [tagged('192.168.1.101')],
      alreadyPresent: [],
      adopted: ['192.168.1.101'],
      added: [],
    },
  ])('$name', ({ on, alreadyPresent, adopted, added }) => {
    const nic = withIpConfigurations(seedNic(), ...on);
    const result = mergeIpConfigurations({ nic, addresses: ['192.168.1.101'], subnetRef: SUBNET_REF, owner: ME });
    expect({ added: result.added, alreadyPresent: result.alreadyPresent, adopted: result.adopted }).toEqual({
      added,
      alreadyPresent,
      adopted,
    });
    const written = result.body?.properties.ipConfigurations.find((c) => c.resourceId === 'IP_192_168_1_101');
    expect(written?.tags?.[OWNER_TAG]).toBe(result.body ? ME : undefined);
    // Nothing read-only goes back, and the seed configuration is untouched.
    expect(
      result.body?.properties.ipConfigurations.every((c) => c.etag === undefined && c.resourceRef === undefined) ??
        true,
    ).toBe(true);
  });

  it('refuses an address another attachment owns on this NIC, with the controller’s code', () => {
    const nic = withIpConfigurations(seedNic(), tagged('192.168.1.101', OTHER));
    expect(() =>
      mergeIpConfigurations({ nic, addresses: ['192.168.1.101'], subnetRef: SUBNET_REF, owner: ME }),
    ).toThrow(/192\.168\.1\.101 \(held by ContainerHostVM1_Net0\/IP_192_168_1_101 for another attachment\)/);
    const error = (() => {
      try {
        mergeIpConfigurations({ nic, addresses: ['192.168.1.101'], subnetRef: SUBNET_REF, owner: ME });
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toMatchObject({ code: 'PrivateIPAddressInUse', retryable: false });
  });

  it.each([
    ['ours', ME, []],
    ['untagged (a controller that keeps no tags)', undefined, []],
    ['another attachment’s', OTHER, ['192.168.1.101']],
  ] as const)('after the write, an address tagged %s counts as missing: %j', (_, owner, missing) => {
    const nic = withIpConfigurations(seedNic(), tagged('192.168.1.101', owner));
    expect(missingAddresses(nic, ['192.168.1.101'], SUBNET_REF, ME)).toEqual(missing);
  });
});

describe('mergeIpConfigurations', () => {
  const newConfig = (address: string, acl = true) => ({
    resourceId: `IP_${address.replaceAll('.', '_')}`,
    properties: {
      privateIPAddress: address,
      privateIPAllocationMethod: 'Static',
      subnet: { resourceRef: SUBNET_REF },
      ...(acl ? { accessControlList: { resourceRef: ACL_REF } } : {}),
    },
  });
  const existingWritable = {
    resourceId: 'ContainerHostVM1_IP0',
    properties: {
      privateIPAddress: '192.168.1.9',
      privateIPAllocationMethod: 'Static',
      subnet: { resourceRef: SUBNET_REF },
      accessControlList: { resourceRef: ACL_REF },
    },
  };

  it('appends one static configuration per address and returns the whole NIC without read-only fields', () => {
    const input = seedNic();
    const result = mergeIpConfigurations({
      nic: input,
      addresses: ['192.168.1.101', '192.168.1.102'],
      subnetRef: SUBNET_REF,
      aclRef: ACL_REF,
    });
    expect(result.added).toEqual(['192.168.1.101', '192.168.1.102']);
    expect(result.alreadyPresent).toEqual([]);
    expect(result.body).toStrictEqual({
      resourceId: 'ContainerHostVM1_Net0',
      tags: { vm: 'ContainerHostVM1' },
      properties: {
        privateMacAddress: '00155D380101',
        privateMacAllocationMethod: 'Static',
        isPrimary: true,
        dnsSettings: { dnsServers: ['10.50.34.10'] },
        portSettings: { macSpoofingEnabled: false, arpGuardEnabled: false, vmqWeight: 100 },
        ipConfigurations: [existingWritable, newConfig('192.168.1.101'), newConfig('192.168.1.102')],
      },
    });
    expect(input).toStrictEqual(seedNic());
  });

  it('adds no accessControlList reference when no ACL is given, and keeps the existing one on old configurations', () => {
    const result = mergeIpConfigurations({ nic: seedNic(), addresses: ['192.168.1.101'], subnetRef: SUBNET_REF });
    expect(result.body?.properties.ipConfigurations).toStrictEqual([
      existingWritable,
      newConfig('192.168.1.101', false),
    ]);
  });

  it.each([
    ['resourceRef', (n: NetworkInterface) => n.resourceRef],
    ['etag', (n: NetworkInterface) => n.etag],
    ['instanceId', (n: NetworkInterface) => n.instanceId],
    ['properties.provisioningState', (n: NetworkInterface) => n.properties.provisioningState],
    ['properties.configurationState', (n: NetworkInterface) => n.properties.configurationState],
    ['properties.server', (n: NetworkInterface) => n.properties.server],
    ['properties.runningState', (n: NetworkInterface) => n.properties.runningState],
    ['properties.serviceInsertionElements', (n: NetworkInterface) => n.properties.serviceInsertionElements],
    ['ipConfigurations[0].resourceRef', (n: NetworkInterface) => n.properties.ipConfigurations[0]?.resourceRef],
    ['ipConfigurations[0].etag', (n: NetworkInterface) => n.properties.ipConfigurations[0]?.etag],
    ['ipConfigurations[0].instanceId', (n: NetworkInterface) => n.properties.ipConfigurations[0]?.instanceId],
    [
      'ipConfigurations[0].properties.provisioningState',
      (n: NetworkInterface) => n.properties.ipConfigurations[0]?.properties.provisioningState,
    ],
  ])('strips the read-only %s from the PUT body', (_field, read) => {
    const input = seedNic();
    input.properties.server = { resourceRef: '/servers/HV01' };
    input.properties.runningState = 'Running';
    input.properties.serviceInsertionElements = [];
    expect(read(input)).toBeDefined();
    const { body } = mergeIpConfigurations({ nic: input, addresses: ['192.168.1.101'], subnetRef: SUBNET_REF });
    expect(body).toBeDefined();
    expect(read(body as NetworkInterface)).toBeUndefined();
  });

  it('keeps fields it does not know about on the NIC and on existing configurations', () => {
    const input = seedNic();
    const existing = input.properties.ipConfigurations[0] as IpConfiguration;
    existing.tags = { owner: 'vmm' };
    existing.properties.loadBalancerBackendAddressPools = [
      { resourceRef: '/loadBalancers/LB1/backendAddressPools/P1' },
    ];
    input.properties.qosSettings = { outboundReservedValue: 0 };
    const { body } = mergeIpConfigurations({ nic: input, addresses: ['192.168.1.101'], subnetRef: SUBNET_REF });
    expect(body?.properties).toMatchObject({
      qosSettings: { outboundReservedValue: 0 },
      privateMacAddress: '00155D380101',
      dnsSettings: { dnsServers: ['10.50.34.10'] },
      portSettings: { macSpoofingEnabled: false, arpGuardEnabled: false, vmqWeight: 100 },
    });
    expect(body?.tags).toEqual({ vm: 'ContainerHostVM1' });
    expect(body?.properties.ipConfigurations[0]).toStrictEqual({
      ...existingWritable,
      tags: { owner: 'vmm' },
      properties: {
        ...existingWritable.properties,
        loadBalancerBackendAddressPools: [{ resourceRef: '/loadBalancers/LB1/backendAddressPools/P1' }],
      },
    });
  });

  it('returns no body when every address is already on the NIC under its id (a re-run)', () => {
    const input = withIpConfigurations(seedNic(), containerConfig('192.168.1.101'), containerConfig('192.168.1.102'));
    const result = mergeIpConfigurations({
      nic: input,
      addresses: ['192.168.1.101', '192.168.1.102'],
      subnetRef: SUBNET_REF,
      aclRef: ACL_REF,
      holders: addressHolders([input, neighbour()]),
    });
    expect(result).toStrictEqual({ added: [], alreadyPresent: ['192.168.1.101', '192.168.1.102'], adopted: [] });
  });

  it('recognises its own configuration whatever the case of the id', () => {
    const input = withIpConfigurations(seedNic(), containerConfig('192.168.1.101', 'ip_192_168_1_101'));
    const result = mergeIpConfigurations({ nic: input, addresses: ['192.168.1.101'], subnetRef: SUBNET_REF });
    expect(result).toStrictEqual({ added: [], alreadyPresent: ['192.168.1.101'], adopted: [] });
  });

  it('adds only the missing addresses of a partly applied request, keeping the present one as it is', () => {
    const input = withIpConfigurations(seedNic(), containerConfig('192.168.1.101'));
    const result = mergeIpConfigurations({
      nic: input,
      addresses: ['192.168.1.101', '192.168.1.102'],
      subnetRef: SUBNET_REF,
      aclRef: ACL_REF,
    });
    expect(result.added).toEqual(['192.168.1.102']);
    expect(result.alreadyPresent).toEqual(['192.168.1.101']);
    expect(result.body?.properties.ipConfigurations).toStrictEqual([
      existingWritable,
      {
        resourceId: 'IP_192_168_1_101',
        properties: {
          privateIPAddress: '192.168.1.101',
          privateIPAllocationMethod: 'Static',
          subnet: { resourceRef: SUBNET_REF },
        },
      },
      newConfig('192.168.1.102'),
    ]);
  });

  it('does not count this NIC in holders as a conflict (holders from the same read)', () => {
    const input = seedNic();
    const holders = addressHolders([input, neighbour()]);
    const result = mergeIpConfigurations({ nic: input, addresses: ['192.168.1.101'], subnetRef: SUBNET_REF, holders });
    expect(result.added).toEqual(['192.168.1.101']);
  });

  it.each<[string, NetworkInterface, string[], string[]]>([
    [
      'an address held by another NIC',
      seedNic(),
      ['192.168.1.101', '192.168.1.10'],
      ['192.168.1.10 (held by ContainerHostVM2_Net0/ContainerHostVM2_IP0)'],
    ],
    [
      'an address held by this NIC under another id',
      seedNic(),
      ['192.168.1.9'],
      ['192.168.1.9 (held by ContainerHostVM1_Net0/ContainerHostVM1_IP0)'],
    ],
    [
      'the expected id holding another address',
      withIpConfigurations(seedNic(), containerConfig('192.168.1.200', 'IP_192_168_1_101')),
      ['192.168.1.101'],
      ['192.168.1.101 (ContainerHostVM1_Net0 already has IP_192_168_1_101 for 192.168.1.200)'],
    ],
    [
      'several conflicts at once',
      seedNic(),
      ['192.168.1.9', '192.168.1.101', '192.168.1.10'],
      [
        '192.168.1.9 (held by ContainerHostVM1_Net0/ContainerHostVM1_IP0)',
        '192.168.1.10 (held by ContainerHostVM2_Net0/ContainerHostVM2_IP0)',
      ],
    ],
  ])('fails with PrivateIPAddressInUse before any write for %s', (_name, input, addresses, conflicts) => {
    const holders = addressHolders([input, neighbour()]);
    const error = thrownBy(() =>
      mergeIpConfigurations({ nic: input, addresses, subnetRef: SUBNET_REF, aclRef: ACL_REF, holders }),
    );
    expect(error).toBeInstanceOf(StepError);
    expect(error).toMatchObject({ code: 'PrivateIPAddressInUse', source: 'NetworkController', retryable: false });
    expect((error as Error).message).toBe(`Addresses already in use: ${conflicts.join('; ')}.`);
  });

  it('names every other holder of an address', () => {
    const holders = addressHolders([seedNic(), neighbour(), nic('Clash_Net0', ['Clash_IP0', '192.168.1.10'])]);
    const error = thrownBy(() =>
      mergeIpConfigurations({ nic: seedNic(), addresses: ['192.168.1.10'], subnetRef: SUBNET_REF, holders }),
    );
    expect((error as Error).message).toContain(
      'held by ContainerHostVM2_Net0/ContainerHostVM2_IP0, Clash_Net0/Clash_IP0',
    );
  });

  it('without holders, only this NIC is checked', () => {
    const result = mergeIpConfigurations({ nic: seedNic(), addresses: ['192.168.1.10'], subnetRef: SUBNET_REF });
    expect(result.added).toEqual(['192.168.1.10']);
  });
});

describe('missingAddresses', () => {
  const applied = withIpConfigurations(seedNic(), containerConfig('192.168.1.101'), containerConfig('192.168.1.102'));

  it.each<[string, NetworkInterface, string[], string, string[]]>([
    ['nothing when every address is there', applied, ['192.168.1.101', '192.168.1.102'], SUBNET_REF, []],
    ['nothing when the subnet ref differs only in case', applied, ['192.168.1.101'], SUBNET_REF.toLowerCase(), []],
    ['an address that is absent', applied, ['192.168.1.101', '192.168.1.103'], SUBNET_REF, ['192.168.1.103']],
    ['an address under another id', applied, ['192.168.1.9', '192.168.1.101'], SUBNET_REF, ['192.168.1.9']],
    [
      'addresses on another subnet',
      applied,
      ['192.168.1.101', '192.168.1.102'],
      '/virtualNetworks/VNet1/subnets/Subnet2',
      ['192.168.1.101', '192.168.1.102'],
    ],
    [
      'an address whose configuration has no subnet',
      withIpConfigurations(seedNic(), {
        resourceId: 'IP_192_168_1_101',
        properties: { privateIPAddress: '192.168.1.101' },
      }),
      ['192.168.1.101'],
      SUBNET_REF,
      ['192.168.1.101'],
    ],
  ])('reports %s', (_name, input, addresses, subnetRef, expected) => {
    expect(missingAddresses(input, addresses, subnetRef)).toEqual(expected);
  });
});

describe('conflict messages name the asking tenant’s own attachment, never another tenant’s', () => {
  const ME = ownerOf('contoso', 'seed-1');
  const tagged = (address: string, owner: string): IpConfiguration => ({
    ...containerConfig(address),
    tags: { [OWNER_TAG]: owner },
  });
  const conflictOf = (input: Parameters<typeof mergeIpConfigurations>[0]) =>
    (thrownBy(() => mergeIpConfigurations(input)) as Error).message;

  it('on this NIC: names the attachment of the same tenant, and says how to release the address', () => {
    const nic = withIpConfigurations(seedNic(), tagged('192.168.1.101', ownerOf('contoso', 'typo')));
    expect(conflictOf({ nic, addresses: ['192.168.1.101'], subnetRef: SUBNET_REF, owner: ME })).toBe(
      'Addresses already in use: 192.168.1.101 (held by ContainerHostVM1_Net0/IP_192_168_1_101 for attachment typo of this tenant; detach it to release the address).',
    );
  });

  it('on another NIC: the same, from the holders of the same read', () => {
    const other = nic('ContainerHostVM2_Net0', ['IP_192_168_1_101', '192.168.1.101']);
    other.properties.ipConfigurations[0]!.tags = { [OWNER_TAG]: ownerOf('contoso', 'typo') };
    const holders = addressHolders([seedNic(), other]);
    expect(
      conflictOf({ nic: seedNic(), addresses: ['192.168.1.101'], subnetRef: SUBNET_REF, holders, owner: ME }),
    ).toContain(
      'held by ContainerHostVM2_Net0/IP_192_168_1_101 for attachment typo of this tenant; detach it to release the address',
    );
  });

  it.each([
    ['another tenant', ownerOf('fabrikam', 'secret-att')],
    ['a tenant whose id starts with the asking one’s', ownerOf('contoso2', 'secret-att')],
    ['a tenant whose id the asking one’s starts with', ownerOf('contos', 'secret-att')],
  ])('%s: “for another attachment”, naming neither the tenant nor the attachment', (_, holder) => {
    const onNic = withIpConfigurations(seedNic(), tagged('192.168.1.101', holder));
    const other = nic('ContainerHostVM2_Net0', ['IP_192_168_1_102', '192.168.1.102']);
    other.properties.ipConfigurations[0]!.tags = { [OWNER_TAG]: holder };
    for (const message of [
      conflictOf({ nic: onNic, addresses: ['192.168.1.101'], subnetRef: SUBNET_REF, owner: ME }),
      conflictOf({
        nic: seedNic(),
        addresses: ['192.168.1.102'],
        subnetRef: SUBNET_REF,
        holders: addressHolders([seedNic(), other]),
        owner: ME,
      }),
    ]) {
      expect(message).toContain('for another attachment');
      expect(message).not.toMatch(/secret-att|fabrikam|contoso2|contos\b|of this tenant/);
    }
  });

  it('an asker without an owner learns of no attachment by name', () => {
    const onNic = withIpConfigurations(seedNic(), tagged('192.168.1.101', ownerOf('contoso', 'typo')));
    const other = nic('ContainerHostVM2_Net0', ['IP_192_168_1_102', '192.168.1.102']);
    other.properties.ipConfigurations[0]!.tags = { [OWNER_TAG]: ownerOf('contoso', 'typo') };
    const message = conflictOf({
      nic: onNic,
      addresses: ['192.168.1.102'],
      subnetRef: SUBNET_REF,
      holders: addressHolders([onNic, other]),
    });
    expect(message).toContain('for another attachment');
    expect(message).not.toContain('typo');
  });
});

describe('releaseIpConfigurations', () => {
  const ME = ownerOf('contoso', 'seed-1');
  const LB_POOLS = [{ resourceRef: '/loadBalancers/lb1/backendAddressPools/pool1' }];
  const LB_NAT = [{ resourceRef: '/loadBalancers/lb1/inboundNatRules/rdp' }];

  const owned = (address: string, owner: string, extra: Record<string, unknown> = {}): IpConfiguration => ({
    ...containerConfig(address),
    tags: { [OWNER_TAG]: owner, ...extra },
  });
  const withLb = (ipc: IpConfiguration): IpConfiguration => ({
    ...ipc,
    properties: { ...ipc.properties, loadBalancerBackendAddressPools: LB_POOLS, loadBalancerInboundNatRules: LB_NAT },
  });
  /** An IP configuration as a PUT body carries it: read-only fields off, everything else kept. */
  const writable = (ipc: IpConfiguration): IpConfiguration => {
    const { resourceRef: _r, etag: _e, instanceId: _i, properties, ...rest } = ipc;
    const { provisioningState: _p, ...props } = properties;
    return { ...rest, properties: props };
  };

  /**
   * Everything a NIC may hold: its own primary address; two addresses this attachment added; one it adopted (with a
   * tag of someone else's beside ours, and load balancer references); one of another tenant's attachment and one of
   * another attachment of the same tenant (each referenced by a load balancer); one added by hand, untagged.
   */
  const nicOfMany = () =>
    withIpConfigurations(
      seedNic(),
      owned('192.168.1.101', ME),
      owned('192.168.1.102', ME),
      withLb(owned('192.168.1.103', ME, { [ADOPTED_TAG]: 'true', costCenter: 'ops' })),
      withLb(owned('192.168.1.104', ownerOf('fabrikam', 'f-1'))),
      withLb(owned('192.168.1.105', ownerOf('contoso', 'seed-2'))),
      { ...withLb(containerConfig('192.168.1.106')), tags: { note: 'by hand' } },
      containerConfig('192.168.1.107'),
    );

  it('removes what the attachment added, gives back what it adopted, and leaves everything else exactly as it was', () => {
    const input = nicOfMany();
    const result = releaseIpConfigurations(input, ME);
    expect(result.removed).toEqual(['192.168.1.101', '192.168.1.102']);
    expect(result.returned).toEqual(['192.168.1.103']);
    const [primary, , , adopted, fabrikam, sibling, byHand, untagged] = input.properties.ipConfigurations;
    const { tags: _ours, ...adoptedWithoutTags } = writable(adopted!);
    expect(result.body?.properties.ipConfigurations).toStrictEqual([
      writable(primary!),
      // Given back untagged of ours, with the tags and load balancer references it had besides.
      { ...adoptedWithoutTags, tags: { costCenter: 'ops' } },
      writable(fabrikam!),
      writable(sibling!),
      writable(byHand!),
      writable(untagged!),
    ]);
    for (const ipc of result.body?.properties.ipConfigurations.slice(1, 5) ?? []) {
      expect(ipc.properties.loadBalancerBackendAddressPools).toEqual(LB_POOLS);
      expect(ipc.properties.loadBalancerInboundNatRules).toEqual(LB_NAT);
    }
  });

  it('writes the whole NIC back without its read-only fields, everything else kept', () => {
    const body = releaseIpConfigurations(nicOfMany(), ME).body;
    expect(body).toBeDefined();
    const { ipConfigurations: _all, ...properties } = body!.properties;
    expect(body).toMatchObject({ resourceId: 'ContainerHostVM1_Net0', tags: { vm: 'ContainerHostVM1' } });
    expect(body).not.toHaveProperty('resourceRef');
    expect(body).not.toHaveProperty('etag');
    expect(body).not.toHaveProperty('instanceId');
    expect(properties).toStrictEqual({
      privateMacAddress: '00155D380101',
      privateMacAllocationMethod: 'Static',
      isPrimary: true,
      dnsSettings: { dnsServers: ['10.50.34.10'] },
      portSettings: { macSpoofingEnabled: false, arpGuardEnabled: false, vmqWeight: 100 },
    });
  });

  it('an adopted configuration with no other tags goes back with no tags at all, as it was before', () => {
    const before = withIpConfigurations(seedNic(), containerConfig('192.168.1.150'));
    const adopted = mergeIpConfigurations({
      nic: before,
      addresses: ['192.168.1.150'],
      subnetRef: SUBNET_REF,
      owner: ME,
    });
    expect(adopted.adopted).toEqual(['192.168.1.150']);
    const released = releaseIpConfigurations(adopted.body!, ME);
    expect(released).toMatchObject({ removed: [], returned: ['192.168.1.150'] });
    expect(released.body?.properties.ipConfigurations).toStrictEqual(before.properties.ipConfigurations.map(writable));
    expect(released.body?.properties.ipConfigurations[1]).not.toHaveProperty('tags');
  });

  it('undoes its own merge exactly: add, then release, leaves the NIC as it was', () => {
    const before = nicOfMany();
    const mine = ownerOf('contoso', 'round-trip');
    const merged = mergeIpConfigurations({
      nic: before,
      addresses: ['192.168.1.120', '192.168.1.121'],
      subnetRef: SUBNET_REF,
      aclRef: ACL_REF,
      owner: mine,
    });
    const released = releaseIpConfigurations(merged.body!, mine);
    expect(released.removed).toEqual(['192.168.1.120', '192.168.1.121']);
    expect(released.body?.properties.ipConfigurations).toStrictEqual(before.properties.ipConfigurations.map(writable));
  });

  it.each([
    ['nothing of the owner’s is on the NIC', seedNic()],
    [
      'only others’ and untagged configurations',
      withIpConfigurations(
        seedNic(),
        owned('192.168.1.104', ownerOf('fabrikam', 'seed-1')),
        owned('192.168.1.105', ownerOf('contoso', 'seed-10')),
        owned('192.168.1.106', ownerOf('Contoso', 'seed-1')),
        owned('192.168.1.107', ownerOf('contoso', 'other'), { [ADOPTED_TAG]: 'true' }),
        containerConfig('192.168.1.108'),
      ),
    ],
  ])('writes nothing when %s (owners match exactly, tenant and attachment)', (_, input) => {
    expect(releaseIpConfigurations(input, ME)).toEqual({ removed: [], returned: [] });
    expect(ownedAddresses(input, ME)).toEqual([]);
  });

  it('ownedAddresses lists the owner’s configurations, adopted ones too, and none once the release is written', () => {
    const input = nicOfMany();
    expect(ownedAddresses(input, ME)).toEqual(['192.168.1.101', '192.168.1.102', '192.168.1.103']);
    expect(ownedAddresses(input, ownerOf('fabrikam', 'f-1'))).toEqual(['192.168.1.104']);
    const body = releaseIpConfigurations(input, ME).body!;
    expect(ownedAddresses(body, ME)).toEqual([]);
    expect(releaseIpConfigurations(body, ME)).toEqual({ removed: [], returned: [] });
  });

  it('names a configuration without an address by its id', () => {
    const input = withIpConfigurations(seedNic(), {
      resourceId: 'IP_dynamic',
      tags: { [OWNER_TAG]: ME },
      properties: { privateIPAllocationMethod: 'Dynamic', subnet: { resourceRef: SUBNET_REF } },
    });
    expect(ownedAddresses(input, ME)).toEqual(['IP_dynamic']);
    expect(releaseIpConfigurations(input, ME).removed).toEqual(['IP_dynamic']);
  });
});
