import { randomUUID } from 'node:crypto';

import type { RawResource } from '../infra/ncAdmin';

/**
 * A hoster's fleet, as the bench builds it in the emulators: every tenant has its own virtual network (one subnet,
 * 172.16.0.0/16: HNV address spaces are per virtual network, so every tenant may use the same one) and its own
 * container host VMs, each VM with one NIC on that network; the VMs run on a pool of Hyper-V hosts shared by the
 * tenants. Attachment j belongs to tenant j mod T and, within the tenant, is attachment a = floor(j / T), on VM
 * a mod V. Within the tenant's network, attachment a owns the 16-address block a+1 for its container addresses;
 * block 0 holds the network and gateway addresses and the VMs' own addresses (172.16.0.4 to .15), and the last
 * block holds the broadcast address, which the emulator rejects.
 */
export interface Fleet {
  tenants: number;
  vmsPerTenant: number;
  hyperVHosts: number;
}

export const BENCH_ACL = 'BenchAcl';
export const BENCH_SUBNET = 'Subnet1';
const TENANT_PREFIX = [172, 16];
const BLOCK_SIZE = 16;
const FIRST_VM_OFFSET = 4;
export const MAX_ATTACHMENTS_PER_TENANT = 65_536 / BLOCK_SIZE - 2;
export const MAX_CONTAINERS_PER_ATTACHMENT = BLOCK_SIZE - 2;
export const MAX_VMS_PER_TENANT = BLOCK_SIZE - FIRST_VM_OFFSET;
const ACL_REF = `/accessControlLists/${BENCH_ACL}`;

function address(prefix: readonly number[], offset: number): string {
  return `${prefix[0]}.${prefix[1]}.${Math.floor(offset / 256)}.${offset % 256}`;
}

export function virtualNetworkIdFor(tenant: number): string {
  return `BenchT${tenant}VNet`;
}

export function vmNameFor(tenant: number, vm: number): string {
  return `bench-t${tenant}-vm${vm}`;
}

export function hyperVHostNameFor(host: number): string {
  return `bench-hv${host}`;
}

/** The Hyper-V host a tenant's VM runs on: VMs are dealt round-robin over the hosts. */
export function hostOfVm(fleet: Fleet, tenant: number, vm: number): number {
  return (tenant * fleet.vmsPerTenant + vm) % fleet.hyperVHosts;
}

export function nicIdFor(tenant: number, vm: number): string {
  return `${vmNameFor(tenant, vm)}_Net0`;
}

export function nicAddressFor(vm: number): string {
  if (!Number.isInteger(vm) || vm < 0 || vm >= MAX_VMS_PER_TENANT) throw new RangeError(`VM ${vm}`);
  return address(TENANT_PREFIX, FIRST_VM_OFFSET + vm);
}

/** Where attachment `j` of the fleet lives. */
export function placeAttachment(
  fleet: Fleet,
  j: number,
): { tenant: number; indexInTenant: number; vm: number; host: number } {
  const tenant = j % fleet.tenants;
  const indexInTenant = Math.floor(j / fleet.tenants);
  const vm = indexInTenant % fleet.vmsPerTenant;
  return { tenant, indexInTenant, vm, host: hostOfVm(fleet, tenant, vm) };
}

export function containerAddressesFor(indexInTenant: number, count: number): string[] {
  if (!Number.isInteger(indexInTenant) || indexInTenant < 0 || indexInTenant >= MAX_ATTACHMENTS_PER_TENANT)
    throw new RangeError(`attachment ${indexInTenant} of a tenant`);
  if (count < 1 || count > MAX_CONTAINERS_PER_ATTACHMENT) throw new RangeError(`containers per attachment: ${count}`);
  const first = (indexInTenant + 1) * BLOCK_SIZE + 2;
  return Array.from({ length: count }, (_, k) => address(TENANT_PREFIX, first + k));
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

function virtualNetwork(
  id: string,
  addressPrefix: string,
  subnets: readonly { id: string; prefix: string }[],
  aclRef?: string,
): RawResource {
  return {
    resourceRef: `/virtualNetworks/${id}`,
    body: healthy({
      resourceId: id,
      properties: {
        addressSpace: { addressPrefixes: [addressPrefix] },
        logicalNetwork: { resourceRef: '/logicalNetworks/HNVPA' },
        subnets: subnets.map((subnet) => ({
          resourceId: subnet.id,
          properties: {
            addressPrefix: subnet.prefix,
            ...(aclRef === undefined ? {} : { accessControlList: { resourceRef: aclRef } }),
          },
        })),
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

/** The fleet's controller resources: one ACL, and per tenant its virtual network and one NIC per VM. */
export function fleetResources(fleet: Fleet): RawResource[] {
  const cidr = `${TENANT_PREFIX.join('.')}.0.0/16`;
  const resources = [allowAllAcl(BENCH_ACL)];
  for (let t = 0; t < fleet.tenants; t++) {
    const vnet = virtualNetworkIdFor(t);
    resources.push(virtualNetwork(vnet, cidr, [{ id: BENCH_SUBNET, prefix: cidr }], ACL_REF));
    const subnetRef = `/virtualNetworks/${vnet}/subnets/${BENCH_SUBNET}`;
    for (let v = 0; v < fleet.vmsPerTenant; v++) {
      resources.push(nic(nicIdFor(t, v), nicAddressFor(v), t * MAX_VMS_PER_TENANT + v, subnetRef, ACL_REF));
    }
  }
  return resources;
}

/** NICs per other tenant's network (two subnets of half each) in the controller-size scenario. */
export const NICS_PER_OTHER_NETWORK = 100;

/**
 * `count` NICs that belong to other tenants: each network of NICS_PER_OTHER_NETWORK NICs has its own virtual network
 * with two subnets, and every NIC an ipConfiguration on one of them, so the subnets carry back-references like a
 * hoster's controller full of other tenants' VMs. They use the fleet's address space too (per-network spaces).
 */
export function otherTenantsResources(count: number): RawResource[] {
  const resources: RawResource[] = [];
  const half = NICS_PER_OTHER_NETWORK / 2;
  for (let network = 0; network * NICS_PER_OTHER_NETWORK < count; network++) {
    const vnet = `OtherT${network}VNet`;
    resources.push(
      virtualNetwork(vnet, '172.16.0.0/16', [
        { id: 'Front', prefix: '172.16.0.0/24' },
        { id: 'Back', prefix: '172.16.1.0/24' },
      ]),
    );
    const inNetwork = Math.min(NICS_PER_OTHER_NETWORK, count - network * NICS_PER_OTHER_NETWORK);
    for (let k = 0; k < inNetwork; k++) {
      const subnet = k < half ? 'Front' : 'Back';
      const ip = address(TENANT_PREFIX, (k < half ? 0 : 256) + 4 + (k % half));
      const serial = 0x800000 + network * NICS_PER_OTHER_NETWORK + k;
      resources.push(nic(`other-t${network}-vm${k}_Net0`, ip, serial, `/virtualNetworks/${vnet}/subnets/${subnet}`));
    }
  }
  return resources;
}

/** The Arc machines the fleet names: its Hyper-V hosts and every tenant's container host VMs. */
export function fleetMachines(fleet: Fleet): { name: string; role: 'HyperVHost' | 'ContainerHostVm' }[] {
  const hosts = Array.from({ length: fleet.hyperVHosts }, (_, h) => ({
    name: hyperVHostNameFor(h),
    role: 'HyperVHost' as const,
  }));
  const vms = Array.from({ length: fleet.tenants * fleet.vmsPerTenant }, (_, i) => ({
    name: vmNameFor(Math.floor(i / fleet.vmsPerTenant), i % fleet.vmsPerTenant),
    role: 'ContainerHostVm' as const,
  }));
  return [...hosts, ...vms];
}
