import {
  BENCH_ACL,
  BENCH_SUBNET,
  containerAddressesFor,
  type Fleet,
  hyperVHostNameFor,
  MAX_ATTACHMENTS_PER_TENANT,
  nicAddressFor,
  nicIdFor,
  placeAttachment,
  virtualNetworkIdFor,
  vmNameFor,
} from './topology';

export const BENCH_NETWORK_NAME = 'BenchContainerNet';

export interface BenchAttachment {
  tenantId: string;
  attachmentId: string;
  /** Index in the run (0-based). */
  index: number;
  body: Record<string, unknown>;
}

export interface AttachmentPlan {
  /** Used in ids, so every scenario's attachments are distinct. */
  tag: string;
  count: number;
  fleet: Fleet;
  containersPerAttachment: number;
  /** How the request names the VM's NIC: by its address (the walkthrough's way) or by resourceId. */
  nicBy: 'privateIpAddress' | 'resourceId';
  /**
   * Every attachment on tenant 0's first VM and its NIC (many container hosts' worth of containers on one VM), while
   * the attachments still belong to the fleet's tenants, which are all registered for tenant 0's network.
   */
  sharedNic?: boolean;
}

export function tenantIdFor(tag: string, tenant: number): string {
  return `${tag}-t${String(tenant).padStart(3, '0')}`;
}

/** The attach requests of a plan, one per attachment, placed on the fleet (topology.ts). */
export function planAttachments(plan: AttachmentPlan): BenchAttachment[] {
  const { fleet } = plan;
  if (Math.ceil(plan.count / fleet.tenants) > MAX_ATTACHMENTS_PER_TENANT)
    throw new RangeError(`${plan.count} attachments over ${fleet.tenants} tenants do not fit the address plan`);
  return Array.from({ length: plan.count }, (_, j) => {
    const placed = placeAttachment(fleet, j);
    // A shared NIC: tenant 0's network, VM 0 and its host; the address block still the attachment's own.
    const where = plan.sharedNic ? { ...placeAttachment(fleet, 0), indexInTenant: j } : placed;
    const attachmentId = `${plan.tag}-a${j}`;
    return {
      tenantId: tenantIdFor(plan.tag, placed.tenant),
      attachmentId,
      index: j,
      body: {
        attachmentId,
        networkController: 'default',
        virtualNetworkId: virtualNetworkIdFor(where.tenant),
        subnetId: BENCH_SUBNET,
        accessControlListId: BENCH_ACL,
        nic:
          plan.nicBy === 'resourceId'
            ? { resourceId: nicIdFor(where.tenant, where.vm) }
            : { privateIpAddress: nicAddressFor(where.vm) },
        containerIps: { addresses: containerAddressesFor(where.indexInTenant, plan.containersPerAttachment) },
        hyperVHost: { machineName: hyperVHostNameFor(where.host) },
        containerHost: { machineName: vmNameFor(where.tenant, where.vm) },
        network: { name: BENCH_NETWORK_NAME, driver: 'l2bridge' },
      },
    };
  });
}
