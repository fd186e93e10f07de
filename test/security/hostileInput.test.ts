import { HttpRequest } from '@azure/functions';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { MAX_REQUEST_BODY_BYTES } from '../../shared/api/readJsonBody';
import {
  ATTACHMENT_ID_PATTERN,
  CONTROLLER_NAME_PATTERN,
  NETWORK_NAME_PATTERN,
  RESOURCE_ID_PATTERN,
} from '../../shared/model/attachRequest';
import { formatIpv4, parseIpv4 } from '../../shared/model/ipv4';
import { MACHINE_NAME_PATTERN, RESOURCE_GROUP_PATTERN, SUBSCRIPTION_ID_PATTERN } from '../../shared/model/machineRef';
import { TenantEntrySchema } from '../../shared/model/tenant';
import { attachmentRequest, BASE, listRequest, postRequest, recordingContext } from '../support/functionsHost';
import { withPath } from '../support/requests';
import { seedRequest } from '../support/seed';
import { labTenant } from '../support/tenants';
import { errorOf, handlerSet, targetsOf } from './support/handlers';
import {
  ADDRESS_FIELDS,
  HOSTILE_STRINGS,
  HOSTILE_UNLESS_RESOURCE_GROUP,
  IDENTIFIER_FIELDS,
  NON_STRINGS,
  validRequest,
} from './support/hostile';

type Handlers = ReturnType<typeof handlerSet>;

async function submitText(
  h: Handlers,
  body: string | undefined,
  tenantId = 'contoso',
  headers?: Record<string, string>,
) {
  const { context, outputs } = recordingContext('submitAttachment');
  registerWhatItNames(h, tenantId, body);
  const response = await h.submit(postRequest(tenantId, body, headers), context);
  return { response, outputs };
}

/**
 * These tests are about input validation, not the tenant boundary: the tenant may use whatever a well-formed body
 * names (machines in other resource groups, other virtual networks), so an accepted body answers 202, not 403.
 */
function registerWhatItNames(h: Handlers, tenantId: string, body: string | undefined): void {
  let request: unknown;
  try {
    request = JSON.parse(body ?? '');
  } catch {
    return;
  }
  if (typeof request !== 'object' || request === null) return;
  const entry = TenantEntrySchema.safeParse(labTenant(request));
  if (entry.success) h.tenants.set(tenantId, entry.data);
}

/** Submits through a fresh handler set; checks the universal rules of a refusal. */
async function expectRefused(
  body: string | undefined,
  opts: { tenantId?: string; headers?: Record<string, string> } = {},
) {
  const h = handlerSet();
  const { response, outputs } = await submitText(h, body, opts.tenantId, opts.headers);
  expect(response.status).toBe(400);
  const error = errorOf(response.jsonBody);
  expect(error.details?.length ?? 0).toBeGreaterThan(0);
  for (const detail of error.details ?? []) {
    expect(detail.code).toBe('InvalidField');
    expect(detail.target).toMatch(/\S/);
    expect(detail.message).toMatch(/\S/);
  }
  expect(h.store.writes).toBe(0);
  expect(outputs).toEqual([]);
  return { error, targets: targetsOf(response.jsonBody) };
}

const json = (value: unknown) => JSON.stringify(value);

describe('submit: broken bodies', () => {
  it.each([
    ['truncated object', '{"virtualNetworkId":'],
    ['unterminated string', '{"virtualNetworkId":"VNet1'],
    ['single quotes', "{'virtualNetworkId':'VNet1'}"],
    ['trailing comma', '{"virtualNetworkId":"VNet1",}'],
    ['comments', '{/* hi */"virtualNetworkId":"VNet1"}'],
    ['NaN', '{"containerIps":{"count":NaN}}'],
    ['undefined literal', 'undefined'],
    ['two documents', '{}{}'],
    ['bare word', 'attach'],
    ['whitespace only', ' \n\t '],
    ['empty', ''],
  ])('%s → 400 InvalidJson on (body)', async (_name, body) => {
    const { error, targets } = await expectRefused(body);
    expect(error.code).toBe('InvalidJson');
    expect(targets).toEqual(['(body)']);
  });

  it('a missing body → 400 on (body)', async () => {
    const { targets } = await expectRefused(undefined);
    expect(targets).toEqual(['(body)']);
  });

  it.each([
    ['null', 'null'],
    ['a number', '42'],
    ['a string', '"attach"'],
    ['an array', '[]'],
    ['an array of the request', json([seedRequest()])],
    ['true', 'true'],
  ])('JSON that is not an object (%s) → 400 on (body)', async (_name, body) => {
    const { error, targets } = await expectRefused(body);
    expect(error.code).toBe('InvalidRequest');
    expect(targets).toEqual(['(body)']);
  });

  it.each([
    ['text/plain'],
    ['application/x-www-form-urlencoded'],
    ['multipart/form-data; boundary=x'],
    ['application/xml'],
    ['text/json-but-not'],
  ])('content-type %s → 400 UnsupportedMediaType on (body)', async (contentType) => {
    const { error, targets } = await expectRefused(json(seedRequest()), { headers: { 'content-type': contentType } });
    expect(error.code).toBe('UnsupportedMediaType');
    expect(targets).toEqual(['(body)']);
  });

  it('tolerates a UTF-8 byte order mark before a valid body (decoded away, not a parse error)', async () => {
    const h = handlerSet();
    const { response } = await submitText(h, '\uFEFF' + json(seedRequest()));
    expect(response.status).toBe(202);
  });

  it('accepts application/json with a charset and a +json type', async () => {
    for (const contentType of ['application/json; charset=utf-8', 'application/merge-patch+json']) {
      const h = handlerSet();
      const { response } = await submitText(h, json(seedRequest()), 'contoso', { 'content-type': contentType });
      expect(response.status).toBe(202);
    }
  });
});

describe('submit: body size limit (64 KiB)', () => {
  const seedText = json(seedRequest());

  it('accepts a valid body of exactly the limit (whitespace padded)', async () => {
    const h = handlerSet();
    const body = seedText + ' '.repeat(MAX_REQUEST_BODY_BYTES - Buffer.byteLength(seedText));
    expect(Buffer.byteLength(body)).toBe(MAX_REQUEST_BODY_BYTES);
    const { response } = await submitText(h, body);
    expect(response.status).toBe(202);
  });

  it.each([
    ['one byte over, ASCII', seedText + ' '.repeat(MAX_REQUEST_BODY_BYTES - Buffer.byteLength(seedText) + 1)],
    ['under the limit in characters, over it in UTF-8 bytes', json({ ...seedRequest(), pad: 'é'.repeat(40_000) })],
    ['4-byte characters', json({ ...seedRequest(), pad: '😀'.repeat(20_000) })],
    ['256 KiB of garbage', '{'.repeat(256 * 1024)],
    [
      'a huge valid-looking address list',
      json(withPath('containerIps', { addresses: Array(6000).fill('192.168.1.101') })),
    ],
  ])('%s → 400 RequestTooLarge on (body)', async (_name, body) => {
    expect(Buffer.byteLength(body)).toBeGreaterThan(MAX_REQUEST_BODY_BYTES);
    const { error, targets } = await expectRefused(body);
    expect(error.code).toBe('RequestTooLarge');
    expect(targets).toEqual(['(body)']);
    expect(error.message).toContain(String(MAX_REQUEST_BODY_BYTES));
  });

  it('property: RequestTooLarge exactly when the UTF-8 size is over the limit', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: MAX_REQUEST_BODY_BYTES - 64, max: MAX_REQUEST_BODY_BYTES + 64 }),
        fc.constantFrom('a', 'é', '€', '😀'),
        async (targetBytes, unit) => {
          const prefix = json({ ...seedRequest(), pad: '' }).slice(0, -2);
          const unitBytes = Buffer.byteLength(unit);
          const room = Math.max(0, targetBytes - Buffer.byteLength(prefix) - 2);
          const body = `${prefix}${unit.repeat(Math.floor(room / unitBytes))}"}`;
          const size = Buffer.byteLength(body);
          const h = handlerSet();
          const { response, outputs } = await submitText(h, body);
          expect(response.status).toBe(400);
          expect(errorOf(response.jsonBody).code).toBe(
            size > MAX_REQUEST_BODY_BYTES ? 'RequestTooLarge' : 'InvalidRequest',
          );
          expect(h.store.writes).toBe(0);
          expect(outputs).toEqual([]);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('submit: wrong types', () => {
  it.each(
    (
      [
        ['virtualNetworkId as a number', withPath('virtualNetworkId', 5), 'virtualNetworkId'],
        ['subnetId missing', withPath('subnetId', undefined), 'subnetId'],
        ['nic as a string', withPath('nic', '192.168.1.9'), 'nic'],
        ['nic as an array', withPath('nic', ['192.168.1.9']), 'nic'],
        ['nic with both forms', withPath('nic', { resourceId: 'N', privateIpAddress: '192.168.1.9' }), 'nic'],
        ['nic empty', withPath('nic', {}), 'nic'],
        ['containerIps null', withPath('containerIps', null), 'containerIps'],
        ['containerIps empty', withPath('containerIps', {}), 'containerIps'],
        ['count and addresses', withPath('containerIps', { count: 2, addresses: ['192.168.1.101'] }), 'containerIps'],
        ['count as a string', withPath('containerIps', { count: '3' }), 'containerIps.count'],
        ['count fractional', withPath('containerIps', { count: 1.5 }), 'containerIps.count'],
        ['count zero', withPath('containerIps', { count: 0 }), 'containerIps.count'],
        ['count negative', withPath('containerIps', { count: -1 }), 'containerIps.count'],
        ['count over 256', withPath('containerIps', { count: 257 }), 'containerIps.count'],
        ['count huge', withPath('containerIps', { count: 1e308 }), 'containerIps.count'],
        ['count boolean', withPath('containerIps', { count: true }), 'containerIps.count'],
        ['addresses as a string', withPath('containerIps', { addresses: '192.168.1.101' }), 'containerIps.addresses'],
        ['addresses empty', withPath('containerIps', { addresses: [] }), 'containerIps.addresses'],
        [
          'addresses over 256',
          withPath('containerIps', {
            addresses: Array.from({ length: 257 }, (_, i) => formatIpv4(parseIpv4('10.0.0.0') + i)),
          }),
          'containerIps.addresses',
        ],
        ['address as a number', withPath('containerIps', { addresses: [3232235877] }), 'containerIps.addresses[0]'],
        [
          'address object',
          withPath('containerIps', { addresses: [{ ip: '192.168.1.101' }] }),
          'containerIps.addresses[0]',
        ],
        [
          'range as an array',
          withPath('containerIps', { range: ['192.168.1.101', '192.168.1.110'] }),
          'containerIps.range',
        ],
        [
          'range without last',
          withPath('containerIps', { range: { first: '192.168.1.101' } }),
          'containerIps.range.last',
        ],
        [
          'range with a number',
          withPath('containerIps', { range: { first: 1, last: '192.168.1.110' } }),
          'containerIps.range.first',
        ],
        ['hyperVHost as a string', withPath('hyperVHost', 'HV01'), 'hyperVHost'],
        ['containerHost missing', withPath('containerHost', undefined), 'containerHost'],
        ['network missing', withPath('network', undefined), 'network'],
        ['network.driver unknown', withPath('network.driver', 'overlay'), 'network.driver'],
        ['network.driver upper case', withPath('network.driver', 'L2Bridge'), 'network.driver'],
        ['network.driver nat', withPath('network.driver', 'nat'), 'network.driver'],
        ['network.gateway as a number', withPath('network.gateway', 1), 'network.gateway'],
        ['attachmentId as a number', withPath('attachmentId', 12), 'attachmentId'],
      ] as [string, Record<string, unknown>, string][]
    ).map(([name, body, target]) => [name, target, body] as const),
  )('%s → 400 naming %s', async (_name, target, body) => {
    const { error, targets } = await expectRefused(json(body));
    expect(error.code).toBe('InvalidRequest');
    expect(targets).toContain(target);
    expect(error.message).toContain(`${target}:`);
  });

  it('reports every bad field at once', async () => {
    const body = { ...withPath('subnetId', 7), nic: 'x', containerIps: { count: 0 }, network: { driver: 'x' } };
    const { targets } = await expectRefused(json(body));
    expect(targets).toEqual(
      expect.arrayContaining(['subnetId', 'nic', 'containerIps.count', 'network.name', 'network.driver']),
    );
  });
});

describe('submit: IPv6 and odd IPv4 forms', () => {
  const ipv6 = [
    '::1',
    'fe80::1',
    '2001:db8::5',
    '::ffff:192.168.1.101',
    '::',
    '[::1]',
    'fe80::1%eth0',
    '::192.168.1.5',
  ];
  const odd = [
    '192.168.1.010',
    '192.168.001.101',
    '0x7f.0.0.1',
    '3232235877',
    '192.168.1',
    '192.168.1.256',
    '192.168.1.101 ',
    ' 192.168.1.101',
    '192.168.1.101\n',
    '192.168.1.101/32',
    '192.168.1.101:80',
    '192.168.1.-1',
    '１９２.168.1.101',
    '192.168.1.1e2',
    '',
  ];

  for (const field of ADDRESS_FIELDS) {
    it.each(ipv6)(`${field.target} = %j → 400 saying IPv6 is not supported`, async (value) => {
      const { error, targets } = await expectRefused(json(field.set(value)));
      expect(targets).toContain(field.target);
      const detail = error.details?.find((d) => d.target === field.target);
      expect(detail?.message).toMatch(/IPv6/);
    });

    it.each(odd)(`${field.target} = %j → 400`, async (value) => {
      const { targets } = await expectRefused(json(field.set(value)));
      expect(targets).toContain(field.target);
    });
  }

  it('property: IPv6 anywhere an address goes is refused and named', async () => {
    await fc.assert(
      fc.asyncProperty(fc.ipV6(), fc.constantFrom(...ADDRESS_FIELDS), async (address, field) => {
        const { error, targets } = await expectRefused(json(field.set(address)));
        expect(targets).toContain(field.target);
        expect(error.details?.find((d) => d.target === field.target)?.message).toMatch(/IPv6/);
      }),
      { numRuns: 150 },
    );
  });

  it('property: only canonical dotted quads are accepted, so one address has one spelling', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.ipV4(), fc.ipV4Extended()), async (address) => {
        const h = handlerSet();
        const body = withPath('containerIps', { addresses: [address] });
        const { response } = await submitText(h, json(body));
        let canonical = false;
        try {
          canonical = formatIpv4(parseIpv4(address)) === address;
        } catch {
          canonical = false;
        }
        expect(response.status).toBe(canonical ? 202 : 400);
        if (!canonical) expect(targetsOf(response.jsonBody)).toEqual(['containerIps.addresses[0]']);
      }),
      { numRuns: 300 },
    );
  });
});

describe('submit: duplicates and bad ranges', () => {
  it('names the second copy of a duplicated address', async () => {
    const body = withPath('containerIps', { addresses: ['192.168.1.101', '192.168.1.102', '192.168.1.101'] });
    const { error, targets } = await expectRefused(json(body));
    expect(targets).toEqual(['containerIps.addresses[2]']);
    expect(error.details?.[0]?.message).toMatch(/duplicate/);
  });

  it.each<[string, { first: string; last: string }, string]>([
    ['last below first', { first: '192.168.1.110', last: '192.168.1.101' }, 'containerIps.range.last'],
    ['257 addresses', { first: '192.168.1.0', last: '192.168.2.0' }, 'containerIps.range'],
    ['the whole IPv4 space', { first: '0.0.0.0', last: '255.255.255.255' }, 'containerIps.range'],
    ['IPv6 ends', { first: '::1', last: '::2' }, 'containerIps.range.first'],
  ])('range %s → 400 naming %s', async (_name, range, target) => {
    const { targets } = await expectRefused(json(withPath('containerIps', { range })));
    expect(targets).toContain(target);
  });

  it('property: every duplicate is named by its index, and distinct lists pass', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 2, max: 30 }), { minLength: 1, maxLength: 20 }), async (hosts) => {
        const addresses = hosts.map((host) => `192.168.1.${host}`);
        const expected = addresses.flatMap((a, i) =>
          addresses.indexOf(a) < i ? [`containerIps.addresses[${i}]`] : [],
        );
        const h = handlerSet();
        const { response, outputs } = await submitText(h, json(withPath('containerIps', { addresses })));
        if (expected.length === 0) {
          expect(response.status).toBe(202);
          expect(outputs).toHaveLength(1);
        } else {
          expect(response.status).toBe(400);
          expect(targetsOf(response.jsonBody)).toEqual(expected);
          expect(h.store.writes).toBe(0);
          expect(outputs).toEqual([]);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('property: a range is accepted exactly when first <= last and it spans at most 256 addresses', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        fc.integer({ min: -300, max: 300 }),
        async (first, delta) => {
          const last = Math.min(2 ** 32 - 1, Math.max(0, first + delta));
          const h = handlerSet();
          const range = { first: formatIpv4(first), last: formatIpv4(last) };
          const { response } = await submitText(h, json(withPath('containerIps', { range })));
          const size = last - first + 1;
          if (size >= 1 && size <= 256) expect(response.status).toBe(202);
          else {
            expect(response.status).toBe(400);
            expect(targetsOf(response.jsonBody)).toEqual([size < 1 ? 'containerIps.range.last' : 'containerIps.range']);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('submit: injection into identifiers', () => {
  for (const field of IDENTIFIER_FIELDS) {
    const values = field.resourceGroup ? HOSTILE_STRINGS : [...HOSTILE_STRINGS, ...HOSTILE_UNLESS_RESOURCE_GROUP];
    it.each(values.map((v) => [v]))(`${field.target} = %j → 400 naming the field`, async (value) => {
      const { error, targets } = await expectRefused(json(field.set(value)));
      expect(targets).toContain(field.target);
      // The reason says what is allowed; it never echoes the hostile value back into the answer.
      if (value.length > 3) expect(JSON.stringify(error)).not.toContain(JSON.stringify(value).slice(1, -1));
    });

    it.each(NON_STRINGS.map((v) => [v]))(`${field.target} = %j (wrong type) → 400 naming the field`, async (value) => {
      const { targets } = await expectRefused(json(field.set(value)));
      expect(targets.some((t) => t === field.target || t.startsWith(`${field.target}`))).toBe(true);
    });
  }

  it('accepts ARM-legal resource group names with parentheses, dots and dashes (stored verbatim)', async () => {
    const h = handlerSet();
    const body = withPath('hyperVHost', { machineName: 'HV01', resourceGroup: 'rg-(prod).east_1' });
    const { response } = await submitText(h, json(body));
    expect(response.status).toBe(202);
    expect((await h.store.getAttachment('contoso', 'seed-1'))?.request.hyperVHost.resourceGroup).toBe(
      'rg-(prod).east_1',
    );
  });

  // Step 4's script parameters refuse Docker's predefined networks, but the request schema lets them through: the
  // attachment is accepted, steps 1-3 change the NIC, the host and the VM, and only step 4 fails
  // (InvalidScriptParameters, target "networkName"). Knowable at submit, so it belongs in the 400.
  it.each(['nat', 'none'])('network.name %j (a predefined Docker network) → 400 at submit', async (name) => {
    const { targets } = await expectRefused(json(withPath('network.name', name)));
    expect(targets).toEqual(['network.name']);
  });

  const patterns: [string, RegExp][] = [
    ['attachmentId', ATTACHMENT_ID_PATTERN],
    ['virtualNetworkId', RESOURCE_ID_PATTERN],
    ['subnetId', RESOURCE_ID_PATTERN],
    ['accessControlListId', RESOURCE_ID_PATTERN],
    ['nic.resourceId', RESOURCE_ID_PATTERN],
    ['hyperVHost.machineName', MACHINE_NAME_PATTERN],
    ['containerHost.resourceGroup', RESOURCE_GROUP_PATTERN],
    ['containerHost.subscriptionId', SUBSCRIPTION_ID_PATTERN],
    ['network.name', NETWORK_NAME_PATTERN],
  ];

  it('property: an identifier is accepted exactly when it matches its safe pattern, and is stored unchanged', async () => {
    const arbitraries = patterns.map(([target, pattern]) =>
      fc.tuple(
        fc.constant(target),
        fc.constant(pattern),
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 80 }),
          fc.string({ unit: fc.constantFrom(...'aZ09_-.\'"$`;|&()/\\%: \n\u0000'.split('')), maxLength: 40 }),
          fc.stringMatching(pattern),
          fc.constantFrom(...HOSTILE_STRINGS),
        ),
      ),
    );
    await fc.assert(
      fc.asyncProperty(fc.oneof(...arbitraries), async ([target, pattern, value]) => {
        const field = IDENTIFIER_FIELDS.find((f) => f.target === target);
        if (!field) throw new Error(target);
        const h = handlerSet();
        const { response, outputs } = await submitText(h, json(field.set(value)));
        if (pattern.test(value)) {
          expect(response.status).toBe(202);
          const stored = await h.store.getAttachment('contoso', target === 'attachmentId' ? value : 'seed-1');
          const path = target.split('.');
          let node: unknown = stored?.request;
          for (const p of path) node = (node as Record<string, unknown>)[p];
          expect(node).toBe(value);
        } else {
          expect(response.status).toBe(400);
          expect(targetsOf(response.jsonBody)).toEqual([target]);
          expect(h.store.writes).toBe(0);
          expect(outputs).toEqual([]);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('property: a configured-controller name is never a URL, and unknown names are refused', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.webUrl(), fc.stringMatching(CONTROLLER_NAME_PATTERN), fc.string({ maxLength: 40 })),
        async (name) => {
          const h = handlerSet({ controllers: ['default', 'lab2'] });
          const { response } = await submitText(h, json(withPath('networkController', name)));
          if (name === 'default' || name === 'lab2') expect(response.status).toBe(202);
          else {
            expect(response.status).toBe(400);
            expect(targetsOf(response.jsonBody)).toEqual(['networkController']);
            expect(h.store.writes).toBe(0);
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it.each(['lab', 'Default', 'DEFAULT', 'https://127.0.0.1:1/networking/v1', 'default ', 'default\n'])(
    'controller %j → 400 on networkController',
    async (name) => {
      const { targets } = await expectRefused(json(withPath('networkController', name)));
      expect(targets).toEqual(['networkController']);
    },
  );
});

describe('submit: unknown fields and a tenant in the body', () => {
  it.each(
    (
      [
        ['a top-level extra', { ...validRequest(), surprise: true }, '(body)', 'surprise'],
        ['tenantId in the body', { ...validRequest(), tenantId: 'fabrikam' }, '(body)', 'tenantId'],
        ['schemaVersion in the body', { ...validRequest(), schemaVersion: 1 }, '(body)', 'schemaVersion'],
        ['a nic extra', withPath('nic', { privateIpAddress: '192.168.1.9', url: 'https://x' }), 'nic', 'url'],
        ['a containerIps extra', withPath('containerIps', { count: 2, exclude: [] }), 'containerIps', 'exclude'],
        [
          'a range extra',
          withPath('containerIps', { range: { first: '192.168.1.101', last: '192.168.1.102', step: 2 } }),
          'containerIps.range',
          'step',
        ],
        ['a host extra', withPath('hyperVHost', { machineName: 'HV01', script: 'calc' }), 'hyperVHost', 'script'],
        [
          'a network extra',
          withPath('network', { name: 'n', driver: 'l2bridge', options: '--opt x' }),
          'network',
          'options',
        ],
        ['a case variant', { ...validRequest(), SubnetId: 'Subnet2' }, '(body)', 'SubnetId'],
      ] as [string, Record<string, unknown>, string, string][]
    ).map(([name, body, target, key]) => [name, target, key, body] as const),
  )('%s → 400 naming %s and the key %s', async (_name, target, key, body) => {
    const { error, targets } = await expectRefused(json(body));
    expect(targets).toEqual([target]);
    expect(error.details?.[0]?.message).toContain(key);
  });

  it.each(['__proto__', 'constructor', 'prototype'])(
    'a %s key is an unknown field, not a prototype change',
    async (key) => {
      const text = json(seedRequest()).replace('{', `{"${key}":{"polluted":true},`);
      const { targets, error } = await expectRefused(text);
      expect(targets).toEqual(['(body)']);
      expect(error.details?.[0]?.message).toContain(key);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      const nested = json(seedRequest()).replace('"nic":{', `"nic":{"${key}":{"resourceId":"x"},`);
      expect((await expectRefused(nested)).targets).toEqual(['nic']);
    },
  );
});

describe('routes: traversal and odd ids', () => {
  const badIds = [
    '..',
    '../other',
    '..%2Fother',
    '%2e%2e',
    '..\\other',
    'a/b',
    "' or PartitionKey ne '",
    'seed-1\u0000',
    'seed-1 ',
    'seed-1\n',
    '',
    'x'.repeat(65),
    '-seed',
  ];

  it.each(badIds)('tenant %j: submit 400 naming tenantId, nothing stored', async (tenantId) => {
    const { error, targets } = await expectRefused(json(seedRequest()), { tenantId });
    expect(error.code).toBe('InvalidRequest');
    expect(targets).toEqual(['tenantId']);
  });

  it.each(badIds)('id %j: get, cancel, retry and detach answer 400 naming id, nothing written', async (id) => {
    const h = handlerSet();
    await h.submit(postRequest('contoso', json(seedRequest())), recordingContext('submitAttachment').context);
    const writes = h.store.writes;
    const get = await h.get(attachmentRequest('GET', 'contoso', id));
    expect(get.status).toBe(400);
    expect(targetsOf(get.jsonBody)).toEqual(['id']);
    for (const [handler, method, suffix] of [
      [h.cancel, 'POST', '/cancel'],
      [h.retry, 'POST', '/retry'],
      [h.detach, 'DELETE', ''],
    ] as const) {
      const { context, outputs } = recordingContext('control');
      const response = await handler(attachmentRequest(method, 'contoso', id, suffix), context);
      expect(response.status).toBe(400);
      expect(targetsOf(response.jsonBody)).toEqual(['id']);
      expect(outputs).toEqual([]);
    }
    expect(h.store.writes).toBe(writes);
  });

  it.each(badIds)('tenant %j: get, list and detach answer 400 naming tenantId', async (tenantId) => {
    const h = handlerSet();
    const get = await h.get(attachmentRequest('GET', tenantId, 'seed-1'));
    expect(targetsOf(get.jsonBody)).toEqual(['tenantId']);
    const { context, outputs } = recordingContext('detachAttachment');
    const detach = await h.detach(attachmentRequest('DELETE', tenantId, 'seed-1'), context);
    expect(detach.status).toBe(400);
    expect(errorOf(detach.jsonBody).code).toBe('InvalidRequest');
    expect(targetsOf(detach.jsonBody)).toEqual(['tenantId']);
    expect(outputs).toEqual([]);
    expect(h.store.writes).toBe(0);
    expect(h.tenants.reads).toBe(0);
    const list = await h.list(listRequest(tenantId));
    expect(list.status).toBe(400);
    expect(targetsOf(list.jsonBody)).toEqual(['tenantId']);
  });

  it('names both route parameters when both are bad', async () => {
    const h = handlerSet();
    const response = await h.get(attachmentRequest('GET', '..', '..'));
    expect(targetsOf(response.jsonBody)).toEqual(['tenantId', 'id']);
    const detach = await h.detach(attachmentRequest('DELETE', '..', '..'), recordingContext('d').context);
    expect(targetsOf(detach.jsonBody)).toEqual(['tenantId', 'id']);
  });

  it('property: DELETE with any route parameters never throws, and answers 400 naming a bad one or 404', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.constantFrom(...badIds, 'contoso'), fc.string({ maxLength: 80 })),
        fc.oneof(fc.constantFrom(...badIds, 'seed-1'), fc.string({ maxLength: 80 })),
        async (tenantId, id) => {
          const h = handlerSet();
          const { context, outputs } = recordingContext('detachAttachment');
          const response = await h.detach(attachmentRequest('DELETE', tenantId, id), context);
          expect([400, 404]).toContain(response.status);
          if (response.status === 400) {
            expect(targetsOf(response.jsonBody).length).toBeGreaterThan(0);
            for (const target of targetsOf(response.jsonBody)) expect(['tenantId', 'id']).toContain(target);
          }
          expect(outputs).toEqual([]);
          expect(h.store.writes).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it.each([
    ['runtimeStatus', "?runtimeStatus=Failed' or PartitionKey ne '"],
    ['runtimeStatus', '?runtimeStatus=Failed) or (true'],
    ['top', '?top=abc'],
    ['top', '?top=1.5'],
    ['top', '?top=-1'],
    ['top', '?top=101'],
    ['continuationToken', "?continuationToken=' or 1 eq 1"],
    ['continuationToken', `?continuationToken=${'A'.repeat(3000)}`],
  ])('list: hostile %s in the query → 400 naming it', async (target, query) => {
    const h = handlerSet();
    const response = await h.list(listRequest('contoso', query.replaceAll(' ', '%20').replaceAll("'", '%27')));
    expect(response.status).toBe(400);
    expect(targetsOf(response.jsonBody)).toContain(target);
  });
});

describe('submit: properties over arbitrary input', () => {
  const seedFields = [
    'attachmentId',
    'networkController',
    'virtualNetworkId',
    'subnetId',
    'nic',
    'nic.privateIpAddress',
    'nic.resourceId',
    'accessControlListId',
    'containerIps',
    'containerIps.count',
    'containerIps.addresses',
    'containerIps.range',
    'containerIps.range.first',
    'hyperVHost',
    'hyperVHost.machineName',
    'containerHost',
    'network',
    'network.name',
    'network.driver',
    'network.gateway',
  ];

  it('never throws and answers 202 or 400 for any JSON value as the body', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 6 }), async (value) => {
        const h = handlerSet();
        const { response, outputs } = await submitText(h, json(value));
        expect([202, 400]).toContain(response.status);
        if (response.status === 400) {
          expect(targetsOf(response.jsonBody).length).toBeGreaterThan(0);
          expect(h.store.writes).toBe(0);
          expect(outputs).toEqual([]);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('never throws for arbitrary bytes or text as the body', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 300 })),
        async (raw) => {
          const h = handlerSet();
          const { context, outputs } = recordingContext('submitAttachment');
          const request = new HttpRequest({
            method: 'POST',
            url: `${BASE}/contoso/attachments`,
            params: { tenantId: 'contoso' },
            headers: { 'content-type': 'application/json' },
            body: typeof raw === 'string' ? { string: raw } : { bytes: raw },
          });
          const response = await h.submit(request, context);
          expect([202, 400]).toContain(response.status);
          if (response.status === 400) {
            expect(h.store.writes).toBe(0);
            expect(outputs).toEqual([]);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('never throws for the seed request with any one field replaced by any JSON value (or removed); a refusal names that field', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...seedFields),
        fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.constant(undefined), fc.constantFrom(...HOSTILE_STRINGS)),
        async (path, value) => {
          const h = handlerSet();
          const base = path.startsWith('nic.') ? withPath('nic', {}) : undefined;
          const body = withPath(path, value, base);
          const { response, outputs } = await submitText(h, json(body));
          expect([202, 400]).toContain(response.status);
          if (response.status === 202) {
            expect(h.store.writes).toBe(1);
            expect(outputs).toHaveLength(1);
            return;
          }
          expect(h.store.writes).toBe(0);
          expect(outputs).toEqual([]);
          const top = path.split('.')[0] ?? path;
          for (const target of targetsOf(response.jsonBody)) {
            // A refusal is about the replaced field (or the object holding it, for a missing or unknown key).
            expect(target === '(body)' || target === top || target.startsWith(top)).toBe(true);
          }
        },
      ),
      { numRuns: 800 },
    );
  });

  it('answers 202, 400 or 409 (never 500) when an attachmentId is reused with any other body', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...seedFields.filter((f) => f !== 'attachmentId')),
        fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom('Subnet2', '192.168.1.102', 'l2tunnel', 3)),
        async (path, value) => {
          const h = handlerSet();
          await h.submit(postRequest('contoso', json(seedRequest())), recordingContext('submitAttachment').context);
          const base = path.startsWith('nic.') ? withPath('nic', {}) : undefined;
          const { response, outputs } = await submitText(h, json(withPath(path, value, base)));
          expect([202, 400, 409]).toContain(response.status);
          expect(outputs).toEqual([]);
          expect(h.store.writes).toBe(1);
          if (response.status === 409) expect(errorOf(response.jsonBody).code).toBe('AttachmentIdInUse');
          if (response.status === 202) expect(response.jsonBody).toMatchObject({ id: 'seed-1', created: false });
        },
      ),
      { numRuns: 300 },
    );
  });
});
