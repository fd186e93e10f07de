/** IPv4 arithmetic on unsigned 32-bit numbers, enough for subnet membership and reserved-address checks. */

const OCTET = /^(0|[1-9]\d{0,2})$/;

export function parseIPv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!OCTET.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return value;
}

export function formatIPv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

export interface Cidr {
  network: number;
  broadcast: number;
  prefixLength: number;
}

export function parseCidr(text: string): Cidr | undefined {
  const [address, length, ...rest] = text.split('/');
  if (address === undefined || length === undefined || rest.length > 0 || !/^\d{1,2}$/.test(length)) return undefined;
  const ip = parseIPv4(address);
  const prefixLength = Number(length);
  if (ip === undefined || prefixLength > 32) return undefined;
  const size = 2 ** (32 - prefixLength);
  const network = ip - (ip % size);
  return { network, broadcast: network + size - 1, prefixLength };
}

export function cidrContains(cidr: Cidr, ip: number): boolean {
  return ip >= cidr.network && ip <= cidr.broadcast;
}

/**
 * HNV keeps the network address, the first host (the distributed router's default gateway) and the broadcast
 * address for itself; tiny prefixes have no room for a gateway, so nothing is reserved there.
 */
export function isReserved(cidr: Cidr, ip: number): boolean {
  if (cidr.prefixLength >= 31) return false;
  return ip === cidr.network || ip === cidr.network + 1 || ip === cidr.broadcast;
}

/** First address Dynamic allocation may hand out. */
export function firstAssignable(cidr: Cidr): number {
  return cidr.prefixLength >= 31 ? cidr.network : cidr.network + 2;
}

export function lastAssignable(cidr: Cidr): number {
  return cidr.prefixLength >= 31 ? cidr.broadcast : cidr.broadcast - 1;
}
