import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

import { type FieldIssue, ValidationError } from '../../../shared/errors';
import {
  AttachQueueMessageSchema,
  AttachRequestSchema,
  MAX_CONTAINER_IPS,
  parseOrThrow,
  toFieldIssues,
} from '../../../shared/model/attachRequest';
import { thrownBy } from '../../support/rejection';
import { withPath } from '../../support/requests';

/** The README / NC emulator seed scenario. */
const SEED_REQUEST = {
  attachmentId: 'seed-1',
  networkController: 'default',
  virtualNetworkId: 'VNet1',
  subnetId: 'Subnet1',
  nic: { privateIpAddress: '192.168.1.9' },
  accessControlListId: 'AllowAll',
  containerIps: { range: { first: '192.168.1.101', last: '192.168.1.110' } },
  hyperVHost: { machineName: 'HV01' },
  containerHost: { machineName: 'ContainerHostVM1' },
  network: { name: 'MyContainerOverlayNetwork', driver: 'l2bridge' },
};

type Json = Record<string, unknown>;

/** The seed scenario with its container host VM reached through HV01 (PowerShell Direct). */
const THROUGH_HOST: Json = {
  ...SEED_REQUEST,
  containerHost: { vmName: 'ContainerHostVM1', through: 'hyperVHost', credential: { secretName: 'contoso-guest' } },
};

const withField = (path: string, value: unknown, base: Json = SEED_REQUEST): Json => withPath(path, value, base);

function issuesOf(value: unknown, schema: z.ZodType = AttachRequestSchema): FieldIssue[] {
  const parsed = schema.safeParse(value);
  if (parsed.success) throw new Error(`expected ${JSON.stringify(value)} to be rejected`);
  return toFieldIssues(parsed.error);
}

const issue = (field: string, reason: string) => ({ field, reason: expect.stringContaining(reason) as string });

const addressesFrom = (count: number) => Array.from({ length: count }, (_, i) => `10.0.${i >> 8}.${i & 255}`);

describe('AttachRequestSchema: valid requests', () => {
  it('accepts the seed scenario unchanged', () => {
    expect(AttachRequestSchema.parse(SEED_REQUEST)).toEqual(SEED_REQUEST);
  });

  it('defaults networkController to "default" and leaves attachmentId absent when omitted', () => {
    const parsed = AttachRequestSchema.parse(
      withField('attachmentId', undefined, withField('networkController', undefined)),
    );
    expect(parsed.networkController).toBe('default');
    expect(parsed).not.toHaveProperty('attachmentId');
  });

  it.each<[string, Json]>([
    ['the NIC by resourceId', withField('nic', { resourceId: 'ContainerHostVM1_Net0' })],
    ['a GUID NIC resourceId', withField('nic', { resourceId: '5a6e3c52-7d34-4c1e-9f5e-0f4b1c2d3e4f' })],
    ['explicit addresses', withField('containerIps', { addresses: ['192.168.1.101', '192.168.1.102'] })],
    [`${MAX_CONTAINER_IPS} addresses`, withField('containerIps', { addresses: addressesFrom(256) })],
    ['a one-address range', withField('containerIps', { range: { first: '192.168.1.101', last: '192.168.1.101' } })],
    ['a 256-address range', withField('containerIps', { range: { first: '10.0.0.0', last: '10.0.0.255' } })],
    ['a count of 1', withField('containerIps', { count: 1 })],
    ['a count of 256', withField('containerIps', { count: 256 })],
    ['no ACL', withField('accessControlListId', undefined)],
    [
      'the l2tunnel driver and a gateway',
      withField('network', { name: 'net.1_a-b', driver: 'l2tunnel', gateway: '192.168.1.1' }),
    ],
    [
      'a full Arc machine reference',
      withField('hyperVHost', {
        machineName: 'HV01.contoso.local',
        resourceGroup: 'rg-sdn_hosts.prod',
        subscriptionId: '00000000-1111-2222-3333-444444444444',
      }),
    ],
    ['a named controller', withField('networkController', 'lab-2')],
    ['dotted and underscored resource ids', withField('subnetId', 'Subnet_1.a-b')],
  ])('accepts %s', (_name, body) => {
    expect(AttachRequestSchema.safeParse(body).success).toBe(true);
  });

  it('accepts parentheses in resource group names, as Azure does (the one identifier that allows them)', () => {
    const body = withField('containerHost.resourceGroup', 'rg(prod)');
    expect(AttachRequestSchema.safeParse(body).success).toBe(true);
  });
});

describe('AttachRequestSchema: invalid requests name the field and the reason', () => {
  const ipv6 = 'IPv6 is not supported';
  it.each<[string, Json, { field: string; reason: string }[]]>([
    [
      'both nic fields',
      withField('nic', { resourceId: 'ContainerHostVM1_Net0', privateIpAddress: '192.168.1.9' }),
      [issue('nic', 'give exactly one of resourceId or privateIpAddress')],
    ],
    ['neither nic field', withField('nic', {}), [issue('nic', 'give exactly one of resourceId or privateIpAddress')]],
    [
      'none of addresses, range, count',
      withField('containerIps', {}),
      [issue('containerIps', 'exactly one of addresses, range or count')],
    ],
    [
      'addresses and range',
      withField('containerIps', {
        addresses: ['192.168.1.101'],
        range: { first: '192.168.1.102', last: '192.168.1.103' },
      }),
      [issue('containerIps', 'exactly one of addresses, range or count')],
    ],
    [
      'range and count',
      withField('containerIps', { range: { first: '192.168.1.102', last: '192.168.1.103' }, count: 2 }),
      [issue('containerIps', 'exactly one of addresses, range or count')],
    ],
    [
      'all three of addresses, range, count',
      withField('containerIps', {
        addresses: ['192.168.1.101'],
        range: { first: '192.168.1.102', last: '192.168.1.103' },
        count: 2,
      }),
      [issue('containerIps', 'exactly one of addresses, range or count')],
    ],
    [
      '257 addresses',
      withField('containerIps', { addresses: addressesFrom(257) }),
      [issue('containerIps.addresses', 'at most 256')],
    ],
    [
      'an empty address list',
      withField('containerIps', { addresses: [] }),
      [issue('containerIps.addresses', 'at least one')],
    ],
    [
      'a 257-address range',
      withField('containerIps.range', { first: '10.0.0.0', last: '10.0.1.0' }),
      [issue('containerIps.range', 'spans 257 addresses; at most 256')],
    ],
    [
      'a range whose last is below its first',
      withField('containerIps.range', { first: '192.168.1.110', last: '192.168.1.101' }),
      [issue('containerIps.range.last', 'must not be below range.first')],
    ],
    [
      'duplicate addresses',
      withField('containerIps', { addresses: ['192.168.1.101', '192.168.1.102', '192.168.1.101', '192.168.1.102'] }),
      [
        issue('containerIps.addresses[2]', 'duplicate address 192.168.1.101'),
        issue('containerIps.addresses[3]', 'duplicate address 192.168.1.102'),
      ],
    ],
    [
      'an IPv6 container address',
      withField('containerIps', { addresses: ['192.168.1.101', 'fd00::65'] }),
      [issue('containerIps.addresses[1]', ipv6)],
    ],
    [
      'an IPv6 range end',
      withField('containerIps.range.first', '::ffff:192.168.1.101'),
      [issue('containerIps.range.first', ipv6)],
    ],
    ['an IPv6 NIC address', withField('nic.privateIpAddress', 'fe80::1'), [issue('nic.privateIpAddress', ipv6)]],
    ['an IPv6 gateway', withField('network.gateway', 'fd00::1'), [issue('network.gateway', ipv6)]],
    [
      'a non-IPv4 address',
      withField('containerIps.range.last', '192.168.1.256'),
      [issue('containerIps.range.last', 'dotted-quad')],
    ],
    [
      'an address with leading zeros',
      withField('nic.privateIpAddress', '192.168.001.009'),
      [issue('nic.privateIpAddress', 'dotted-quad')],
    ],
    ['count 0', withField('containerIps', { count: 0 }), [issue('containerIps.count', 'must be at least 1')]],
    ['count -1', withField('containerIps', { count: -1 }), [issue('containerIps.count', 'must be at least 1')]],
    ['count 257', withField('containerIps', { count: 257 }), [issue('containerIps.count', 'must be at most 256')]],
    ['driver nat', withField('network.driver', 'nat'), [issue('network.driver', 'must be "l2bridge" or "l2tunnel"')]],
    ...['nat', 'none', 'default', 'Default'].map(
      (name) =>
        [`network name ${name}`, withField('network.name', name), [issue('network.name', 'predefined')]] as [
          string,
          Json,
          { field: string; reason: string }[],
        ],
    ),
    [
      'driver transparent',
      withField('network.driver', 'transparent'),
      [issue('network.driver', 'must be "l2bridge" or "l2tunnel"')],
    ],
    [
      'unknown top-level fields',
      withField('extra', 1, withField('nicId', 'x')),
      [issue('(body)', 'unknown field(s): nicId, extra')],
    ],
    ['an unknown field in nic', withField('nic.macAddress', 'x'), [issue('nic', 'unknown field(s): macAddress')]],
    [
      'an unknown field in containerIps',
      withField('containerIps.prefix', 'x'),
      [issue('containerIps', 'unknown field(s): prefix')],
    ],
    [
      'an unknown field in containerIps.range',
      withField('containerIps.range.step', 2),
      [issue('containerIps.range', 'unknown field(s): step')],
    ],
    [
      'an unknown field in hyperVHost',
      withField('hyperVHost.password', 'x'),
      [issue('hyperVHost', 'unknown field(s): password')],
    ],
    [
      'an unknown field in containerHost',
      withField('containerHost.script', 'x'),
      [issue('containerHost', 'unknown field(s): script')],
    ],
    ['an unknown field in network', withField('network.options', {}), [issue('network', 'unknown field(s): options')]],
    [
      'networkController as a URL',
      withField('networkController', 'https://nc.contoso.local/networking/v1'),
      [issue('networkController', 'not a URL')],
    ],
    [
      'networkController in upper case',
      withField('networkController', 'Default'),
      [issue('networkController', 'must match')],
    ],
    [
      'a missing virtualNetworkId',
      withField('virtualNetworkId', undefined),
      [issue('virtualNetworkId', 'is required')],
    ],
    ['a missing subnetId', withField('subnetId', undefined), [issue('subnetId', 'is required')]],
    ['a missing containerIps', withField('containerIps', undefined), [issue('containerIps', 'is required')]],
    ['a missing hyperVHost.machineName', withField('hyperVHost', {}), [issue('hyperVHost.machineName', 'is required')]],
    ['a missing network.driver', withField('network.driver', undefined), [issue('network.driver', 'is required')]],
    [
      'a subscriptionId that is not a GUID',
      withField('hyperVHost.subscriptionId', 'my-subscription'),
      [issue('hyperVHost.subscriptionId', 'subscription GUID')],
    ],
    [
      'a resource group ending in "."',
      withField('hyperVHost.resourceGroup', 'rg.'),
      [issue('hyperVHost.resourceGroup', 'resource group')],
    ],
  ])('rejects %s', (_name, body, expected) => {
    const issues = issuesOf(body);
    expect(issues).toEqual(expected);
  });

  // Field paths of wrongly typed values. Their reasons are checked separately below (they are wrong today).
  const wrongTypes: [string, Json, string, string][] = [
    ['a number as virtualNetworkId', withField('virtualNetworkId', 5), 'virtualNetworkId', 'must be a string'],
    [
      'a number as nic.privateIpAddress',
      withField('nic.privateIpAddress', 3232235785),
      'nic.privateIpAddress',
      'must be a string',
    ],
    ['a string as nic', withField('nic', '192.168.1.9'), 'nic', 'must be an object'],
    [
      'a string as containerIps.addresses',
      withField('containerIps', { addresses: '192.168.1.101' }),
      'containerIps.addresses',
      'must be an array',
    ],
    ['a string as count', withField('containerIps', { count: '2' }), 'containerIps.count', 'must be a number'],
    ['a fractional count', withField('containerIps', { count: 1.5 }), 'containerIps.count', 'must be a whole number'],
    ['a boolean as network.name', withField('network.name', true), 'network.name', 'must be a string'],
    ['null as hyperVHost', withField('hyperVHost', null), 'hyperVHost', 'must be an object'],
  ];

  it.each(wrongTypes)('rejects %s, naming the field', (_name, body, field) => {
    expect(issuesOf(body).map((i) => i.field)).toEqual([field]);
  });

  it.each(wrongTypes)('rejects %s with a reason about its type, not "is required"', (_name, body, field, reason) => {
    expect(issuesOf(body)).toEqual([issue(field, reason)]);
  });

  it('rejects a body that is not an object with a reason other than "is required"', () => {
    expect(issuesOf('hello')).toEqual([
      { field: '(body)', reason: expect.not.stringContaining('is required') as string },
    ]);
  });

  it('names every bad field of a body with many problems at once', () => {
    const body = {
      ...SEED_REQUEST,
      attachmentId: 'seed 1',
      networkController: 'https://nc',
      virtualNetworkId: '../VNet1',
      subnetId: undefined,
      nic: {},
      accessControlListId: "' or 1 eq 1",
      containerIps: { addresses: ['192.168.1.101', 'fd00::1', '192.168.1.101'] },
      hyperVHost: { machineName: 'HV01;calc' },
      containerHost: { machineName: 'ContainerHostVM1', extra: true },
      network: { name: '$(whoami)', driver: 'nat' },
      unexpected: 1,
    };
    const fields = issuesOf(body).map((i) => i.field);
    expect(fields.sort()).toEqual(
      [
        '(body)',
        'accessControlListId',
        'attachmentId',
        'containerHost',
        'containerIps.addresses[1]',
        'containerIps.addresses[2]',
        'hyperVHost.machineName',
        'network.driver',
        'network.name',
        'networkController',
        'nic',
        'subnetId',
        'virtualNetworkId',
      ].sort(),
    );
  });
});

describe('AttachRequestSchema: identifiers carry no injection or traversal', () => {
  /** Every identifier of a request, with a body that holds a valid value elsewhere. */
  const identifierFields: [field: string, base: Json][] = [
    ['attachmentId', SEED_REQUEST],
    ['networkController', SEED_REQUEST],
    ['virtualNetworkId', SEED_REQUEST],
    ['subnetId', SEED_REQUEST],
    ['nic.resourceId', withField('nic', {})],
    ['accessControlListId', SEED_REQUEST],
    ['hyperVHost.machineName', SEED_REQUEST],
    ['hyperVHost.resourceGroup', SEED_REQUEST],
    ['hyperVHost.subscriptionId', SEED_REQUEST],
    ['containerHost.machineName', SEED_REQUEST],
    ['containerHost.resourceGroup', SEED_REQUEST],
    ['containerHost.subscriptionId', SEED_REQUEST],
    ['network.name', SEED_REQUEST],
    ['containerHost.vmName', THROUGH_HOST],
    ['containerHost.credential.secretName', THROUGH_HOST],
  ];
  const hostileValues = [
    'VNet1; Remove-Item C:\\ -Recurse',
    'VNet1;calc',
    'VNet1|calc',
    'VNet1&calc',
    'VNet1&&calc',
    '$env:COMPUTERNAME',
    '$(whoami)',
    '`whoami`',
    'VNet1`n',
    "VNet1'",
    'VNet1"',
    "' or 1 eq 1",
    "VNet1' or resourceId eq 'x",
    'VNet1 or 1 eq 1',
    '../x',
    '..\\x',
    'x/../y',
    '..',
    '/virtualNetworks/VNet1',
    '%2e%2e%2fx',
    'VNet1<x',
    'VNet1>x',
    '{VNet1}',
    'VNet1 ',
    ' VNet1',
    'VNet1\n',
    'VNet1\tx',
    '',
    '-VNet1',
    'x'.repeat(129),
  ];
  // Azure allows a leading "-" in resource group and Key Vault secret names (they only reach URL paths, never a
  // command line).
  const allowedIn = (field: string, value: string) =>
    (field.endsWith('resourceGroup') || field.endsWith('secretName')) && value === '-VNet1';
  const cases = identifierFields.flatMap(([field, base]) =>
    hostileValues
      .filter((value) => !allowedIn(field, value))
      .map((value) => [field, value, base] as [string, string, Json]),
  );

  it.each(cases)('rejects %s = %j', (field, value, base) => {
    const issues = issuesOf(withField(field, value, base));
    expect(issues).toContainEqual(issue(field, 'must'));
    expect(issues.every((i) => i.field === field)).toBe(true);
  });

  it('rejects any string with a shell or PowerShell metacharacter, quote, slash, brace or whitespace in every identifier (property)', () => {
    const forbidden = [...';|&$`\'"()<>/\\ {}'];
    for (const [field, base] of identifierFields) {
      // Azure allows parentheses in resource group names; every other forbidden character is still refused there.
      const chars = field.endsWith('resourceGroup') ? forbidden.filter((c) => c !== '(' && c !== ')') : forbidden;
      const hostile = fc
        .tuple(
          fc.string({ maxLength: 20 }),
          fc.oneof(
            fc.constantFrom(...chars),
            fc.constantFrom(' ', '\t', '\n', '\r', '\v', '\f', '\u00a0', '\u2028', '\u3000'),
          ),
          fc.string({ maxLength: 20 }),
        )
        .map(([before, bad, after]) => `${before}${bad}${after}`);
      fc.assert(
        fc.property(hostile, (value) => {
          expect(AttachRequestSchema.safeParse(withField(field, value, base)).success).toBe(false);
        }),
        { numRuns: 200 },
      );
    }
  });
});

describe('AttachQueueMessageSchema', () => {
  it('accepts the request plus a tenant, defaulting schemaVersion to 1', () => {
    const parsed = AttachQueueMessageSchema.parse({ ...SEED_REQUEST, tenantId: 'contoso' });
    expect(parsed).toEqual({ ...SEED_REQUEST, tenantId: 'contoso', schemaVersion: 1 });
  });

  it.each<[string, Json, { field: string; reason: string }[]]>([
    ['a missing tenantId', { ...SEED_REQUEST }, [issue('tenantId', 'is required')]],
    [
      'schemaVersion 2',
      { ...SEED_REQUEST, tenantId: 'contoso', schemaVersion: 2 },
      [issue('schemaVersion', 'must be 1')],
    ],
    ['a tenantId with a space', { ...SEED_REQUEST, tenantId: 'con toso' }, [issue('tenantId', 'must match')]],
    ['a tenantId with a quote', { ...SEED_REQUEST, tenantId: "contoso'" }, [issue('tenantId', 'must match')]],
    [
      'a tenantId with a dot (table keys stay plain)',
      { ...SEED_REQUEST, tenantId: 'con.toso' },
      [issue('tenantId', 'must match')],
    ],
    ['a 65-character tenantId', { ...SEED_REQUEST, tenantId: 't'.repeat(65) }, [issue('tenantId', 'must match')]],
    [
      'an unknown field',
      { ...SEED_REQUEST, tenantId: 'contoso', retries: 1 },
      [issue('(body)', 'unknown field(s): retries')],
    ],
  ])('rejects %s', (_name, body, expected) => {
    expect(issuesOf(body, AttachQueueMessageSchema)).toEqual(expected);
  });

  it('still applies the request rules', () => {
    expect(issuesOf({ ...withField('network.driver', 'nat'), tenantId: 'contoso' }, AttachQueueMessageSchema)).toEqual([
      issue('network.driver', 'l2bridge'),
    ]);
  });
});

describe('toFieldIssues', () => {
  it.each<[string, z.ZodType, unknown, string, FieldIssue[]]>([
    ['a root issue', z.string().min(3, { error: 'too short' }), 'ab', '', [{ field: '(body)', reason: 'too short' }]],
    [
      'a root issue with a prefix',
      z.string().min(3, { error: 'too short' }),
      'ab',
      'query',
      [{ field: 'query', reason: 'too short' }],
    ],
    [
      'an array element at the root',
      z.array(z.string().min(2, { error: 'short' })),
      ['ok', 'x'],
      '',
      [{ field: '[1]', reason: 'short' }],
    ],
    [
      'an array element with a prefix',
      z.array(z.string().min(2, { error: 'short' })),
      ['ok', 'x'],
      'items',
      [{ field: 'items[1]', reason: 'short' }],
    ],
    [
      'nested objects and arrays',
      z.object({ a: z.object({ b: z.array(z.object({ c: z.string().min(2, { error: 'short' }) })) }) }),
      { a: { b: [{ c: 'ok' }, { c: 'x' }] } },
      'body',
      [{ field: 'body.a.b[1].c', reason: 'short' }],
    ],
    [
      'unknown keys',
      z.strictObject({ a: z.string() }),
      { a: 'x', b: 1, c: 2 },
      '',
      [{ field: '(body)', reason: 'unknown field(s): b, c' }],
    ],
    ['a missing field', z.object({ a: z.string() }), {}, '', [{ field: 'a', reason: 'is required' }]],
  ])('turns %s into a dotted field', (_name, schema, value, prefix, expected) => {
    const parsed = schema.safeParse(value);
    expect(parsed.success).toBe(false);
    if (!parsed.success) expect(toFieldIssues(parsed.error, prefix)).toEqual(expected);
  });
});

describe('parseOrThrow', () => {
  it('returns the parsed value with defaults applied', () => {
    const parsed = parseOrThrow(AttachRequestSchema, withField('networkController', undefined));
    expect(parsed.networkController).toBe('default');
    expect(parsed.containerIps).toEqual(SEED_REQUEST.containerIps);
  });

  it('throws a non-retryable ValidationError that names every bad field, with the prefix', () => {
    const thrown = thrownBy(() =>
      parseOrThrow(AttachRequestSchema, withField('subnetId', '../x', withField('network.driver', 'nat')), 'body'),
    );
    expect(thrown).toBeInstanceOf(ValidationError);
    const error = thrown as ValidationError;
    expect(error.code).toBe('InvalidRequest');
    expect(error.retryable).toBe(false);
    expect(error.issues).toEqual([issue('body.subnetId', 'must match'), issue('body.network.driver', 'l2bridge')]);
    expect(error.message).toMatch(
      /^body\.subnetId: must match .*; body\.network\.driver: must be "l2bridge" or "l2tunnel"$/,
    );
  });
});

describe('AttachRequestSchema: a container host VM reached through its Hyper-V host', () => {
  const withGuest = (path: string, value: unknown) => withField(`containerHost.${path}`, value, THROUGH_HOST);

  it('accepts the VM name, the path and the secret name, unchanged', () => {
    expect(AttachRequestSchema.parse(THROUGH_HOST).containerHost).toEqual(THROUGH_HOST.containerHost);
  });

  it.each([
    ['vmName', 'vm;calc', 'containerHost.vmName'],
    ['vmName', '$(calc)', 'containerHost.vmName'],
    ['vmName', 'vm name', 'containerHost.vmName'],
    ['vmName', '-vm', 'containerHost.vmName'],
    ['vmName', 'vm\n', 'containerHost.vmName'],
    ['vmName', '..\\..\\vm', 'containerHost.vmName'],
    ['vmName', 'a'.repeat(65), 'containerHost.vmName'],
    ['vmName', 42, 'containerHost.vmName'],
    ['credential.secretName', 'contoso_guest', 'containerHost.credential.secretName'],
    ['credential.secretName', '../keys/other', 'containerHost.credential.secretName'],
    ['credential.secretName', 'guest?api-version=1', 'containerHost.credential.secretName'],
    ['credential.secretName', 'a'.repeat(128), 'containerHost.credential.secretName'],
    ['credential.secretName', '', 'containerHost.credential.secretName'],
    ['through', 'hyperv', 'containerHost.through'],
    ['through', 'arc', 'containerHost.through'],
  ])('rejects %s %j, naming %s', (path, value, field) => {
    expect(issuesOf(withGuest(path, value)).map((i) => i.field)).toEqual([field]);
  });

  it('names each missing part', () => {
    expect(issuesOf({ ...THROUGH_HOST, containerHost: { through: 'hyperVHost' } })).toEqual([
      issue('containerHost.vmName', 'is required'),
      issue('containerHost.credential', 'is required'),
    ]);
    expect(issuesOf(withGuest('credential', {}))).toEqual([
      issue('containerHost.credential.secretName', 'is required'),
    ]);
  });

  it('refuses unknown fields, a password in the request among them, and a mix of both forms', () => {
    expect(issuesOf(withGuest('credential.password', 'x'))).toEqual([
      issue('containerHost.credential', 'unknown field(s): password'),
    ]);
    expect(issuesOf(withGuest('machineName', 'ContainerHostVM1'))).toEqual([
      issue('containerHost', 'unknown field(s): machineName'),
    ]);
    expect(issuesOf(withField('containerHost.vmName', 'ContainerHostVM1'))).toEqual([
      issue('containerHost', 'unknown field(s): vmName'),
    ]);
  });

  it('keeps the Arc form as it was', () => {
    expect(issuesOf(withField('containerHost.machineName', 'vm;calc')).map((i) => i.field)).toEqual([
      'containerHost.machineName',
    ]);
    expect(issuesOf({ ...SEED_REQUEST, containerHost: 'ContainerHostVM1' })).toEqual([
      issue('containerHost', 'must be an object'),
    ]);
  });
});
