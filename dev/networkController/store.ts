import { formatIPv4, parseIPv4 } from './ipv4';
import {
  ACCESS_CONTROL_LISTS,
  type CollectionInfo,
  NETWORK_INTERFACES,
  networkKey,
  parseRef,
  refKey,
  VIRTUAL_NETWORKS,
} from './refs';
import { isObject, type NetworkInterface, type Resource } from './types';

/** key -> (ref key -> ref as written); the read-only back-reference arrays are rendered from these. */
class RefIndex {
  private readonly entries = new Map<string, Map<string, string>>();

  add(key: string, ref: string): void {
    let refs = this.entries.get(key);
    if (refs === undefined) this.entries.set(key, (refs = new Map<string, string>()));
    refs.set(refKey(ref), ref);
  }

  remove(key: string, ref: string): void {
    const refs = this.entries.get(key);
    refs?.delete(refKey(ref));
    if (refs?.size === 0) this.entries.delete(key);
  }

  get(key: string): string[] {
    return [...(this.entries.get(key)?.values() ?? [])];
  }

  clear(): void {
    this.entries.clear();
  }
}

function addressKey(address: string): string {
  const parsed = parseIPv4(address);
  return parsed === undefined ? address.trim().toLowerCase() : formatIPv4(parsed);
}

/** Addresses are indexed per network: the same address on two virtual networks is two different addresses. */
export function networkAddressKey(network: string, address: string): string {
  return `${network} ${addressKey(address)}`;
}

export function childrenOf(resource: Resource, collection: CollectionInfo): Resource[] {
  const children = resource.properties[collection.child];
  return Array.isArray(children) ? children.filter((c): c is Resource => isObject(c)) : [];
}

function refOf(value: unknown): string | undefined {
  return isObject(value) && typeof value.resourceRef === 'string' ? value.resourceRef : undefined;
}

/**
 * All resources, keyed case-insensitively by collection and id. Child resources live inside their parent's
 * properties, as on the wire. Indexes over NIC ipConfigurations keep IP ownership checks O(1) (per virtual network)
 * and let subnet/ACL back-references be rendered on read, so they can never drift from the NICs.
 */
export class ResourceStore {
  private readonly collections = new Map<string, Map<string, Resource>>();
  private readonly ipcsBySubnet = new RefIndex();
  private readonly ipcsByAcl = new RefIndex();
  private readonly ipcsByAddress = new RefIndex();

  clear(): void {
    this.collections.clear();
    this.ipcsBySubnet.clear();
    this.ipcsByAcl.clear();
    this.ipcsByAddress.clear();
  }

  get(collection: CollectionInfo, id: string): Resource | undefined {
    return this.collections.get(collection.name)?.get(id.toLowerCase());
  }

  getNic(id: string): NetworkInterface | undefined {
    return this.get(NETWORK_INTERFACES, id) as NetworkInterface | undefined;
  }

  list(collection: CollectionInfo): Resource[] {
    return [...(this.collections.get(collection.name)?.values() ?? [])];
  }

  /** The stored resource or child a reference points at, or undefined. */
  resolve(ref: string): Resource | undefined {
    const parsed = parseRef(ref);
    if (parsed === undefined) return undefined;
    const parent = this.get(parsed.collection, parsed.id);
    if (parent === undefined || parsed.childId === undefined) return parent;
    const childKey = parsed.childId.toLowerCase();
    return childrenOf(parent, parsed.collection).find((c) => c.resourceId.toLowerCase() === childKey);
  }

  put(collection: CollectionInfo, resource: Resource): void {
    let items = this.collections.get(collection.name);
    if (items === undefined) this.collections.set(collection.name, (items = new Map<string, Resource>()));
    const key = resource.resourceId.toLowerCase();
    if (collection === NETWORK_INTERFACES) {
      const previous = items.get(key);
      if (previous !== undefined) this.unindexNic(previous);
      this.indexNic(resource);
    }
    items.set(key, resource);
  }

  remove(collection: CollectionInfo, id: string): void {
    const items = this.collections.get(collection.name);
    const existing = items?.get(id.toLowerCase());
    if (existing === undefined) return;
    if (collection === NETWORK_INTERFACES) this.unindexNic(existing);
    items?.delete(id.toLowerCase());
  }

  /** resourceRefs of every ipConfiguration that holds this address on a subnet of the network `networkKey` names. */
  addressHolders(network: string, address: string): string[] {
    return this.ipcsByAddress.get(networkAddressKey(network, address));
  }

  /** The resource in GET format, back-references included. */
  render(collection: CollectionInfo, resource: Resource): Resource {
    if (collection === NETWORK_INTERFACES) return resource;
    if (collection === ACCESS_CONTROL_LISTS) return this.renderAcl(resource);
    const children = childrenOf(resource, collection).map((child) => this.renderChild(collection, child));
    return { ...resource, properties: { ...resource.properties, [collection.child]: children } };
  }

  renderChild(collection: CollectionInfo, child: Resource): Resource {
    if (collection.child !== 'subnets') return child;
    const ipConfigurations = this.ipcsBySubnet.get(refKey(child.resourceRef)).map((resourceRef) => ({ resourceRef }));
    return { ...child, properties: { ...child.properties, ipConfigurations } };
  }

  private renderAcl(acl: Resource): Resource {
    const key = refKey(acl.resourceRef);
    const subnets = this.list(VIRTUAL_NETWORKS)
      .flatMap((vnet) => childrenOf(vnet, VIRTUAL_NETWORKS))
      .filter((subnet) => {
        const aclRef = refOf(subnet.properties.accessControlList);
        return aclRef !== undefined && refKey(aclRef) === key;
      })
      .map((subnet) => ({ resourceRef: subnet.resourceRef }));
    const ipConfigurations = this.ipcsByAcl.get(key).map((resourceRef) => ({ resourceRef }));
    return { ...acl, properties: { ...acl.properties, ipConfigurations, subnets } };
  }

  private indexNic(nic: Resource): void {
    for (const ipc of childrenOf(nic, NETWORK_INTERFACES)) this.indexIpConfiguration(ipc, true);
  }

  private unindexNic(nic: Resource): void {
    for (const ipc of childrenOf(nic, NETWORK_INTERFACES)) this.indexIpConfiguration(ipc, false);
  }

  private indexIpConfiguration(ipc: Resource, add: boolean): void {
    const apply = (index: RefIndex, key: string): void =>
      add ? index.add(key, ipc.resourceRef) : index.remove(key, ipc.resourceRef);
    const subnet = refOf(ipc.properties.subnet);
    if (subnet !== undefined) apply(this.ipcsBySubnet, refKey(subnet));
    const acl = refOf(ipc.properties.accessControlList);
    if (acl !== undefined) apply(this.ipcsByAcl, refKey(acl));
    const address = ipc.properties.privateIPAddress;
    if (typeof address === 'string' && address !== '') {
      // ipConfigurations without a subnet (only loadable raw) share one address space of their own.
      apply(this.ipcsByAddress, networkAddressKey(subnet === undefined ? '' : networkKey(subnet), address));
    }
  }
}
