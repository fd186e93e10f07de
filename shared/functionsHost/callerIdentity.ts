import { z } from 'zod';

export type Caller =
  | { kind: 'operator'; id: string }
  | { kind: 'principal'; id: string; groups: readonly string[]; roles: readonly string[] }
  | { kind: 'anonymous'; reason: string };

export interface IdentitySettings {
  platformAuthEnabled: boolean;
  operatorRole: string;
  tenantRole: string;
}

const PRINCIPAL_HEADER = 'x-ms-client-principal';
// Far above a token's worth of claims (Entra ID stops listing groups past 200), far below a flood.
const MAX_HEADER_CHARS = 16 * 1024;
const OBJECT_ID_CLAIMS = new Set(['http://schemas.microsoft.com/identity/claims/objectidentifier', 'oid']);
const GROUPS_CLAIM = 'groups';
// Entra ID app roles arrive as `roles` claims, also when role_typ names the long role URI.
const ROLES_CLAIM = 'roles';
const DEVELOPMENT_OPERATOR_ID = 'local-development';
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * The decoded header as App Service Authentication documents it
 * (https://learn.microsoft.com/azure/app-service/configure-authentication-user-identities).
 */
const ClientPrincipalSchema = z.object({
  auth_typ: z.string(),
  name_typ: z.string().nullish(),
  role_typ: z.string().nullish(),
  claims: z.array(z.object({ typ: z.string(), val: z.string() })),
});
type ClientPrincipal = z.infer<typeof ClientPrincipalSchema>;

function anonymous(reason: string): Caller {
  return { kind: 'anonymous', reason };
}

/** The principal, or why there is none; the reason never repeats the header's value. */
function decodePrincipal(header: string | null): ClientPrincipal | string {
  if (!header) return `no ${PRINCIPAL_HEADER} header (the request was not authenticated)`;
  if (header.length > MAX_HEADER_CHARS) return `${PRINCIPAL_HEADER} is larger than ${MAX_HEADER_CHARS} characters`;
  if (!BASE64.test(header)) return `${PRINCIPAL_HEADER} is not base64`;
  let json: unknown;
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(header, 'base64'));
    json = JSON.parse(text);
  } catch {
    return `${PRINCIPAL_HEADER} is not base64-encoded UTF-8 JSON`;
  }
  const parsed = ClientPrincipalSchema.safeParse(json);
  if (!parsed.success) return `${PRINCIPAL_HEADER} is not a client principal ({ auth_typ, claims: [{ typ, val }] })`;
  return parsed.data;
}

function claimValues(principal: ClientPrincipal, types: ReadonlySet<string>): string[] {
  return [...new Set(principal.claims.filter((claim) => types.has(claim.typ)).map((claim) => claim.val))];
}

/** Who is calling: from x-ms-client-principal when the platform's authentication is on; the operator when it is off (Development only, enforced by config). */
export function callerFrom(headers: { get(name: string): string | null }, settings: IdentitySettings): Caller {
  if (!settings.platformAuthEnabled) return { kind: 'operator', id: DEVELOPMENT_OPERATOR_ID };
  const principal = decodePrincipal(headers.get(PRINCIPAL_HEADER));
  if (typeof principal === 'string') return anonymous(principal);

  const objectIds = [...new Set(claimValues(principal, OBJECT_ID_CLAIMS).map((id) => id.toLowerCase()))];
  if (objectIds.length === 0) return anonymous(`${PRINCIPAL_HEADER} has no object id claim`);
  if (objectIds.length > 1) return anonymous(`${PRINCIPAL_HEADER} has conflicting object id claims`);
  const id = objectIds[0] ?? '';
  if (!GUID.test(id)) return anonymous(`${PRINCIPAL_HEADER} has an object id that is not a GUID`);

  const roles = claimValues(principal, new Set([ROLES_CLAIM, principal.role_typ || ROLES_CLAIM]));
  if (roles.includes(settings.operatorRole)) return { kind: 'operator', id };
  const groups = [...new Set(claimValues(principal, new Set([GROUPS_CLAIM])).map((group) => group.toLowerCase()))];
  return { kind: 'principal', id, groups: groups.filter((group) => GUID.test(group)), roles };
}

/** The operator role may use every tenant; a principal with the tenant role may use a tenant whose registry entry lists its object id or one of its groups (case-insensitive GUID compare). */
export function mayUseTenant(caller: Caller, tenantPrincipals: readonly string[], settings: IdentitySettings): boolean {
  if (caller.kind === 'operator') return true;
  if (caller.kind !== 'principal' || !caller.roles.includes(settings.tenantRole)) return false;
  const own = new Set([caller.id, ...caller.groups].filter((id) => GUID.test(id)).map((id) => id.toLowerCase()));
  return tenantPrincipals.some((listed) => GUID.test(listed) && own.has(listed.toLowerCase()));
}

export function isOperator(caller: Caller): boolean {
  return caller.kind === 'operator';
}
