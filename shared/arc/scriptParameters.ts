import { z } from 'zod';

import { parseIpv4, parseIpv4Cidr, prefixContains } from '../model/ipv4';

/**
 * Regular expressions shared, character for character, by the TypeScript validation and the scripts'
 * `[ValidatePattern(..., Options = 'None')]` attributes (a test compares them). They are written to mean the same in
 * JavaScript and .NET: `Options = 'None'` turns off .NET's default IgnoreCase, and `$(?!\n)` pins the match to the
 * true end of input, because .NET's `$` also matches before a final newline.
 */
const octet = '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';

export const containerNetworkDrivers = ['l2bridge', 'l2tunnel'] as const;
export type ContainerNetworkDriver = (typeof containerNetworkDrivers)[number];

/**
 * Names Docker on Windows reserves: it refuses to create or remove them. Its own check is case-sensitive, but HNS
 * names are not, so a request is refused in any case (as ensure-container-network.ps1 does).
 */
export const predefinedNetworkNames = ['nat', 'none', 'default'] as const;

export const parameterPatterns = {
  /** Docker's own name rule (`[a-zA-Z0-9][a-zA-Z0-9_.-]*`), capped at 64 characters. */
  networkName: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$(?!\\n)',
  driver: `^(${containerNetworkDrivers.join('|')})$(?!\\n)`,
  subnetCidr: `^(${octet}\\.){3}${octet}/(3[0-2]|[12]?[0-9])$(?!\\n)`,
  ipv4Address: `^(${octet}\\.){3}${octet}$(?!\\n)`,
  port: '^[0-9]{1,5}$(?!\\n)',
  /** The agent path as InstallPrivateCloudPlugin.ps1 stores it (it forms `addr:port/path`): no leading slash. */
  urlPath: '^[A-Za-z0-9_.~-][A-Za-z0-9/_.~-]{0,254}$(?!\\n)',
  agentFormat: '^(xml|json)$(?!\\n)',
} as const;

export type ParameterPatternName = keyof typeof parameterPatterns;

function patterned(name: ParameterPatternName, description: string): z.ZodString {
  return z.string().regex(new RegExp(parameterPatterns[name]), `must be ${description}`);
}

export const networkNameSchema = patterned(
  'networkName',
  'a Docker network name: a letter or digit, then up to 63 letters, digits, "_", "." or "-"',
).refine(
  (name) => !(predefinedNetworkNames as readonly string[]).includes(name.toLowerCase()),
  'must not be a predefined Docker network ("nat", "none" or "default")',
);

export const driverSchema = z.enum(containerNetworkDrivers, { error: 'must be "l2bridge" or "l2tunnel"' });

export const ipv4AddressSchema = patterned('ipv4Address', 'a dotted IPv4 address such as 192.168.1.1');

export const subnetCidrSchema = patterned('subnetCidr', 'an IPv4 prefix such as 192.168.1.0/24').superRefine(
  (value, ctx) => {
    // Zod runs refinements after a failed regex too; one reason per field is enough.
    if (!new RegExp(parameterPatterns.subnetCidr).test(value)) return;
    const prefixLength = Number(value.split('/')[1]);
    if (prefixLength < 8 || prefixLength > 30) {
      ctx.addIssue({ code: 'custom', message: 'must have a prefix length between /8 and /30' });
      return;
    }
    try {
      parseIpv4Cidr(value);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must name the network address (host bits zero), e.g. 192.168.1.0/24' });
    }
  },
);

export const portSchema = z.int().min(1).max(65535);
/** A URL path, with or without its leading slash; parsed to the stored form, without it. */
export const urlPathSchema = z
  .string()
  .transform((path) => (path.startsWith('/') ? path.slice(1) : path))
  .pipe(
    patterned(
      'urlPath',
      'a URL path of up to 255 characters after an optional leading "/" (letters, digits, "/", "_", ".", "~", "-")',
    ),
  );
export const agentFormatSchema = z.enum(['xml', 'json'], { error: 'must be "xml" or "json"' });

/** Whether `address` is a usable host address of `cidr` (not its network or broadcast address). */
export function isHostAddressOf(address: string, cidr: string): boolean {
  const prefix = parseIpv4Cidr(cidr);
  const value = parseIpv4(address);
  return prefixContains(prefix, value) && value !== prefix.network && value !== prefix.broadcast;
}
