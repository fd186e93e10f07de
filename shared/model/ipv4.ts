/** IPv4 arithmetic on unsigned 32-bit integers; pure, no I/O. */

const OCTET = '(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4_PATTERN = new RegExp(`^${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}$`);

export function isIpv4(text: string): boolean {
  return IPV4_PATTERN.test(text);
}

export function parseIpv4(text: string): number {
  if (!isIpv4(text)) throw new RangeError(`"${text}" is not a dotted-quad IPv4 address`);
  return text.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
}

export function formatIpv4(value: number): string {
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join('.');
}

export interface Ipv4Prefix {
  network: number;
  length: number;
  /** Count of addresses in the prefix, network and broadcast included. */
  size: number;
  broadcast: number;
}

export function isIpv4Cidr(text: string): boolean {
  const [address, length, ...rest] = text.split('/');
  return (
    rest.length === 0 &&
    address !== undefined &&
    isIpv4(address) &&
    length !== undefined &&
    /^(3[0-2]|[12]?\d)$/.test(length)
  );
}

/** Parses `a.b.c.d/n`; host bits must be zero, as the Network Controller requires of `addressPrefix`. */
export function parseIpv4Cidr(text: string): Ipv4Prefix {
  if (!isIpv4Cidr(text)) throw new RangeError(`"${text}" is not an IPv4 prefix in a.b.c.d/n form`);
  const [address = '', lengthText = ''] = text.split('/');
  const length = Number(lengthText);
  const size = 2 ** (32 - length);
  const value = parseIpv4(address);
  const network = value - (value % size);
  if (network !== value)
    throw new RangeError(`"${text}" has host bits set; the prefix is ${formatIpv4(network)}/${length}`);
  return { network, length, size, broadcast: network + size - 1 };
}

export function prefixContains(prefix: Ipv4Prefix, address: number): boolean {
  return address >= prefix.network && address <= prefix.broadcast;
}

/** The HNV default gateway of a virtual subnet: its first host address. */
export function firstHostAddress(prefix: Ipv4Prefix): number {
  return prefix.network + 1;
}

/**
 * Addresses a virtual subnet never hands to an IP configuration: the network address, the gateway (first host)
 * and the broadcast address.
 */
export function isReservedInSubnet(prefix: Ipv4Prefix, address: number): boolean {
  return address === prefix.network || address === firstHostAddress(prefix) || address === prefix.broadcast;
}

/**
 * The lowest `count` addresses of the subnet that are neither reserved nor in `held`, or undefined when the
 * subnet has fewer free addresses than asked for.
 */
export function lowestFreeAddresses(
  prefix: Ipv4Prefix,
  isHeld: (address: number) => boolean,
  count: number,
): number[] | undefined {
  const chosen: number[] = [];
  for (let address = prefix.network; address <= prefix.broadcast && chosen.length < count; address++) {
    if (!isReservedInSubnet(prefix, address) && !isHeld(address)) chosen.push(address);
  }
  return chosen.length === count ? chosen : undefined;
}

/** Network Controller resourceId convention for a container IP configuration, e.g. `IP_192_168_1_101`. */
export function ipConfigurationIdFor(address: string): string {
  return `IP_${address.replaceAll('.', '_')}`;
}
