import type { AttachRequestInput } from '../../../shared/model/attachRequest';
import { withPath } from '../../support/requests';
import { seedRequest } from '../../support/seed';

/**
 * Strings no identifier may carry: OData filter operators and quotes (table keys), PowerShell and shell
 * metacharacters (run-command parameters), path traversal (URLs, routes), control and look-alike characters.
 */
export const HOSTILE_STRINGS: readonly string[] = [
  "' or PartitionKey ne '",
  "x' or 1 eq 1 or 'a' eq 'a",
  "contoso' and RowKey gt '",
  "a' or PartitionKey ne 'b",
  'a" or 1 eq 1',
  '$(Invoke-WebRequest http://127.0.0.1:1/x)',
  '`whoami`',
  'a;Remove-Item -Recurse -Force C:\\',
  'a | Out-File C:\\x',
  'a && calc.exe',
  'a & calc',
  'a || true',
  '$env:COMPUTERNAME',
  '@(1,2)',
  '"; exit 1; "',
  "'; exit 1; '",
  'a\nWrite-Host pwned',
  'a\r\nb',
  'a\u0000b',
  'VNet1\n',
  '../../etc/passwd',
  '..\\..\\windows',
  '..',
  '.',
  '%2e%2e%2f',
  '..%2F..%2Fother',
  'a/b',
  'a\\b',
  'a b',
  'a\tb',
  '<script>alert(1)</script>',
  '{{7*7}}',
  '${7*7}',
  'a#b',
  'a?b',
  'a%00',
  '\u202Eevil',
  'аdmin',
  'ｖｎｅｔ１',
  '',
  ' ',
  'x'.repeat(300),
];

/** Strings that are harmless in a resource group name (ARM allows them) but no other identifier accepts. */
export const HOSTILE_UNLESS_RESOURCE_GROUP: readonly string[] = ['-Command', '(whoami)', '_leading', '.hidden'];

/** Values of the wrong JSON type for a string field. */
export const NON_STRINGS: readonly unknown[] = [42, 0, true, false, null, [], ['VNet1'], {}, { $ne: '' }];

export interface FieldCase {
  /** Dotted path as the API reports it in `error.details[].target`. */
  target: string;
  /** The seed request with this field set to `value`. */
  set(value: unknown): Record<string, unknown>;
  resourceGroup?: boolean;
}

const at =
  (path: string, base?: () => Record<string, unknown>) =>
  (value: unknown): Record<string, unknown> =>
    withPath(path, value, base?.());

/** Every identifier of the request, where each one sits and how the API names it. */
export const IDENTIFIER_FIELDS: readonly FieldCase[] = [
  { target: 'attachmentId', set: at('attachmentId') },
  { target: 'networkController', set: at('networkController') },
  { target: 'virtualNetworkId', set: at('virtualNetworkId') },
  { target: 'subnetId', set: at('subnetId') },
  { target: 'accessControlListId', set: at('accessControlListId') },
  { target: 'nic.resourceId', set: at('nic.resourceId', () => withPath('nic', {})) },
  { target: 'hyperVHost.machineName', set: at('hyperVHost.machineName') },
  { target: 'hyperVHost.resourceGroup', set: at('hyperVHost.resourceGroup'), resourceGroup: true },
  { target: 'hyperVHost.subscriptionId', set: at('hyperVHost.subscriptionId') },
  { target: 'containerHost.machineName', set: at('containerHost.machineName') },
  { target: 'containerHost.resourceGroup', set: at('containerHost.resourceGroup'), resourceGroup: true },
  { target: 'containerHost.subscriptionId', set: at('containerHost.subscriptionId') },
  { target: 'network.name', set: at('network.name') },
];

/** Every place an IPv4 address goes, with the API's name for it. */
export const ADDRESS_FIELDS: readonly FieldCase[] = [
  { target: 'nic.privateIpAddress', set: at('nic.privateIpAddress') },
  { target: 'containerIps.addresses[0]', set: (v) => withPath('containerIps', { addresses: [v] }) },
  {
    target: 'containerIps.range.first',
    set: (v) => withPath('containerIps', { range: { first: v, last: '192.168.1.110' } }),
  },
  {
    target: 'containerIps.range.last',
    set: (v) => withPath('containerIps', { range: { first: '192.168.1.101', last: v } }),
  },
  { target: 'network.gateway', set: at('network.gateway') },
];

export function validRequest(overrides: Partial<AttachRequestInput> = {}): Record<string, unknown> {
  return { ...(structuredClone(seedRequest()) as Record<string, unknown>), ...overrides };
}
