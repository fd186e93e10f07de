import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import {
  firstHostAddress,
  formatIpv4,
  ipConfigurationIdFor,
  isIpv4,
  isIpv4Cidr,
  isReservedInSubnet,
  lowestFreeAddresses,
  parseIpv4,
  parseIpv4Cidr,
  prefixContains,
} from '../../../shared/model/ipv4';

const ip = parseIpv4;
const subnet1 = parseIpv4Cidr('192.168.1.0/24');

describe('parseIpv4 / formatIpv4', () => {
  it.each([
    ['0.0.0.0', 0],
    ['0.0.0.1', 1],
    ['0.0.1.0', 256],
    ['192.168.1.9', 0xc0a80109],
    ['10.0.0.255', 0x0a0000ff],
    ['255.255.255.255', 0xffffffff],
  ])('parses %s to the unsigned 32-bit value %i and formats it back', (text, value) => {
    expect(parseIpv4(text)).toBe(value);
    expect(formatIpv4(value)).toBe(text);
  });

  it.each([
    '',
    '1.2.3',
    '1.2.3.4.5',
    '256.0.0.1',
    '1.2.3.300',
    '01.2.3.4',
    '1.2.3.04',
    '1.2.3.-4',
    ' 1.2.3.4',
    '1.2.3.4 ',
    '1.2.3.4/24',
    '1.2.3.a',
    '1..3.4',
    '::1',
    'fe80::1',
    '::ffff:192.168.1.9',
    '0x7f.0.0.1',
  ])('rejects %j as not a dotted quad', (text) => {
    expect(isIpv4(text)).toBe(false);
    expect(() => parseIpv4(text)).toThrow(RangeError);
  });

  it('formats every parsed address back to the same text (property)', () => {
    fc.assert(
      fc.property(fc.ipV4(), (text) => {
        expect(isIpv4(text)).toBe(true);
        expect(formatIpv4(parseIpv4(text))).toBe(text);
      }),
    );
  });

  it('parses every formatted 32-bit value back to the same value (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (value) => {
        expect(parseIpv4(formatIpv4(value))).toBe(value);
      }),
    );
  });
});

describe('parseIpv4Cidr', () => {
  it.each([
    ['192.168.1.0/24', { network: ip('192.168.1.0'), length: 24, size: 256, broadcast: ip('192.168.1.255') }],
    ['10.20.0.0/16', { network: ip('10.20.0.0'), length: 16, size: 65536, broadcast: ip('10.20.255.255') }],
    ['192.168.1.128/25', { network: ip('192.168.1.128'), length: 25, size: 128, broadcast: ip('192.168.1.255') }],
    ['10.0.0.4/30', { network: ip('10.0.0.4'), length: 30, size: 4, broadcast: ip('10.0.0.7') }],
    ['10.0.0.5/32', { network: ip('10.0.0.5'), length: 32, size: 1, broadcast: ip('10.0.0.5') }],
    ['0.0.0.0/0', { network: 0, length: 0, size: 2 ** 32, broadcast: 0xffffffff }],
  ])('parses %s', (text, expected) => {
    expect(isIpv4Cidr(text)).toBe(true);
    expect(parseIpv4Cidr(text)).toEqual(expected);
  });

  it.each([
    ['192.168.1.9/24', '192.168.1.0/24'],
    ['192.168.1.1/24', '192.168.1.0/24'],
    ['10.20.1.0/16', '10.20.0.0/16'],
    ['192.168.1.200/25', '192.168.1.128/25'],
    ['1.2.3.4/0', '0.0.0.0/0'],
  ])('rejects %s because host bits are set, naming the prefix %s', (text, network) => {
    expect(isIpv4Cidr(text)).toBe(true);
    expect(() => parseIpv4Cidr(text)).toThrow(RangeError);
    expect(() => parseIpv4Cidr(text)).toThrow(`host bits set; the prefix is ${network}`);
  });

  it.each([
    '192.168.1.0',
    '192.168.1.0/',
    '192.168.1.0/33',
    '192.168.1.0/024',
    '192.168.1.0/-1',
    '192.168.1.0/24/8',
    '192.168.1/24',
    '/24',
    'fd00::/64',
    '192.168.1.0/ 24',
  ])('rejects %j as not a.b.c.d/n', (text) => {
    expect(isIpv4Cidr(text)).toBe(false);
    expect(() => parseIpv4Cidr(text)).toThrow('is not an IPv4 prefix');
  });
});

describe('prefixContains', () => {
  it.each([
    ['192.168.1.0', true],
    ['192.168.1.1', true],
    ['192.168.1.101', true],
    ['192.168.1.255', true],
    ['192.168.0.255', false],
    ['192.168.2.0', false],
    ['10.20.1.9', false],
  ])('192.168.1.0/24 contains %s: %s', (address, expected) => {
    expect(prefixContains(subnet1, ip(address))).toBe(expected);
  });
});

describe('reserved addresses of a virtual subnet', () => {
  it('uses the first host address as the gateway', () => {
    expect(formatIpv4(firstHostAddress(subnet1))).toBe('192.168.1.1');
    expect(formatIpv4(firstHostAddress(parseIpv4Cidr('10.0.0.128/25')))).toBe('10.0.0.129');
  });

  it.each([
    ['192.168.1.0', true, 'network'],
    ['192.168.1.1', true, 'gateway'],
    ['192.168.1.255', true, 'broadcast'],
    ['192.168.1.2', false, 'first usable'],
    ['192.168.1.9', false, 'host'],
    ['192.168.1.254', false, 'last usable'],
  ])('%s reserved: %s (%s)', (address, expected) => {
    expect(isReservedInSubnet(subnet1, ip(address))).toBe(expected);
  });
});

describe('lowestFreeAddresses', () => {
  const held = (...addresses: string[]) => new Set(addresses.map(ip));
  const free = (cidr: string, holding: Set<number>, count: number) =>
    lowestFreeAddresses(parseIpv4Cidr(cidr), (address) => holding.has(address), count)?.map(formatIpv4);

  it.each([
    ['skips network and gateway', '192.168.1.0/24', held(), 3, ['192.168.1.2', '192.168.1.3', '192.168.1.4']],
    [
      'skips held addresses',
      '192.168.1.0/24',
      held('192.168.1.2', '192.168.1.4'),
      3,
      ['192.168.1.3', '192.168.1.5', '192.168.1.6'],
    ],
    [
      'ignores held addresses outside the subnet',
      '192.168.1.0/24',
      held('10.0.0.2', '192.168.2.2'),
      1,
      ['192.168.1.2'],
    ],
    [
      'never hands out the broadcast address',
      '10.0.0.0/29',
      held(),
      5,
      ['10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6'],
    ],
    ['returns nothing for a count of 0', '192.168.1.0/24', held(), 0, []],
    [
      'uses the last usable address when the rest is held',
      '10.0.0.0/29',
      held('10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5'),
      1,
      ['10.0.0.6'],
    ],
  ])('%s', (_name, cidr, holding, count, expected) => {
    expect(free(cidr, holding, count)).toEqual(expected);
  });

  it.each([
    ['more than the subnet has', '10.0.0.0/29', held(), 6],
    ['a full subnet', '10.0.0.0/30', held('10.0.0.2'), 1],
    ['a /31 (both addresses reserved)', '10.0.0.0/31', held(), 1],
    ['a /32 (the one address is the network)', '10.0.0.5/32', held(), 1],
  ])('returns undefined when asking for %s', (_name, cidr, holding, count) => {
    expect(free(cidr, holding, count)).toBeUndefined();
  });

  it('never returns reserved or held addresses, and returns them sorted without duplicates (property)', () => {
    const prefixArb = fc
      .record({ base: fc.integer({ min: 0, max: 0xffffffff }), length: fc.integer({ min: 22, max: 32 }) })
      .map(({ base, length }) => {
        const size = 2 ** (32 - length);
        return parseIpv4Cidr(`${formatIpv4(base - (base % size))}/${length}`);
      });
    fc.assert(
      fc.property(
        prefixArb,
        fc.array(fc.integer({ min: 0, max: 1023 }), { maxLength: 64 }),
        fc.integer({ min: 0, max: 300 }),
        (prefix, heldOffsets, count) => {
          const holding = new Set(heldOffsets.map((offset) => prefix.network + offset));
          const chosen = lowestFreeAddresses(prefix, (address) => holding.has(address), count);
          const available = Array.from({ length: prefix.size }, (_, i) => prefix.network + i).filter(
            (a) => !isReservedInSubnet(prefix, a) && !holding.has(a),
          );
          if (count > available.length) {
            expect(chosen).toBeUndefined();
            return;
          }
          expect(chosen).toEqual(available.slice(0, count));
          for (const address of chosen ?? []) {
            expect(prefixContains(prefix, address)).toBe(true);
            expect(isReservedInSubnet(prefix, address)).toBe(false);
            expect(holding.has(address)).toBe(false);
          }
          expect(chosen).toEqual([...new Set(chosen)].sort((a, b) => a - b));
        },
      ),
    );
  });
});

describe('ipConfigurationIdFor', () => {
  it.each([
    ['192.168.1.101', 'IP_192_168_1_101'],
    ['10.0.0.2', 'IP_10_0_0_2'],
    ['255.255.255.255', 'IP_255_255_255_255'],
  ])('names the IP configuration for %s %s', (address, id) => {
    expect(ipConfigurationIdFor(address)).toBe(id);
  });
});
