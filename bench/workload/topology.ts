import { randomUUID } from 'node:crypto';

import type { RawResource } from '../infra/ncAdmin';

/**
 * The bench's tenant network in the Network Controller emulator, next to the seed scenario: one virtual network
 * with one /16 subnet and one ACL, and one NIC per attachment (one container host VM per attachment). Attachment i
 * owns the 16-address block i+1 of the subnet: the NIC's own address is the block's first host, the container
 * addresses follow it. Block 0 holds the network and gateway addresses; the last block holds the broadcast
 * address, and the emulator rejects all three.
 */
export const BENCH_VNET = 'BenchVNet';
export const BENCH_SUBNET = 'BenchSubnet';
export const BENCH_ACL = 'BenchAcl';
const BENCH_PREFIX = [172, 16];
const BLOCK_SIZE = 16;
export const MAX_ATTACHMENTS = 65_536 / BLOCK_SIZE - 2;
export const MAX_CONTAINERS_PER_ATTACHMENT = BLOCK_SIZE - 2;

/** Filler NICs for the lookup scenario live in a virtual network of their own, so they never take bench addresses. */
const FILL_VNET = 'BenchFillVNet';
const FILL_SUBNET = 'FillSubnet';
const FILL_PREFIX = [10, 64];

const SUBNET_REF = `/virtualNetworks/${BENCH_VNET}/subnets/${BENCH_SUBNET}`;
const ACL_REF = `/accessControlLists/${BENCH_ACL}`;
const FILL_SUBNET_REF = `/virtualNetworks/${FILL_VNET}/subnets/${FILL_SUBNET}`;

function address(prefix: number[], offset: number): string {
  return `${prefix[0]}.${prefix[1]}.${Math.floor(offset / 256)}.${offset % 256}`;
}

export function nicIdFor(index: number): string {
  return `bench-vm${index}_Net0`;
}

export function nicAddressFor(index: number): string {
  checkIndex(index);
  return address(BENCH_PREFIX, (index + 1) * BLOCK_SIZE + 1);
}

export function containerAddressesFor(index: number, count: number): string[] {
  checkIndex(index);
  if (count < 1 || count > MAX_CONTAINERS_PER_ATTACHMENT) throw new RangeError(`containers per attachment: ${count}`);
  const first = (index + 1) * BLOCK_SIZE + 2;
  return Array.from({ length: count }, (_, k) => address(BENCH_PREFIX, first + k));
}

function checkIndex(index: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= MAX_ATTACHMENTS) throw new RangeError(`attachment ${index}`);
}

function healthy(body: Record<string, unknown> & { properties: Record<string, unknown> }): Record<string, unknown> {
  const instanceId = randomUUID();
  const configurationState = {
    status: 'Success',
    detailedInfo: [],
    lastUpdatedTime: new Date().toISOString(),
    id: instanceId,
  };
  return { ...body, instanceId, properties: { ...body.properties, configurationState } };
}

function mac(serial: number): string {
  return `00155E${serial.toString(16).toUpperCase().padStart(6, '0')}`;
}

/** A NIC shaped like the seed's (one static ipConfiguration, port settings, DNS), as SDN creates it for a VM. */
function nic(resourceId: string, ip: string, macSerial: number, subnetRef: string, aclRef?: string): RawResource {
  return {
    resourceRef: `/networkInterfaces/${resourceId}`,
    body: healthy({
      resourceId,
      tags: { vm: resourceId.replace(/_Net0$/, '') },
      properties: {
        ipConfigurations: [
          {
            resourceId: `${resourceId}_IP0`,
            properties: {
              privateIPAddress: ip,
              privateIPAllocationMethod: 'Static',
              subnet: { resourceRef: subnetRef },
              ...(aclRef === undefined ? {} : { accessControlList: { resourceRef: aclRef } }),
            },
          },
        ],
        dnsSettings: { dnsServers: ['10.50.34.10'] },
        privateMacAddress: mac(macSerial),
        privateMacAllocationMethod: 'Static',
        isPrimary: true,
        isHostVirtualNetworkInterface: false,
        isMultitenantStack: false,
        portSettings: { macSpoofingEnabled: false, arpGuardEnabled: false, dhcpGuardEnabled: false, vmqWeight: 100 },
      },
    }),
  };
}

function virtualNetwork(id: string, prefix: number[], subnetId: string, aclRef?: string): RawResource {
  const cidr = `${prefix[0]}.${prefix[1]}.0.0/16`;
  return {
    resourceRef: `/virtualNetworks/${id}`,
    body: healthy({
      resourceId: id,
      properties: {
        addressSpace: { addressPrefixes: [cidr] },
        logicalNetwork: { resourceRef: '/logicalNetworks/HNVPA' },
        subnets: [
          {
            resourceId: subnetId,
            properties: {
              addressPrefix: cidr,
              ...(aclRef === undefined ? {} : { accessControlList: { resourceRef: aclRef } }),
            },
          },
        ],
      },
    }),
  };
}

function allowAllAcl(id: string): RawResource {
  const rule = (type: 'Inbound' | 'Outbound') => ({
    resourceId: `${id}_${type}`,
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
  });
  return {
    resourceRef: `/accessControlLists/${id}`,
    body: healthy({
      resourceId: id,
      properties: {
        aclRules: [rule('Inbound'), rule('Outbound')],
        inboundDefaultAction: 'Permit',
        outboundDefaultAction: 'Permit',
      },
    }),
  };
}

/** The bench network plus `nicCount` attachment NICs (0..nicCount-1) and `fillerCount` unrelated NICs. */
export function benchResources(nicCount: number, fillerCount = 0, extraNics: RawResource[] = []): RawResource[] {
  const resources = [
    allowAllAcl(BENCH_ACL),
    virtualNetwork(BENCH_VNET, BENCH_PREFIX, BENCH_SUBNET, ACL_REF),
    ...(fillerCount > 0 ? [virtualNetwork(FILL_VNET, FILL_PREFIX, FILL_SUBNET)] : []),
    ...extraNics,
  ];
  for (let i = 0; i < nicCount; i++) resources.push(nic(nicIdFor(i), nicAddressFor(i), i, SUBNET_REF, ACL_REF));
  for (let j = 0; j < fillerCount; j++) {
    resources.push(nic(`bench-fill${j}_Net0`, address(FILL_PREFIX, j + 2), 0x800000 + j, FILL_SUBNET_REF));
  }
  return resources;
}

/** One NIC shared by many attachments (the batching scenario); it sits in block 0, clear of every attachment's block. */
export const SHARED_NIC_ID = 'bench-shared_Net0';
export const SHARED_NIC_ADDRESS = address(BENCH_PREFIX, 5);
export function sharedNic(): RawResource {
  return nic(SHARED_NIC_ID, SHARED_NIC_ADDRESS, 0x7fffff, SUBNET_REF, ACL_REF);
}
