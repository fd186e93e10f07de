/** Resource references: which collections exist, their child collection, and canonical spelling. */

export interface CollectionInfo {
  name: string;
  child: string;
}

const COLLECTIONS: readonly CollectionInfo[] = [
  { name: 'networkInterfaces', child: 'ipConfigurations' },
  { name: 'virtualNetworks', child: 'subnets' },
  { name: 'accessControlLists', child: 'aclRules' },
  { name: 'logicalNetworks', child: 'subnets' },
  // The Hyper-V hosts the controller manages ([MS-NCNBI] servers); read-only here, seeded.
  { name: 'servers', child: 'networkInterfaces' },
];

const byLowerName = new Map(COLLECTIONS.map((c) => [c.name.toLowerCase(), c]));

export function collectionInfo(segment: string): CollectionInfo | undefined {
  return byLowerName.get(segment.toLowerCase());
}

export interface ParsedRef {
  collection: CollectionInfo;
  id: string;
  childId?: string;
}

/** Parses `/collection/id` or `/collection/id/childCollection/childId`, any casing; undefined when malformed. */
export function parseRef(ref: string): ParsedRef | undefined {
  if (!ref.startsWith('/')) return undefined;
  const segments = ref.replace(/\/+$/, '').split('/').slice(1);
  const collection = collectionInfo(segments[0] ?? '');
  const id = segments[1];
  if (collection === undefined || id === undefined || id === '') return undefined;
  if (segments.length === 2) return { collection, id };
  const childId = segments[3];
  if (segments.length !== 4 || segments[2]?.toLowerCase() !== collection.child.toLowerCase() || !childId) {
    return undefined;
  }
  return { collection, id, childId };
}

export function formatRef(collection: CollectionInfo, id: string, childId?: string): string {
  const parent = `/${collection.name}/${id}`;
  return childId === undefined ? parent : `${parent}/${collection.child}/${childId}`;
}

/** NC echoes refs as clients wrote them, so every comparison goes through this key. */
export function refKey(ref: string): string {
  const parsed = parseRef(ref);
  return (parsed === undefined ? ref : formatRef(parsed.collection, parsed.id, parsed.childId)).toLowerCase();
}

/**
 * The address space a subnet belongs to, as a ref key: its parent network (`/virtualnetworks/vnet1`, or a logical
 * network). Hyper-V Network Virtualization isolates each virtual network, so addresses are unique only within one.
 */
export function networkKey(subnetRef: string): string {
  const parsed = parseRef(subnetRef);
  return parsed === undefined ? refKey(subnetRef) : refKey(formatRef(parsed.collection, parsed.id));
}

export const NETWORK_INTERFACES = COLLECTIONS[0] as CollectionInfo;
export const VIRTUAL_NETWORKS = COLLECTIONS[1] as CollectionInfo;
export const ACCESS_CONTROL_LISTS = COLLECTIONS[2] as CollectionInfo;
