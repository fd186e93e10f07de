import { z } from 'zod';

import { NcError, notFound } from './http';
import { formatRef, NETWORK_INTERFACES } from './refs';
import type { ResourceStore } from './store';
import { type IpConfiguration, isObject } from './types';

/*
 * An ipConfiguration names the load balancers that use it in `loadBalancerBackendAddressPools` and
 * `loadBalancerInboundNatRules` ([MS-NCNBI] §3.1.5.11.2). The emulator has no loadBalancers resource, so tests set
 * these through an admin route; while either array is non-empty the ipConfiguration cannot be removed.
 */
const LOAD_BALANCER_PROPERTIES = [
  { name: 'loadBalancerBackendAddressPools', kind: 'backend address pool' },
  { name: 'loadBalancerInboundNatRules', kind: 'inbound NAT rule' },
] as const;

/** A plain resource name: the characters a URL path segment or a ref separator would break on are refused. */
const NAME = String.raw`[^/?#\\\s]+`;

function childRef(child: string): z.ZodString {
  return z
    .string()
    .regex(new RegExp(`^/loadBalancers/${NAME}/${child}/${NAME}$`, 'i'), `must be /loadBalancers/{lb}/${child}/{id}`);
}

function uniqueRefs(schema: z.ZodString) {
  return z
    .array(schema)
    .max(1000)
    .refine((refs) => new Set(refs.map((r) => r.toLowerCase())).size === refs.length, 'lists a reference twice')
    .default([]);
}

/** Body of PUT /_emulator/networkInterfaces/{nic}/ipConfigurations/{ipc}/loadBalancerReferences; it replaces both. */
export const loadBalancerReferencesSchema = z.strictObject({
  backendAddressPools: uniqueRefs(childRef('backendAddressPools')),
  inboundNatRules: uniqueRefs(childRef('inboundNatRules')),
});

export type LoadBalancerReferences = z.infer<typeof loadBalancerReferencesSchema>;

/** The stored ipConfiguration, or a 404 naming whichever of the NIC and the ipConfiguration is missing. */
export function findIpConfiguration(store: ResourceStore, nicId: string, ipcId: string): IpConfiguration {
  const nic = store.getNic(nicId);
  if (nic === undefined) throw notFound(formatRef(NETWORK_INTERFACES, nicId));
  const ipc = nic.properties.ipConfigurations.find((c) => c.resourceId.toLowerCase() === ipcId.toLowerCase());
  if (ipc === undefined) throw notFound(formatRef(NETWORK_INTERFACES, nic.resourceId, ipcId));
  return ipc;
}

/**
 * Replaces an ipConfiguration's load balancer references in place, as a load balancer write would on a real
 * controller. The NIC's etag and provisioningState are left alone: this models a write to another resource.
 */
export function setLoadBalancerReferences(ipc: IpConfiguration, references: LoadBalancerReferences): IpConfiguration {
  const asRefs = (refs: string[]) => refs.map((resourceRef) => ({ resourceRef }));
  ipc.properties.loadBalancerBackendAddressPools = asRefs(references.backendAddressPools);
  ipc.properties.loadBalancerInboundNatRules = asRefs(references.inboundNatRules);
  return ipc;
}

/** "backend address pool '/loadBalancers/...'" for every load balancer reference the ipConfiguration holds. */
function describeReferences(ipc: IpConfiguration): string[] {
  return LOAD_BALANCER_PROPERTIES.flatMap(({ name, kind }) => {
    const value = ipc.properties[name];
    if (!Array.isArray(value)) return [];
    // A raw insert may store anything here; a non-empty array pins the ipConfiguration whatever its items are.
    return value.map((item: unknown) => {
      const ref = isObject(item) && typeof item.resourceRef === 'string' ? item.resourceRef : JSON.stringify(item);
      return `${kind} '${ref}'`;
    });
  });
}

/**
 * Refuses to remove an ipConfiguration a load balancer still references: 409 ResourceInUse. [MS-NCNBI] §1.3.3.3
 * answers a DELETE of a resource others depend on with 409, and §3.1.5.35 defines ResourceInUse as "a resource
 * cannot be deleted because a related resource is in use"; it names no code specific to ipConfigurations.
 */
export function refuseRemovalOfReferenced(removed: readonly IpConfiguration[], target?: string): void {
  for (const ipc of removed) {
    const references = describeReferences(ipc);
    if (references.length === 0) continue;
    throw new NcError(
      409,
      'ResourceInUse',
      `The ipConfiguration '${ipc.resourceRef}' cannot be removed because it is referenced by load balancer ` +
        `${references.join(', ')}. Remove it from the load balancer first.`,
      target,
    );
  }
}
