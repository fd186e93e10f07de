import { StepError, ValidationError } from '../errors';
import type { AttachRequest } from '../model/attachRequest';
import {
  formatIpv4,
  ipConfigurationIdFor,
  type Ipv4Prefix,
  isReservedInSubnet,
  lowestFreeAddresses,
  parseIpv4,
  prefixContains,
} from '../model/ipv4';
import type { IpConfiguration, NetworkInterface } from './resources';
import { sameResourceRef } from './resources';

/** Pure logic of step 1: which addresses, which NIC, and the NIC body to PUT. */

/**
 * The tag on each IP configuration this product adds, naming the attachment that owns it. The NIC is the one
 * place every writer sees under the same etag, so two attachments can never both take one address for theirs.
 */
export const OWNER_TAG = 'containerAttachment';

/**
 * Set beside the owner tag on a configuration that was on the NIC before the attachment (added by hand, or before
 * this product) and that the attachment adopted: a detach gives it back untagged instead of removing it.
 */
export const ADOPTED_TAG = 'containerAttachmentAdopted';

export function ownerOf(tenantId: string, attachmentId: string): string {
  return `${tenantId}/${attachmentId}`;
}

function tagOwner(ipc: IpConfiguration): string | undefined {
  const value = ipc.tags?.[OWNER_TAG];
  return typeof value === 'string' ? value : undefined;
}

/**
 * Who holds an address, as a conflict message may say it: the attachment by name when it is the asking tenant's
 * own (so the user knows what to detach), never another tenant's.
 */
function holderText(holder: string | undefined, asking: string | undefined): string {
  const tenant = (owner: string | undefined) => owner?.split('/')[0];
  if (holder === undefined) return 'not by an attachment';
  if (asking !== undefined && tenant(holder) === tenant(asking)) {
    return `for attachment ${holder.slice(holder.indexOf('/') + 1)} of this tenant; detach it to release the address`;
  }
  return 'for another attachment';
}

export interface AddressHolder {
  nicId: string;
  ipConfigurationId: string;
  /** The owner tag of the holding configuration, if any (`ownerOf`). */
  owner?: string;
}

/** The virtual network (lower-cased resourceId) of a virtual subnet's ref; undefined for any other kind of ref. */
export function virtualNetworkOf(subnetRef: string | undefined): string | undefined {
  const match = /^\/virtualNetworks\/([^/]+)\/subnets\/[^/]+\/?$/i.exec(subnetRef ?? '');
  return match?.[1]?.toLowerCase();
}

/**
 * Every static address held by an IP configuration on a subnet of `virtualNetworkId`, with who holds it. Address
 * spaces are per virtual network (HNV): the same address on another tenant's network is no conflict. Without a
 * virtual network, every configuration counts (for tests of the index itself).
 */
export function addressHolders(
  nics: readonly NetworkInterface[],
  virtualNetworkId?: string,
): Map<string, AddressHolder[]> {
  const holders = new Map<string, AddressHolder[]>();
  const network = virtualNetworkId?.toLowerCase();
  for (const nic of nics) {
    for (const ipc of nic.properties.ipConfigurations) {
      const address = ipc.properties.privateIPAddress;
      if (!address) continue;
      if (network !== undefined && virtualNetworkOf(ipc.properties.subnet?.resourceRef) !== network) continue;
      const list = holders.get(address) ?? [];
      const holder = tagOwner(ipc);
      list.push({
        nicId: nic.resourceId,
        ipConfigurationId: ipc.resourceId,
        ...(holder === undefined ? {} : { owner: holder }),
      });
      holders.set(address, list);
    }
  }
  return holders;
}

/** A NIC list indexed for step 1's questions, so each answer costs the same at 10 NICs as at 10,000. */
export interface NicIndex {
  /** Keyed by lower-cased resourceId. */
  byId: ReadonlyMap<string, NetworkInterface>;
  holdersByAddress: ReadonlyMap<string, readonly AddressHolder[]>;
}

/** The index of one virtual network's addresses (see addressHolders); NICs are found by id across the list. */
export function indexNics(nics: readonly NetworkInterface[], virtualNetworkId?: string): NicIndex {
  return {
    byId: new Map(nics.map((nic) => [nic.resourceId.toLowerCase(), nic])),
    holdersByAddress: addressHolders(nics, virtualNetworkId),
  };
}

/**
 * Checks that a NIC may take addresses for this tenant on `virtualNetworkId`: every IP configuration it has sits on
 * a subnet of one of the tenant's virtual networks (the NIC is the tenant's), and all of them on the request's own
 * virtual network (a NIC never mixes virtual networks). Throws before any write otherwise.
 */
export function checkNicTenancy(
  nic: NetworkInterface,
  virtualNetworkId: string,
  tenantVirtualNetworks: readonly string[],
): void {
  const allowed = new Set(tenantVirtualNetworks.map((v) => v.toLowerCase()));
  const networks = nic.properties.ipConfigurations.map((ipc) => virtualNetworkOf(ipc.properties.subnet?.resourceRef));
  if (networks.length === 0 || networks.some((network) => network === undefined || !allowed.has(network))) {
    throw new StepError(
      `Network interface ${nic.resourceId} is not on the tenant's virtual networks (${tenantVirtualNetworks.join(', ')}); it is not written.`,
      { code: 'NicNotInTenantNetwork', retryable: false },
    );
  }
  const others = [...new Set(networks)].filter((network) => network !== virtualNetworkId.toLowerCase());
  if (others.length > 0) {
    throw new StepError(
      `Network interface ${nic.resourceId} sits on virtual network ${others.join(', ')}, not ${virtualNetworkId}; a NIC's IP configurations all sit on one virtual network.`,
      { code: 'VirtualNetworkMismatch', retryable: false },
    );
  }
}

/** Finds the one NIC holding `address`; none or several is an error that names what was found. */
export function findNicByAddress(index: NicIndex, address: string): NetworkInterface {
  const nicIds = [...new Set((index.holdersByAddress.get(address) ?? []).map((h) => h.nicId.toLowerCase()))];
  const matches = nicIds.flatMap((id) => index.byId.get(id) ?? []);
  if (matches.length === 0) {
    throw new StepError(`No network interface on the request's virtual network holds ${address}.`, {
      code: 'NetworkInterfaceNotFound',
      retryable: false,
    });
  }
  if (matches.length > 1) {
    const names = matches.map((nic) => nic.resourceId).join(' and ');
    throw new StepError(
      `${address} is held by more than one network interface (${names}); give nic.resourceId instead.`,
      {
        code: 'AmbiguousNetworkInterface',
        retryable: false,
      },
    );
  }
  return matches[0] as NetworkInterface;
}

export function findNicById(index: NicIndex, nicId: string): NetworkInterface | undefined {
  return index.byId.get(nicId.toLowerCase());
}

/**
 * The container addresses a request asks for, checked against the subnet. `count` takes the lowest free
 * addresses, skipping reserved ones and every address held anywhere in the controller.
 */
export function resolveContainerAddresses(
  containerIps: AttachRequest['containerIps'],
  subnet: Ipv4Prefix,
  subnetName: string,
  isHeld: (address: string) => boolean,
): string[] {
  if (containerIps.count !== undefined) {
    const free = lowestFreeAddresses(subnet, (address) => isHeld(formatIpv4(address)), containerIps.count);
    if (!free) {
      throw new StepError(`Subnet ${subnetName} has fewer than ${containerIps.count} free addresses.`, {
        code: 'SubnetIsFull',
        retryable: false,
      });
    }
    return free.map(formatIpv4);
  }
  let addresses: string[];
  let field: (index: number) => string;
  if (containerIps.range) {
    const first = parseIpv4(containerIps.range.first);
    const last = parseIpv4(containerIps.range.last);
    addresses = Array.from({ length: last - first + 1 }, (_, i) => formatIpv4(first + i));
    const lastIndex = addresses.length - 1;
    field = (i) =>
      i === 0 ? 'containerIps.range.first' : i === lastIndex ? 'containerIps.range.last' : 'containerIps.range';
  } else {
    addresses = containerIps.addresses ?? [];
    field = (i) => `containerIps.addresses[${i}]`;
  }
  const outside: { field: string; reason: string }[] = [];
  addresses.forEach((address, index) => {
    const value = parseIpv4(address);
    if (!prefixContains(subnet, value)) {
      outside.push({
        field: field(index),
        reason: `${address} is not inside subnet ${subnetName} (${describe(subnet)})`,
      });
    } else if (isReservedInSubnet(subnet, value)) {
      outside.push({
        field: field(index),
        reason: `${address} is reserved in ${describe(subnet)} (network, gateway or broadcast address)`,
      });
    }
  });
  if (outside.length > 0) {
    // A range names its bad ends; addresses inside it are named only once both ends are fine.
    const ends = outside.filter((o) => o.field !== 'containerIps.range');
    const inner = outside.filter((o) => o.field === 'containerIps.range');
    const issues =
      ends.length > 0 ? ends : [{ field: 'containerIps.range', reason: inner.map((o) => o.reason).join('; ') }];
    throw new ValidationError(containerIps.range ? issues : outside, { code: 'PrivateIPAddressNotInSubnet' });
  }
  return addresses;
}

function describe(prefix: Ipv4Prefix): string {
  return `${formatIpv4(prefix.network)}/${prefix.length}`;
}

export interface MergeInput {
  nic: NetworkInterface;
  addresses: readonly string[];
  subnetRef: string;
  aclRef?: string;
  /** Who holds each address across the controller, from the same read as `nic` when available. */
  holders?: ReadonlyMap<string, readonly AddressHolder[]>;
  /** The attachment asking (`ownerOf`): its additions carry it, and an address tagged for another is taken. */
  owner?: string;
}

export interface MergeResult {
  /** The whole NIC to PUT, or undefined when every address is already there and ours. */
  body?: NetworkInterface;
  added: string[];
  alreadyPresent: string[];
  /** Addresses already on the NIC with no owner (added by hand or before this product): tagged as ours now. */
  adopted: string[];
}

/**
 * Appends one static IP configuration per address to the NIC, tagged with its owner. Existing configurations stay
 * as they are; an address already on this NIC under its `IP_a_b_c_d` id is ours when tagged for us (a re-run) or
 * for nobody (adopted: the tag is added), anything else holding it is a conflict reported with the controller's
 * own code before any write.
 */
export function mergeIpConfigurations(input: MergeInput): MergeResult {
  const { nic, owner } = input;
  const existing = nic.properties.ipConfigurations.map(writableIpConfiguration);
  let changed = false;
  const added: string[] = [];
  const alreadyPresent: string[] = [];
  const adopted: string[] = [];
  const conflicts: string[] = [];
  const additions: IpConfiguration[] = [];
  for (const address of input.addresses) {
    const id = ipConfigurationIdFor(address);
    const sameIdIndex = existing.findIndex((ipc) => ipc.resourceId.toLowerCase() === id.toLowerCase());
    const sameId = existing[sameIdIndex];
    const sameAddress = existing.find((ipc) => ipc.properties.privateIPAddress === address);
    if (sameId && sameId === sameAddress) {
      const holder = tagOwner(sameId);
      if (owner === undefined || holder === owner) {
        alreadyPresent.push(address);
      } else if (holder === undefined) {
        existing[sameIdIndex] = { ...sameId, tags: { ...sameId.tags, [OWNER_TAG]: owner, [ADOPTED_TAG]: 'true' } };
        adopted.push(address);
        changed = true;
      } else {
        conflicts.push(`${address} (held by ${nic.resourceId}/${sameId.resourceId} ${holderText(holder, owner)})`);
      }
      continue;
    }
    if (sameAddress) {
      conflicts.push(`${address} (held by ${nic.resourceId}/${sameAddress.resourceId})`);
      continue;
    }
    if (sameId) {
      conflicts.push(
        `${address} (${nic.resourceId} already has ${id} for ${sameId.properties.privateIPAddress ?? 'no address'})`,
      );
      continue;
    }
    const others = (input.holders?.get(address) ?? []).filter(
      (h) => h.nicId.toLowerCase() !== nic.resourceId.toLowerCase(),
    );
    if (others.length > 0) {
      const held = others.map(
        (h) => `${h.nicId}/${h.ipConfigurationId}${h.owner === undefined ? '' : ` ${holderText(h.owner, owner)}`}`,
      );
      conflicts.push(`${address} (held by ${held.join(', ')})`);
      continue;
    }
    added.push(address);
    additions.push({
      resourceId: id,
      ...(owner === undefined ? {} : { tags: { [OWNER_TAG]: owner } }),
      properties: {
        privateIPAddress: address,
        privateIPAllocationMethod: 'Static',
        subnet: { resourceRef: input.subnetRef },
        ...(input.aclRef ? { accessControlList: { resourceRef: input.aclRef } } : {}),
      },
    });
  }
  if (conflicts.length > 0) {
    throw new StepError(`Addresses already in use: ${conflicts.join('; ')}.`, {
      code: 'PrivateIPAddressInUse',
      source: 'NetworkController',
      retryable: false,
    });
  }
  if (additions.length === 0 && !changed) return { added, alreadyPresent, adopted };
  return { body: writableNic(nic, [...existing, ...additions]), added, alreadyPresent, adopted };
}

export interface ReleaseResult {
  /** The whole NIC to PUT, or undefined when nothing of `owner`'s is left on it. */
  body?: NetworkInterface;
  /** Addresses whose configurations are removed. */
  removed: string[];
  /** Addresses the owner had adopted: they stay on the NIC, untagged, as they were before. */
  returned: string[];
}

/**
 * Takes `owner`'s IP configurations off the NIC: those it added are removed, those it adopted lose its tags. A
 * configuration anyone else owns, or nobody, is left exactly as it is.
 */
export function releaseIpConfigurations(nic: NetworkInterface, owner: string): ReleaseResult {
  const removed: string[] = [];
  const returned: string[] = [];
  const kept: IpConfiguration[] = [];
  for (const ipc of nic.properties.ipConfigurations.map(writableIpConfiguration)) {
    const address = ipc.properties.privateIPAddress ?? ipc.resourceId;
    if (tagOwner(ipc) !== owner) {
      kept.push(ipc);
    } else if (ipc.tags?.[ADOPTED_TAG] === 'true') {
      const tags = { ...ipc.tags };
      delete tags[OWNER_TAG];
      delete tags[ADOPTED_TAG];
      const { tags: _old, ...rest } = ipc;
      kept.push(Object.keys(tags).length > 0 ? { ...rest, tags } : rest);
      returned.push(address);
    } else {
      removed.push(address);
    }
  }
  if (removed.length === 0 && returned.length === 0) return { removed, returned };
  return { body: writableNic(nic, kept), removed, returned };
}

/** The addresses of `owner`'s configurations on the NIC (none once a release has taken effect). */
export function ownedAddresses(nic: NetworkInterface, owner: string): string[] {
  return nic.properties.ipConfigurations
    .filter((ipc) => tagOwner(ipc) === owner)
    .map((ipc) => ipc.properties.privateIPAddress ?? ipc.resourceId);
}

/** A NIC as a PUT body: read-only envelope and state fields removed, everything else kept. */
export function writableNic(
  nic: NetworkInterface,
  ipConfigurations: IpConfiguration[] = nic.properties.ipConfigurations.map(writableIpConfiguration),
): NetworkInterface {
  const { resourceRef: _ref, etag: _etag, instanceId: _instance, properties, ...rest } = nic;
  const { provisioningState: _p, configurationState: _c, ...writable } = properties;
  return { ...rest, properties: { ...stripReadOnly(writable), ipConfigurations } };
}

function writableIpConfiguration(ipc: IpConfiguration): IpConfiguration {
  const { resourceRef: _ref, etag: _etag, instanceId: _instance, properties, ...rest } = ipc;
  const { provisioningState: _p, ...writable } = properties;
  return { ...rest, properties: writable };
}

const READ_ONLY_NIC_PROPERTIES = ['server', 'serviceInsertionElements', 'runningState'];

function stripReadOnly<T extends Record<string, unknown>>(properties: T): T {
  return Object.fromEntries(Object.entries(properties).filter(([key]) => !READ_ONLY_NIC_PROPERTIES.includes(key))) as T;
}

/** Checks that every address sits on the NIC under its expected id and subnet, and (given `owner`) is not another's. */
export function missingAddresses(
  nic: NetworkInterface,
  addresses: readonly string[],
  subnetRef: string,
  owner?: string,
): string[] {
  return addresses.filter((address) => {
    const ipc = nic.properties.ipConfigurations.find((c) => c.properties.privateIPAddress === address);
    return (
      !ipc ||
      ipc.resourceId.toLowerCase() !== ipConfigurationIdFor(address).toLowerCase() ||
      !sameResourceRef(ipc.properties.subnet?.resourceRef, subnetRef) ||
      // Only another owner's tag counts: a controller that kept no tags must not fail every attachment.
      (owner !== undefined && (tagOwner(ipc) ?? owner) !== owner)
    );
  });
}
