import { newGuid } from './http';
import { insertRaw } from './raw';
import type { ResourceStore } from './store';
import type { ConfigurationState, JsonObject } from './types';

/**
 * The README scenario: contoso's VNet1 with an AllowAll ACL and a container host VM whose NIC holds 192.168.1.9,
 * plus neighbours (another container host, a VM on a second subnet) so IP clashes have something to hit. A second
 * tenant, fabrikam, has VNet2, which reuses VNet1's prefixes (HNV gives every virtual network its own address
 * space): its FabrikamVM1_Net0 holds 192.168.1.9 too, so every address question must name its virtual network.
 * Other code relies on these exact names.
 */
export const SEED = {
  acl: '/accessControlLists/AllowAll',
  vnet1: '/virtualNetworks/VNet1',
  vnet1Subnet1: '/virtualNetworks/VNet1/subnets/Subnet1',
  vnet1Subnet2: '/virtualNetworks/VNet1/subnets/Subnet2',
  vnet2: '/virtualNetworks/VNet2',
  vnet2Subnet1: '/virtualNetworks/VNet2/subnets/Subnet1',
  containerHostNic: '/networkInterfaces/ContainerHostVM1_Net0',
  containerHostIp: '192.168.1.9',
  fabrikamNic: '/networkInterfaces/FabrikamVM1_Net0',
  /** The same address as containerHostIp, on VNet2/Subnet1. */
  fabrikamIp: '192.168.1.9',
} as const;

function healthy(instanceId: string): ConfigurationState {
  return { status: 'Success', detailedInfo: [], lastUpdatedTime: new Date().toISOString(), id: instanceId };
}

function withHealth(body: JsonObject & { properties: JsonObject }): JsonObject {
  const instanceId = newGuid();
  return { ...body, instanceId, properties: { ...body.properties, configurationState: healthy(instanceId) } };
}

function allowRule(type: 'Inbound' | 'Outbound'): JsonObject {
  return {
    resourceId: `AllowAll_${type}`,
    properties: {
      protocol: 'All',
      sourcePortRange: '0-65535',
      destinationPortRange: '0-65535',
      action: 'Allow',
      sourceAddressPrefix: '*',
      destinationAddressPrefix: '*',
      priority: '101',
      type,
      logging: 'Enabled',
    },
  };
}

interface SeedNic {
  name: string;
  vm: string;
  ipConfiguration: string;
  mac: string;
  address: string;
  subnet: string;
  acl?: string;
  /** The Hyper-V host the VM runs on (`properties.server`); none for a VM the controller has not placed. */
  server?: string;
}

const NICS: readonly SeedNic[] = [
  {
    name: 'ContainerHostVM1_Net0',
    vm: 'ContainerHostVM1',
    ipConfiguration: 'ContainerHostVM1_IP0',
    mac: '00155D380101',
    address: SEED.containerHostIp,
    subnet: SEED.vnet1Subnet1,
    acl: SEED.acl,
    server: '/servers/HV01',
  },
  {
    name: 'ContainerHostVM2_Net0',
    vm: 'ContainerHostVM2',
    ipConfiguration: 'ContainerHostVM2_IP0',
    mac: '00155D380102',
    address: '192.168.1.10',
    subnet: SEED.vnet1Subnet1,
    acl: SEED.acl,
    server: '/servers/HV01',
  },
  {
    name: 'TenantVM3_Net0',
    vm: 'TenantVM3',
    ipConfiguration: 'TenantVM3_IP0',
    mac: '00155D380103',
    address: '192.168.2.9',
    subnet: SEED.vnet1Subnet2,
  },
  {
    name: 'FabrikamVM1_Net0',
    vm: 'FabrikamVM1',
    ipConfiguration: 'FabrikamVM1_IP0',
    mac: '00155D380201',
    address: SEED.fabrikamIp,
    subnet: SEED.vnet2Subnet1,
    server: '/servers/HV01',
  },
];

function nicBody(nic: SeedNic): JsonObject {
  return withHealth({
    resourceId: nic.name,
    tags: { vm: nic.vm },
    properties: {
      ipConfigurations: [
        {
          resourceId: nic.ipConfiguration,
          properties: {
            privateIPAddress: nic.address,
            privateIPAllocationMethod: 'Static',
            subnet: { resourceRef: nic.subnet },
            ...(nic.acl === undefined ? {} : { accessControlList: { resourceRef: nic.acl } }),
          },
        },
      ],
      dnsSettings: { dnsServers: ['10.50.34.10'] },
      ...(nic.server === undefined ? {} : { server: { resourceRef: nic.server } }),
      privateMacAddress: nic.mac,
      privateMacAllocationMethod: 'Static',
      isPrimary: true,
      isHostVirtualNetworkInterface: false,
      isMultitenantStack: false,
      portSettings: {
        macSpoofingEnabled: false,
        arpGuardEnabled: false,
        dhcpGuardEnabled: false,
        stormLimit: 0,
        portFlowLimit: 0,
        iovWeight: 0,
        iovInterruptModeration: 'Default',
        iovQueuePairsRequested: 1,
        vmqWeight: 100,
      },
    },
  });
}

export function seedScenario(store: ResourceStore): void {
  insertRaw(
    store,
    '/logicalNetworks/HNVPA',
    withHealth({
      resourceId: 'HNVPA',
      properties: {
        networkVirtualizationEnabled: 'True',
        subnets: [
          {
            resourceId: 'HNVPA_0',
            properties: { addressPrefix: '10.10.56.0/23', vlanID: '11', defaultGateways: ['10.10.56.1'] },
          },
        ],
      },
    }),
  );
  insertRaw(
    store,
    SEED.acl,
    withHealth({
      resourceId: 'AllowAll',
      properties: {
        aclRules: [allowRule('Inbound'), allowRule('Outbound')],
        inboundDefaultAction: 'Permit',
        outboundDefaultAction: 'Permit',
      },
    }),
  );
  insertRaw(
    store,
    SEED.vnet1,
    withHealth({
      resourceId: 'VNet1',
      properties: {
        addressSpace: { addressPrefixes: ['192.168.0.0/16'] },
        logicalNetwork: { resourceRef: '/logicalNetworks/HNVPA' },
        subnets: [
          {
            resourceId: 'Subnet1',
            properties: { addressPrefix: '192.168.1.0/24', accessControlList: { resourceRef: SEED.acl } },
          },
          { resourceId: 'Subnet2', properties: { addressPrefix: '192.168.2.0/24' } },
        ],
      },
    }),
  );
  insertRaw(
    store,
    SEED.vnet2,
    withHealth({
      resourceId: 'VNet2',
      properties: {
        // The same prefixes as VNet1: another tenant's address space.
        addressSpace: { addressPrefixes: ['192.168.0.0/16'] },
        logicalNetwork: { resourceRef: '/logicalNetworks/HNVPA' },
        subnets: [{ resourceId: 'Subnet1', properties: { addressPrefix: '192.168.1.0/24' } }],
      },
    }),
  );
  // The Hyper-V host the seeded VMs run on, as the controller knows it (SdnDiagnostics' Get-SdnServer reads its
  // management addresses from properties.connections[].managementAddresses).
  insertRaw(
    store,
    '/servers/HV01',
    withHealth({
      resourceId: 'HV01',
      properties: {
        connections: [{ managementAddresses: ['HV01.sdn.lab', '10.127.132.11'], credentialType: 'X509Certificate' }],
      },
    }),
  );
  for (const nic of NICS) insertRaw(store, `/networkInterfaces/${nic.name}`, nicBody(nic));
}
