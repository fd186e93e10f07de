import { BENCH_ACL, BENCH_SUBNET, BENCH_VNET, containerAddressesFor, nicAddressFor, nicIdFor } from './topology';

/**
 * The ARM emulator serves only its seeded machines (it has no route to add one), so every attachment names the
 * seeded Hyper-V host HV01 and one of the two seeded container host VMs. Machine tasks are therefore shared by many
 * attachments and reused, as they would be for many VMs on one host.
 */
const CONTAINER_HOSTS = ['ContainerHostVM1', 'ContainerHostVM2'] as const;
export const BENCH_NETWORK_NAME = 'BenchContainerNet';

export interface BenchAttachment {
  tenantId: string;
  attachmentId: string;
  /** Index into the address plan (topology.ts). */
  index: number;
  body: Record<string, unknown>;
}

export interface AttachmentPlan {
  /** Used in ids, so every scenario's attachments are distinct. */
  tag: string;
  count: number;
  tenants: number;
  containersPerAttachment: number;
  /** How the request names the VM's NIC: by its address (the walkthrough's way) or by resourceId. */
  nicBy: 'privateIpAddress' | 'resourceId';
  /** When set, every attachment targets this NIC instead of its own. */
  sharedNic?: { resourceId: string; privateIpAddress: string };
  /** First attachment index in the address plan. */
  firstIndex?: number;
}

export function tenantIdFor(tag: string, tenant: number): string {
  return `${tag}-t${String(tenant).padStart(3, '0')}`;
}

export function planAttachments(plan: AttachmentPlan): BenchAttachment[] {
  return Array.from({ length: plan.count }, (_, k) => {
    const index = (plan.firstIndex ?? 0) + k;
    const tenantId = tenantIdFor(plan.tag, k % plan.tenants);
    const attachmentId = `${plan.tag}-a${index}`;
    const nicId = plan.sharedNic?.resourceId ?? nicIdFor(index);
    const nicAddress = plan.sharedNic?.privateIpAddress ?? nicAddressFor(index);
    return {
      tenantId,
      attachmentId,
      index,
      body: {
        attachmentId,
        networkController: 'default',
        virtualNetworkId: BENCH_VNET,
        subnetId: BENCH_SUBNET,
        accessControlListId: BENCH_ACL,
        nic: plan.nicBy === 'resourceId' ? { resourceId: nicId } : { privateIpAddress: nicAddress },
        containerIps: { addresses: containerAddressesFor(index, plan.containersPerAttachment) },
        hyperVHost: { machineName: 'HV01' },
        containerHost: { machineName: CONTAINER_HOSTS[k % CONTAINER_HOSTS.length] },
        network: { name: BENCH_NETWORK_NAME, driver: 'l2bridge' },
      },
    };
  });
}
