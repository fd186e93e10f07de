import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import {
  type Caller,
  callerFrom,
  type IdentitySettings,
  isOperator,
  mayUseTenant,
} from '../../../shared/functionsHost/callerIdentity';

const SETTINGS: IdentitySettings = {
  platformAuthEnabled: true,
  operatorRole: 'SdnAttach.Operator',
  tenantRole: 'SdnAttach.Tenant',
};
const OID = '3f2504e0-4f89-41d3-9a0c-0305e82c3301';
const GROUP = 'b8e0c5a2-7d14-4b6e-9f31-2a6c0d9e8f10';
const OTHER_GROUP = '0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f';
const OBJECT_ID_CLAIM = 'http://schemas.microsoft.com/identity/claims/objectidentifier';
const LONG_ROLE_TYP = 'http://schemas.microsoft.com/ws/2008/06/identity/claims/role';

interface Claim {
  typ: string;
  val: string;
}

/** The header as App Service Authentication writes it: base64 of the client principal JSON. */
function encode(principal: unknown): string {
  return Buffer.from(JSON.stringify(principal), 'utf8').toString('base64');
}

function principal(claims: Claim[], roleTyp: string | undefined = 'roles'): Record<string, unknown> {
  return {
    auth_typ: 'aad',
    name_typ: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name',
    ...(roleTyp === undefined ? {} : { role_typ: roleTyp }),
    claims,
  };
}

const oid = (value = OID): Claim => ({ typ: OBJECT_ID_CLAIM, val: value });
const role = (value: string, typ = 'roles'): Claim => ({ typ, val: value });
const group = (value: string): Claim => ({ typ: 'groups', val: value });

function headersWith(value: string | undefined): Headers {
  return new Headers(value === undefined ? {} : { 'x-ms-client-principal': value });
}

describe('callerFrom', () => {
  it.each<[string, string | undefined, Caller]>([
    [
      'the operator role',
      encode(principal([oid(), role('SdnAttach.Operator'), role('SdnAttach.Tenant')])),
      { kind: 'operator', id: OID },
    ],
    [
      'the tenant role with an object id',
      encode(principal([oid(), role('SdnAttach.Tenant')])),
      { kind: 'principal', id: OID, groups: [], roles: ['SdnAttach.Tenant'] },
    ],
    [
      'the tenant role with groups, the object id as oid, GUIDs lower-cased and non-GUID groups dropped',
      encode(
        principal([
          { typ: 'oid', val: OID.toUpperCase() },
          role('SdnAttach.Tenant'),
          group(GROUP.toUpperCase()),
          group(OTHER_GROUP),
          group('Network Admins'),
        ]),
      ),
      { kind: 'principal', id: OID, groups: [GROUP, OTHER_GROUP], roles: ['SdnAttach.Tenant'] },
    ],
    [
      'neither role',
      encode(principal([oid(), role('Reader'), group(GROUP)])),
      { kind: 'principal', id: OID, groups: [GROUP], roles: ['Reader'] },
    ],
    [
      'the role claim under a custom role_typ',
      encode(principal([oid(), role('SdnAttach.Operator', LONG_ROLE_TYP)], LONG_ROLE_TYP)),
      { kind: 'operator', id: OID },
    ],
    [
      'roles claims when role_typ names the long role URI',
      encode(principal([oid(), role('SdnAttach.Tenant')], LONG_ROLE_TYP)),
      { kind: 'principal', id: OID, groups: [], roles: ['SdnAttach.Tenant'] },
    ],
    [
      'roles claims without a role_typ',
      encode(principal([oid(), role('SdnAttach.Operator')], undefined)),
      { kind: 'operator', id: OID },
    ],
    [
      'the operator role under a claim type that is not a role claim',
      encode(principal([oid(), { typ: 'wids', val: 'SdnAttach.Operator' }, role('SdnAttach.Tenant')])),
      { kind: 'principal', id: OID, groups: [], roles: ['SdnAttach.Tenant'] },
    ],
  ])('reads %s', (_name, header, expected) => {
    expect(callerFrom(headersWith(header), SETTINGS)).toEqual(expected);
  });

  // The largest operator header within 16 KB, and the same with one more claim.
  const withFiller = (count: number): string =>
    encode(principal([oid(), role('SdnAttach.Operator'), ...Array.from({ length: count }, () => group('filler'))]));
  let fillers = 0;
  while (withFiller(fillers + 1).length <= 16 * 1024) fillers++;
  const justUnder = withFiller(fillers);
  const over = withFiller(fillers + 1);

  it('reads a large header up to 16 KB', () => {
    expect(justUnder.length).toBeLessThanOrEqual(16 * 1024);
    expect(callerFrom(headersWith(justUnder), SETTINGS)).toEqual({ kind: 'operator', id: OID });
  });

  it.each<[string, string | undefined, RegExp]>([
    ['the header absent', undefined, /^no x-ms-client-principal header/],
    ['the header empty', '', /^no x-ms-client-principal header/],
    ['garbage that is not base64', '!!not*base64!!', /is not base64$/],
    ['base64 without its padding', Buffer.from('{"a":1}').toString('base64').replace(/=+$/, ''), /is not base64$/],
    ['base64 of bytes that are not UTF-8', Buffer.from([0xff, 0xfe, 0xfd]).toString('base64'), /not base64-encoded/],
    ['base64 of text that is not JSON', Buffer.from('hello there').toString('base64'), /not base64-encoded UTF-8 JSON/],
    ['JSON null', encode(null), /is not a client principal/],
    ['a JSON array', encode([oid()]), /is not a client principal/],
    ['claims that are not an array', encode({ auth_typ: 'aad', claims: oid() }), /is not a client principal/],
    ['a claim value that is a number', encode(principal([{ typ: 'oid', val: 5 } as never])), /not a client principal/],
    ['no auth_typ', encode({ claims: [oid(), role('SdnAttach.Operator')] }), /is not a client principal/],
    ['no object id claim', encode(principal([role('SdnAttach.Operator')])), /has no object id claim/],
    ['an object id that is not a GUID', encode(principal([oid('admin')])), /object id that is not a GUID/],
    ['two object ids', encode(principal([oid(), { typ: 'oid', val: GROUP }])), /conflicting object id claims/],
    ['a header over 16 KB', over, /larger than 16384 characters/],
  ])('gives anonymous for %s', (_name, header, reason) => {
    expect(over.length).toBeGreaterThan(16 * 1024);
    const caller = callerFrom(headersWith(header), SETTINGS);
    expect(caller).toEqual({ kind: 'anonymous', reason: expect.stringMatching(reason) as unknown });
    if (header) expect((caller as { reason: string }).reason).not.toContain(header);
  });

  it('makes every caller the operator when the platform authentication is off (Development only)', () => {
    const off = { ...SETTINGS, platformAuthEnabled: false };
    expect(callerFrom(headersWith(undefined), off)).toEqual({ kind: 'operator', id: 'local-development' });
    const spoofed = encode(principal([oid(), role('SdnAttach.Tenant')]));
    expect(callerFrom(headersWith(spoofed), off)).toEqual({ kind: 'operator', id: 'local-development' });
  });

  it('uses the configured role names', () => {
    const custom = { ...SETTINGS, operatorRole: 'Net.Admin', tenantRole: 'Net.User' };
    expect(callerFrom(headersWith(encode(principal([oid(), role('Net.Admin')]))), custom)).toEqual({
      kind: 'operator',
      id: OID,
    });
    expect(callerFrom(headersWith(encode(principal([oid(), role('SdnAttach.Operator')]))), custom).kind).toBe(
      'principal',
    );
  });
});

describe('mayUseTenant', () => {
  const tenantPrincipal = (groups: string[] = [], roles = ['SdnAttach.Tenant']): Caller => ({
    kind: 'principal',
    id: OID,
    groups,
    roles,
  });

  it.each<[string, Caller, string[], boolean]>([
    ['the operator, any tenant', { kind: 'operator', id: OID }, [], true],
    ['the tenant role, its object id listed (other case)', tenantPrincipal(), [OID.toUpperCase()], true],
    ['the tenant role, one of its groups listed', tenantPrincipal([OTHER_GROUP, GROUP]), [GROUP.toUpperCase()], true],
    ['the tenant role, neither listed', tenantPrincipal([GROUP]), [OTHER_GROUP], false],
    ['the tenant role, an empty list', tenantPrincipal([GROUP]), [], false],
    ['no tenant role, its object id listed', tenantPrincipal([], ['Reader']), [OID], false],
    ['no role at all, its group listed', tenantPrincipal([GROUP], []), [GROUP], false],
    ['an anonymous caller', { kind: 'anonymous', reason: 'no header' }, [OID], false],
    [
      'a non-GUID id that equals a non-GUID entry',
      { kind: 'principal', id: 'admin', groups: ['*'], roles: ['SdnAttach.Tenant'] },
      ['admin', '*'],
      false,
    ],
    ['an entry with spaces around the GUID', tenantPrincipal(), [` ${OID} `], false],
  ])('%s → %s', (_name, caller, listed, expected) => {
    expect(mayUseTenant(caller, listed, SETTINGS)).toBe(expected);
  });

  it('uses the configured tenant role', () => {
    const custom = { ...SETTINGS, tenantRole: 'Net.User' };
    expect(mayUseTenant(tenantPrincipal([], ['Net.User']), [OID], custom)).toBe(true);
    expect(mayUseTenant(tenantPrincipal(), [OID], custom)).toBe(false);
  });
});

describe('isOperator', () => {
  it.each<[Caller, boolean]>([
    [{ kind: 'operator', id: OID }, true],
    [{ kind: 'principal', id: OID, groups: [], roles: ['SdnAttach.Operator'] }, false],
    [{ kind: 'anonymous', reason: 'none' }, false],
  ])('%j → %s', (caller, expected) => {
    expect(isOperator(caller)).toBe(expected);
  });
});

/** Independent of the code under test: does the decoded header hold the operator role in a role claim? */
function holdsOperatorRole(header: string): boolean {
  try {
    const decoded = JSON.parse(Buffer.from(header, 'base64').toString('utf8')) as {
      role_typ?: unknown;
      claims?: unknown;
    };
    return (
      Array.isArray(decoded.claims) &&
      (decoded.claims as { typ?: unknown; val?: unknown }[]).some(
        (claim) => claim?.val === SETTINGS.operatorRole && (claim.typ === 'roles' || claim.typ === decoded.role_typ),
      )
    );
  } catch {
    return false;
  }
}

describe('callerFrom (property)', () => {
  const claimArb = fc.record({
    typ: fc.oneof(fc.constantFrom('roles', OBJECT_ID_CLAIM, 'oid', 'groups', LONG_ROLE_TYP, 'wids'), fc.string()),
    val: fc.oneof(
      fc.constantFrom(SETTINGS.operatorRole, SETTINGS.tenantRole, OID, GROUP, OID.toUpperCase()),
      fc.string(),
    ),
  });
  const principalArb = fc.record(
    {
      auth_typ: fc.constantFrom('aad', ''),
      name_typ: fc.option(fc.string()),
      role_typ: fc.option(fc.constantFrom('roles', LONG_ROLE_TYP, 'wids', '')),
      // Usually with a valid object id, so that the role decides the outcome.
      claims: fc
        .tuple(fc.boolean(), fc.array(claimArb, { maxLength: 12 }))
        .map(([withObjectId, claims]) => (withObjectId ? [oid(), ...claims] : claims)),
    },
    { requiredKeys: ['claims'] },
  );
  const headerArb = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 64 }),
    fc.uint8Array({ maxLength: 512 }).map((bytes) => Buffer.from(bytes).toString('base64')),
    fc.jsonValue({ maxDepth: 4 }).map(encode),
    principalArb.map(encode),
  );

  it('never throws, and gives the operator only when the decoded claims hold the operator role', () => {
    fc.assert(
      fc.property(headerArb, (header) => {
        const caller = callerFrom({ get: (name) => (name === 'x-ms-client-principal' ? header : null) }, SETTINGS);
        expect(['operator', 'principal', 'anonymous']).toContain(caller.kind);
        if (caller.kind === 'operator') expect(holdsOperatorRole(header)).toBe(true);
        if (caller.kind === 'anonymous' && header.length >= 16) expect(caller.reason).not.toContain(header);
      }),
      { numRuns: 1_000 },
    );
  });
});
