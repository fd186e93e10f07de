import { describe, expect, it } from 'vitest';

import { planAttachments } from '../../../bench/workload/requests';
import {
  containerAddressesFor,
  fleetMachines,
  fleetResources,
  MAX_ATTACHMENTS_PER_TENANT,
  MAX_VMS_PER_TENANT,
  nicAddressFor,
  NICS_PER_OTHER_NETWORK,
  otherTenantsResources,
  placeAttachment,
} from '../../../bench/workload/topology';

const FLEET = { tenants: 100, vmsPerTenant: 2, hyperVHosts: 20 };

describe('bench fleet topology', () => {
  it("never gives a container an address a VM's NIC or another attachment holds in the same network", () => {
    const used = new Set<string>();
    for (let vm = 0; vm < MAX_VMS_PER_TENANT; vm++) used.add(nicAddressFor(vm));
    expect(used.size).toBe(MAX_VMS_PER_TENANT);
    for (let a = 0; a < MAX_ATTACHMENTS_PER_TENANT; a++) {
      for (const address of containerAddressesFor(a, 14)) {
        expect(used.has(address)).toBe(false);
        used.add(address);
      }
    }
    // Not the network, gateway or broadcast address of 172.16.0.0/16.
    for (const reserved of ['172.16.0.0', '172.16.0.1', '172.16.255.255']) expect(used.has(reserved)).toBe(false);
    expect(() => nicAddressFor(MAX_VMS_PER_TENANT)).toThrow(RangeError);
    expect(() => containerAddressesFor(MAX_ATTACHMENTS_PER_TENANT, 1)).toThrow(RangeError);
  });

  it('spreads 1,000 attachments over 100 tenants, 2 VMs each and 20 hosts', () => {
    const placed = Array.from({ length: 1_000 }, (_, j) => placeAttachment(FLEET, j));
    const perTenant = new Map<number, number>();
    const perVm = new Map<string, number>();
    const vmsPerHost = new Map<number, Set<string>>();
    for (const p of placed) {
      perTenant.set(p.tenant, (perTenant.get(p.tenant) ?? 0) + 1);
      const vm = `${p.tenant}/${p.vm}`;
      perVm.set(vm, (perVm.get(vm) ?? 0) + 1);
      vmsPerHost.set(p.host, (vmsPerHost.get(p.host) ?? new Set<string>()).add(vm));
    }
    expect([...perTenant.values()]).toEqual(Array.from({ length: 100 }, () => 10));
    expect(perVm.size).toBe(200);
    expect(new Set(perVm.values())).toEqual(new Set([5]));
    expect(vmsPerHost.size).toBe(20);
    expect(new Set([...vmsPerHost.values()].map((s) => s.size))).toEqual(new Set([10]));
  });

  it('names in every request only its own tenant network, NIC and machines, all of which the fleet creates', () => {
    const attachments = planAttachments({
      tag: 't',
      count: 40,
      fleet: { tenants: 10, vmsPerTenant: 2, hyperVHosts: 2 },
      containersPerAttachment: 4,
      nicBy: 'resourceId',
    });
    const resources = new Set(
      fleetResources({ tenants: 10, vmsPerTenant: 2, hyperVHosts: 2 }).map((r) => r.resourceRef),
    );
    const machines = new Set(fleetMachines({ tenants: 10, vmsPerTenant: 2, hyperVHosts: 2 }).map((m) => m.name));
    for (const a of attachments) {
      const body = a.body as {
        virtualNetworkId: string;
        nic: { resourceId: string };
        hyperVHost: { machineName: string };
        containerHost: { machineName: string };
      };
      const tenant = Number(/-t(\d+)$/.exec(a.tenantId)?.[1]);
      expect(body.virtualNetworkId).toBe(`BenchT${tenant}VNet`);
      expect(body.containerHost.machineName).toMatch(new RegExp(`^bench-t${tenant}-vm\\d$`));
      expect(resources.has(`/virtualNetworks/${body.virtualNetworkId}`)).toBe(true);
      expect(resources.has(`/networkInterfaces/${body.nic.resourceId}`)).toBe(true);
      expect(machines.has(body.hyperVHost.machineName)).toBe(true);
      expect(machines.has(body.containerHost.machineName)).toBe(true);
    }
  });

  it('fills the controller with other tenants: their own networks, two subnets each, every NIC on one', () => {
    const resources = otherTenantsResources(300);
    const nics = resources.filter((r) => r.resourceRef.startsWith('/networkInterfaces/'));
    const networks = resources.filter((r) => r.resourceRef.startsWith('/virtualNetworks/'));
    expect(nics).toHaveLength(300);
    expect(networks).toHaveLength(300 / NICS_PER_OTHER_NETWORK);
    const subnetOf = (nic: (typeof nics)[number]) =>
      (nic.body.properties as { ipConfigurations: { properties: { subnet: { resourceRef: string } } }[] })
        .ipConfigurations[0]?.properties.subnet.resourceRef;
    expect(new Set(nics.map(subnetOf)).size).toBe(networks.length * 2);
    const addresses = nics.map(
      (nic) =>
        `${subnetOf(nic)} ${(nic.body.properties as { ipConfigurations: { properties: { privateIPAddress: string } }[] }).ipConfigurations[0]?.properties.privateIPAddress}`,
    );
    expect(new Set(addresses).size).toBe(300);
  });
});
