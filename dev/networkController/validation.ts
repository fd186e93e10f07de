import { randomBytes } from 'node:crypto';

import { canonicalizeKeys } from './canonicalKeys';
import {
  type Cidr,
  cidrContains,
  firstAssignable,
  formatIPv4,
  isReserved,
  lastAssignable,
  parseCidr,
  parseIPv4,
} from './ipv4';
import { ACCESS_CONTROL_LISTS, formatRef, NETWORK_INTERFACES, networkKey, parseRef, refKey } from './refs';
import { networkAddressKey, type ResourceStore } from './store';
import { type IpConfiguration, isObject, type JsonObject, type NetworkInterface, type Resource } from './types';

/** A synchronous PUT rejection; the caller picks the HTTP status (400, or 500 when configured). */
export class NicValidationError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly target?: string,
  ) {
    super(message);
  }
}

export interface DesiredIpConfiguration {
  resourceId: string;
  tags?: Record<string, unknown>;
  resourceMetadata?: JsonObject;
  properties: JsonObject;
}

/** A validated NIC PUT body: read-only fields dropped, enums and references in canonical form, IPs assigned. */
export interface DesiredNic {
  tags?: Record<string, unknown>;
  resourceMetadata?: JsonObject;
  properties: JsonObject;
  ipConfigurations: DesiredIpConfiguration[];
}

function fail(code: string, message: string, target?: string): never {
  throw new NicValidationError(code, message, target);
}

function isMissing(value: unknown): boolean {
  return value === undefined || value === null || value === '';
}

function canonicalEnum(value: unknown, allowed: readonly string[], target: string): string {
  const match = typeof value === 'string' ? allowed.find((a) => a.toLowerCase() === value.toLowerCase()) : undefined;
  if (match === undefined) fail('InvalidRequestFormat', `${target} must be one of ${allowed.join(', ')}.`, target);
  return match;
}

function optionalObject(value: unknown, target: string): JsonObject | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) fail('InvalidRequestFormat', `${target} must be a JSON object.`, target);
  return value;
}

function resolveReference(store: ResourceStore, value: unknown, kind: 'subnet' | 'accessControlList', target: string) {
  const ref = isObject(value) ? value.resourceRef : undefined;
  if (typeof ref !== 'string') fail('InvalidJsonReferenceFormat', `${target} must be {"resourceRef": "/..."}.`, target);
  const parsed = parseRef(ref);
  if (parsed === undefined) fail('InvalidJsonReferenceFormat', `'${ref}' is not a valid resource reference.`, target);
  const rightType =
    kind === 'subnet'
      ? parsed.childId !== undefined && parsed.collection.child === 'subnets'
      : parsed.childId === undefined && parsed.collection === ACCESS_CONTROL_LISTS;
  if (!rightType) fail('InvalidJsonReferenceWrongType', `'${ref}' does not reference a ${kind}.`, target);
  const resource = store.resolve(ref);
  if (resource === undefined)
    fail('InvalidResourceReference', `The resource '${ref}' referenced by ${target} does not exist.`, target);
  if (resource.properties.provisioningState !== 'Succeeded') {
    fail(
      'ReferencedResourceNotProvisioned',
      `The resource '${ref}' referenced by ${target} is in provisioningState ${resource.properties.provisioningState}.`,
      target,
    );
  }
  return { ref, resource };
}

function validateMac(properties: JsonObject, existing: NetworkInterface | undefined): void {
  const method = canonicalEnum(
    properties.privateMacAllocationMethod,
    ['Static', 'Dynamic'],
    'properties.privateMacAllocationMethod',
  );
  const previous = existing?.properties.privateMacAllocationMethod;
  if (typeof previous === 'string' && previous.toLowerCase() !== method.toLowerCase()) {
    fail(
      'PrivateMacAllocationMethodCannotBeUpdated',
      `privateMacAllocationMethod cannot be changed from ${previous} to ${method}.`,
      'properties.privateMacAllocationMethod',
    );
  }
  properties.privateMacAllocationMethod = method;
  const mac = properties.privateMacAddress;
  if (isMissing(mac)) {
    if (method === 'Static') {
      fail(
        'PrivateMacAddressMissing',
        'A Static privateMacAllocationMethod needs a privateMacAddress.',
        'properties.privateMacAddress',
      );
    }
    const kept = existing?.properties.privateMacAddress;
    properties.privateMacAddress =
      typeof kept === 'string' ? kept : '00155D' + randomBytes(3).toString('hex').toUpperCase();
  } else if (typeof mac !== 'string' || !/^[0-9A-Fa-f]{12}$/.test(mac)) {
    fail(
      'InvalidPrivateMacAddress',
      `privateMacAddress '${String(mac)}' must be 12 hexadecimal digits without separators.`,
      'properties.privateMacAddress',
    );
  }
  const hostNic = properties.isHostVirtualNetworkInterface;
  if (hostNic !== undefined && typeof hostNic !== 'boolean') {
    fail(
      'InvalidRequestFormat',
      'isHostVirtualNetworkInterface must be a boolean.',
      'properties.isHostVirtualNetworkInterface',
    );
  }
  if (existing !== undefined && Boolean(existing.properties.isHostVirtualNetworkInterface) !== Boolean(hostNic)) {
    fail(
      'IsHostVirtualNetworkInterfaceCannotBeUpdated',
      'isHostVirtualNetworkInterface cannot be changed after the network interface is created.',
      'properties.isHostVirtualNetworkInterface',
    );
  }
}

interface PendingDynamic {
  desired: DesiredIpConfiguration;
  cidr: Cidr | undefined;
  subnetRef: string;
  network: string;
  previousAddress: string | undefined;
}

/** Who holds an address in a network's address space (network = `networkKey` of a subnet ref). */
type HolderLookup = (network: string, address: string) => string | undefined;

/** Validates one PUT of `/networkInterfaces/{nicId}` against the current store; throws NicValidationError. */
export function validateNicPut(
  input: unknown,
  nicId: string,
  existing: NetworkInterface | undefined,
  store: ResourceStore,
): DesiredNic {
  const body = canonicalizeKeys(input);
  if (!isObject(body)) fail('InvalidRequestFormat', 'The request body must be a JSON object.');
  if (
    body.resourceId !== undefined &&
    (typeof body.resourceId !== 'string' || body.resourceId.toLowerCase() !== nicId.toLowerCase())
  ) {
    fail(
      'InvalidRequestFormat',
      `resourceId ${JSON.stringify(body.resourceId)} in the body does not match '${nicId}' in the URL.`,
      'resourceId',
    );
  }
  const rawProperties = optionalObject(body.properties, 'properties');
  if (rawProperties === undefined) fail('InvalidRequestFormat', 'properties is required.', 'properties');
  const { provisioningState: _state, configurationState: _config, ipConfigurations, ...properties } = rawProperties;
  validateMac(properties, existing);
  const tags = optionalObject(body.tags, 'tags');
  const resourceMetadata = optionalObject(body.resourceMetadata, 'resourceMetadata');
  return {
    ...(tags === undefined ? {} : { tags }),
    ...(resourceMetadata === undefined ? {} : { resourceMetadata }),
    properties,
    ipConfigurations: validateIpConfigurations(ipConfigurations, nicId, existing, store, {
      multitenant: properties.isMultitenantStack === true,
    }),
  };
}

/**
 * The code a NIC PUT gets when its ipConfigurations sit on subnets of more than one virtual network. What a real
 * controller answers is not known: [MS-NCNBI]'s error table (§3.1.5.35) has no code for it, so this one is modelled
 * on the spec's code for the same rule on load balancers, `BackendIPConfigurationsDontUseSameVnet`.
 */
const MIXED_VIRTUAL_NETWORKS_CODE = 'IPConfigurationsDontUseSameVnet';

interface SubnetUse {
  network: string;
  subnetRef: string;
  resourceId: string;
}

/**
 * A NIC lives in one virtual network. [MS-NCNBI] §3.1.5.11 implies it: its `isMultitenantStack` property is what lets
 * a NIC be part of several virtual networks, and it is false by default. The spec states no validation rule, error
 * code or message for it; Azure states the rule for its NICs outright. So the emulator refuses a NIC whose
 * ipConfigurations reference subnets of two networks unless isMultitenantStack is true.
 */
function checkOneVirtualNetwork(
  first: SubnetUse | undefined,
  current: SubnetUse,
  nicRef: string,
  target: string,
): void {
  if (first === undefined || first.network === current.network) return;
  fail(
    MIXED_VIRTUAL_NETWORKS_CODE,
    `The ipConfigurations of network interface '${nicRef}' must all be in one virtual network: '${first.resourceId}' ` +
      `is on subnet '${first.subnetRef}' but '${current.resourceId}' is on subnet '${current.subnetRef}'. ` +
      'Only a network interface with isMultitenantStack true may be part of several virtual networks.',
    target,
  );
}

function validateIpConfigurations(
  raw: unknown,
  nicId: string,
  existing: NetworkInterface | undefined,
  store: ResourceStore,
  options: { multitenant: boolean },
): DesiredIpConfiguration[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw))
    fail('InvalidRequestFormat', 'properties.ipConfigurations must be an array.', 'properties.ipConfigurations');
  const nicRef = formatRef(NETWORK_INTERFACES, existing?.resourceId ?? nicId);
  const ownPrefix = refKey(nicRef) + '/';
  const previousById = new Map(
    (existing?.properties.ipConfigurations ?? []).map((ipc) => [ipc.resourceId.toLowerCase(), ipc]),
  );
  const seenIds = new Set<string>();
  // "network address" -> resourceRef of the ipConfiguration in this body that claims it. Addresses are unique per
  // virtual network only (HNV gives each its own address space), so every lookup names the network.
  const claimed = new Map<string, string>();
  const holderOf: HolderLookup = (network, address) =>
    claimed.get(networkAddressKey(network, address)) ??
    store.addressHolders(network, address).find((ref) => !refKey(ref).startsWith(ownPrefix));
  const dynamics: PendingDynamic[] = [];
  let firstSubnet: SubnetUse | undefined;

  const result = raw.map((item: unknown, index): DesiredIpConfiguration => {
    const target = `properties.ipConfigurations[${index}]`;
    if (!isObject(item)) fail('InvalidRequestFormat', `${target} must be a JSON object.`, target);
    const resourceId = item.resourceId;
    if (typeof resourceId !== 'string' || resourceId.trim() === '' || /[/?#\\]/.test(resourceId)) {
      fail(
        'InvalidRequestFormat',
        `${target}.resourceId is required and must be a plain name.`,
        `${target}.resourceId`,
      );
    }
    if (seenIds.has(resourceId.toLowerCase())) {
      fail(
        'DuplicateResourceId',
        `The ipConfiguration resourceId '${resourceId}' appears more than once in the network interface.`,
        `${target}.resourceId`,
      );
    }
    seenIds.add(resourceId.toLowerCase());
    const ipcRef = `${nicRef}/ipConfigurations/${resourceId}`;
    const rawProperties: JsonObject = optionalObject(item.properties, `${target}.properties`) ?? {};
    const { provisioningState: _state, configurationState: _config, ...properties } = rawProperties;
    const previous: IpConfiguration | undefined = previousById.get(resourceId.toLowerCase());

    const methodTarget = `${target}.properties.privateIPAllocationMethod`;
    const method = canonicalEnum(
      properties.privateIPAllocationMethod,
      ['Static', 'Dynamic', 'Unmanaged'],
      methodTarget,
    );
    const previousMethod = previous?.properties.privateIPAllocationMethod;
    if (typeof previousMethod === 'string' && previousMethod.toLowerCase() !== method.toLowerCase()) {
      fail(
        'PrivateIpAllocationMethodCannotBeUpdated',
        `privateIPAllocationMethod of '${resourceId}' cannot be changed from ${previousMethod} to ${method}.`,
        methodTarget,
      );
    }
    properties.privateIPAllocationMethod = method;

    const subnetTarget = `${target}.properties.subnet`;
    if (isMissing(properties.subnet))
      fail('SubnetIsRequired', `ipConfiguration '${resourceId}' needs a subnet reference.`, subnetTarget);
    const subnet = resolveReference(store, properties.subnet, 'subnet', subnetTarget);
    properties.subnet = { resourceRef: subnet.ref };
    const network = networkKey(subnet.ref);
    if (!options.multitenant) {
      const use = { network, subnetRef: subnet.ref, resourceId };
      checkOneVirtualNetwork(firstSubnet, use, nicRef, subnetTarget);
      firstSubnet ??= use;
    }
    if (!isMissing(properties.accessControlList)) {
      const acl = resolveReference(
        store,
        properties.accessControlList,
        'accessControlList',
        `${target}.properties.accessControlList`,
      );
      properties.accessControlList = { resourceRef: acl.ref };
    }

    const desired: DesiredIpConfiguration = { resourceId, properties };
    const tags = optionalObject(item.tags, `${target}.tags`);
    if (tags !== undefined) desired.tags = tags;
    const resourceMetadata = optionalObject(item.resourceMetadata, `${target}.resourceMetadata`);
    if (resourceMetadata !== undefined) desired.resourceMetadata = resourceMetadata;

    const cidr = subnetPrefix(subnet.resource);
    const address = properties.privateIPAddress;
    const addressTarget = `${target}.properties.privateIPAddress`;
    if (method === 'Dynamic') {
      const previousAddress = previous?.properties.privateIPAddress;
      dynamics.push({ desired, cidr, subnetRef: subnet.ref, network, previousAddress });
      return desired;
    }
    if (isMissing(address)) {
      if (method === 'Unmanaged') return desired;
      fail(
        'PrivateIPAddressMissing',
        `ipConfiguration '${resourceId}' has Static allocation but no privateIPAddress.`,
        addressTarget,
      );
    }
    const ip = typeof address === 'string' ? parseIPv4(address) : undefined;
    if (typeof address !== 'string' || ip === undefined) {
      fail('InvalidPrivateIPAddressFormat', `'${String(address)}' is not a valid IPv4 address.`, addressTarget);
    }
    if (method === 'Unmanaged') return desired;
    checkStaticAddress(address, ip, cidr, subnet.resource, addressTarget);
    const holder = holderOf(network, address);
    if (holder !== undefined) {
      fail(
        'PrivateIPAddressInUse',
        `The private IP address ${address} is already in use by ipConfiguration '${holder}'.`,
        addressTarget,
      );
    }
    claimed.set(networkAddressKey(network, address), ipcRef);
    return desired;
  });

  // Dynamic addresses are assigned last so they never take an address a Static entry later in the body asks for.
  for (const pending of dynamics) {
    const ipcRef = `${nicRef}/ipConfigurations/${pending.desired.resourceId}`;
    const address = allocate(pending, holderOf);
    pending.desired.properties.privateIPAddress = address;
    claimed.set(networkAddressKey(pending.network, address), ipcRef);
  }
  return result;
}

function subnetPrefix(subnet: Resource): Cidr | undefined {
  const prefix = subnet.properties.addressPrefix;
  return typeof prefix === 'string' ? parseCidr(prefix) : undefined;
}

function checkStaticAddress(
  address: string,
  ip: number,
  cidr: Cidr | undefined,
  subnet: Resource,
  target: string,
): void {
  const prefix = String(subnet.properties.addressPrefix);
  if (cidr === undefined || !cidrContains(cidr, ip)) {
    fail(
      'PrivateIPAddressNotInSubnet',
      `The private IP address ${address} is not in the address prefix ${prefix} of subnet '${subnet.resourceRef}'.`,
      target,
    );
  }
  if (isReserved(cidr, ip)) {
    fail(
      'PrivateIPAddressInReservedRange',
      `The private IP address ${address} is reserved in subnet '${subnet.resourceRef}' (${prefix}).`,
      target,
    );
  }
}

function allocate(pending: PendingDynamic, holderOf: HolderLookup): string {
  const { cidr, network, previousAddress } = pending;
  if (cidr === undefined) fail('SubnetIsFull', `Subnet '${pending.subnetRef}' has no usable address prefix.`);
  const previousIp = typeof previousAddress === 'string' ? parseIPv4(previousAddress) : undefined;
  if (previousIp !== undefined && cidrContains(cidr, previousIp) && !isReserved(cidr, previousIp)) {
    if (holderOf(network, formatIPv4(previousIp)) === undefined) return formatIPv4(previousIp);
  }
  for (let ip = firstAssignable(cidr); ip <= lastAssignable(cidr); ip++) {
    const candidate = formatIPv4(ip);
    if (holderOf(network, candidate) === undefined) return candidate;
  }
  fail(
    'SubnetIsFull',
    `Subnet '${pending.subnetRef}' has no free address for ipConfiguration '${pending.desired.resourceId}'.`,
  );
}
