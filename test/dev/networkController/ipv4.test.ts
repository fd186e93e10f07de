import { describe, expect, it } from 'vitest';

import { cidrContains, formatIPv4, isReserved, parseCidr, parseIPv4 } from '../../../dev/networkController/ipv4';

describe('NC emulator IPv4 helpers', () => {
  it('parses dotted quads strictly', () => {
    expect(parseIPv4('192.168.1.9')).toBe(0xc0a80109);
    expect(formatIPv4(0xc0a80109)).toBe('192.168.1.9');
    for (const bad of ['192.168.1', '192.168.1.256', '192.168.01.1', ' 192.168.1.1', '1.2.3.4.5', '', 'a.b.c.d']) {
      expect(parseIPv4(bad), bad).toBeUndefined();
    }
  });

  it('normalizes CIDR prefixes and tests membership', () => {
    const cidr = parseCidr('192.168.1.77/24');
    expect(cidr).toEqual({ network: 0xc0a80100, broadcast: 0xc0a801ff, prefixLength: 24 });
    expect(cidrContains(cidr!, parseIPv4('192.168.1.254')!)).toBe(true);
    expect(cidrContains(cidr!, parseIPv4('192.168.2.1')!)).toBe(false);
    expect(parseCidr('192.168.1.0/33')).toBeUndefined();
    expect(parseCidr('192.168.1.0')).toBeUndefined();
  });

  it('reserves the network address, the HNV gateway and broadcast', () => {
    const cidr = parseCidr('10.20.1.0/24')!;
    const reserved = ['10.20.1.0', '10.20.1.1', '10.20.1.255'];
    for (const a of reserved) expect(isReserved(cidr, parseIPv4(a)!), a).toBe(true);
    for (const a of ['10.20.1.2', '10.20.1.254']) expect(isReserved(cidr, parseIPv4(a)!), a).toBe(false);
  });
});
