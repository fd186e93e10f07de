import { z } from 'zod';

import type { Settings } from './queueStorage';

/**
 * What App Service Authentication does to a request before the app sees it: it drops the caller headers a client
 * sent (only the platform sets them) and, for an authenticated caller, adds its own. Locally the caller comes from a
 * test header named by LOCAL_AUTH_PRINCIPAL_HEADER, in Development only.
 * https://learn.microsoft.com/azure/app-service/configure-authentication-user-identities
 */
export const PLATFORM_PRINCIPAL_HEADERS: readonly string[] = [
  'x-ms-client-principal',
  'x-ms-client-principal-id',
  'x-ms-client-principal-name',
  'x-ms-client-principal-idp',
];

export const LOCAL_AUTH_PRINCIPAL_HEADER_SETTING = 'LOCAL_AUTH_PRINCIPAL_HEADER';

export interface PlatformAuthSettings {
  /** Lower case: the request header whose JSON becomes the caller; undefined when test principals are off. */
  testPrincipalHeader: string | undefined;
}

export type PlatformAuthOutcome = { ok: true; headers: Record<string, string> } | { ok: false; message: string };

const IDENTITY_PROVIDER = 'aad';
const OBJECT_ID_CLAIM = 'http://schemas.microsoft.com/identity/claims/objectidentifier';
const NAME_CLAIM = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name';
const ROLES_CLAIM = 'roles';
const GROUPS_CLAIM = 'groups';
// RFC 9110 token characters.
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const TestPrincipalSchema = z.strictObject({
  id: z.string().regex(GUID),
  roles: z.array(z.string().min(1)).default([]),
  groups: z.array(z.string().regex(GUID)).default([]),
});
const TEST_PRINCIPAL_SHAPE = 'JSON { "id": "<object id GUID>", "roles": ["..."], "groups": ["<group GUID>"] }';

/** Reads LOCAL_AUTH_PRINCIPAL_HEADER; throws, naming the setting, when it cannot be used. */
export function platformAuthSettingsFrom(settings: Settings): PlatformAuthSettings {
  const name = settings[LOCAL_AUTH_PRINCIPAL_HEADER_SETTING];
  if (name === undefined || name === '') return { testPrincipalHeader: undefined };
  const refuse = (why: string): never => {
    throw new Error(`${LOCAL_AUTH_PRINCIPAL_HEADER_SETTING}: ${why}`);
  };
  if (settings.APP_ENVIRONMENT !== 'Development') {
    refuse(
      'test principals are only for APP_ENVIRONMENT=Development (unset means Production, which ignores test headers)',
    );
  }
  if (!HEADER_NAME.test(name)) refuse('must be an HTTP header name, such as x-test-principal');
  if (name.toLowerCase().startsWith('x-ms-client-principal')) {
    refuse('must name a header of its own, not one App Service Authentication sets');
  }
  const platformAuth = settings.WEBSITE_AUTH_ENABLED;
  if (platformAuth !== undefined && platformAuth !== '' && platformAuth.toLowerCase() !== 'true') {
    refuse('the runner then plays App Service Authentication, so WEBSITE_AUTH_ENABLED must be unset or true');
  }
  return { testPrincipalHeader: name.toLowerCase() };
}

/** The platform's client principal for a test caller: base64 JSON with the object id, role and group claims. */
export function encodeClientPrincipal(caller: {
  id: string;
  roles: readonly string[];
  groups: readonly string[];
}): string {
  const claims = [
    { typ: OBJECT_ID_CLAIM, val: caller.id },
    ...caller.roles.map((val) => ({ typ: ROLES_CLAIM, val })),
    ...caller.groups.map((val) => ({ typ: GROUPS_CLAIM, val })),
  ];
  const principal = { auth_typ: IDENTITY_PROVIDER, name_typ: NAME_CLAIM, role_typ: ROLES_CLAIM, claims };
  return Buffer.from(JSON.stringify(principal), 'utf8').toString('base64');
}

/** The headers the function sees (names lower case), or why the platform would answer 401. */
export function applyPlatformAuth(
  headers: Record<string, string>,
  settings: PlatformAuthSettings,
): PlatformAuthOutcome {
  const result = { ...headers };
  for (const name of PLATFORM_PRINCIPAL_HEADERS) delete result[name];
  const header = settings.testPrincipalHeader;
  const raw = header === undefined ? undefined : result[header];
  if (header === undefined || raw === undefined) return { ok: true, headers: result };
  delete result[header];

  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { ok: false, message: `${header}: must be ${TEST_PRINCIPAL_SHAPE}` };
  }
  const parsed = TestPrincipalSchema.safeParse(json);
  if (!parsed.success) return { ok: false, message: `${header}: must be ${TEST_PRINCIPAL_SHAPE}` };
  result['x-ms-client-principal'] = encodeClientPrincipal(parsed.data);
  result['x-ms-client-principal-id'] = parsed.data.id;
  result['x-ms-client-principal-idp'] = IDENTITY_PROVIDER;
  return { ok: true, headers: result };
}
