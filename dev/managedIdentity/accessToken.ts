import { randomUUID } from 'node:crypto';

/** What a development access token says about its caller; the rest of the claims are filled in. */
export interface DevAccessTokenClaims {
  /** The resource the token is for, e.g. `https://storage.azure.com` (a scope's `/.default` is dropped). */
  audience: string;
  /** The identity's client (application) id. */
  clientId: string;
  /** The identity's object (principal) id. */
  principalId?: string;
  tenantId?: string;
  /** Default 3600 s; negative gives a token that has already expired. */
  lifetimeInSeconds?: number;
  /** Default `https://sts.windows.net/{tenantId}/`, the issuer Entra ID puts in v1 tokens for managed identities. */
  issuer?: string;
  nowInMs?: number;
}

export const DEV_TENANT_ID = '00000000-0000-4000-8000-00000000de01';

const base64url = (value: object) => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');

/**
 * An Entra ID-shaped access token (a JWT with the claims a managed identity's token carries), unsigned: the local
 * storage emulator in OAuth `basic` mode checks audience, issuer and lifetime, never the signature. Never accepted by
 * a real service.
 */
export function devAccessToken(claims: DevAccessTokenClaims): { token: string; expiresOnInSeconds: number } {
  const now = Math.floor((claims.nowInMs ?? Date.now()) / 1000);
  const tenantId = claims.tenantId ?? DEV_TENANT_ID;
  const expiresOnInSeconds = now + (claims.lifetimeInSeconds ?? 3600);
  const payload = {
    aud: claims.audience.replace(/\/\.default$/, ''),
    iss: claims.issuer ?? `https://sts.windows.net/${tenantId}/`,
    iat: now - 60,
    nbf: now - 60,
    exp: expiresOnInSeconds,
    appid: claims.clientId,
    appidacr: '2',
    idtyp: 'app',
    oid: claims.principalId ?? claims.clientId,
    sub: claims.principalId ?? claims.clientId,
    tid: tenantId,
    uti: randomUUID(),
    ver: '1.0',
  };
  return { token: `${base64url({ typ: 'JWT', alg: 'none' })}.${base64url(payload)}.`, expiresOnInSeconds };
}
