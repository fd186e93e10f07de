import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  type RunningManagedIdentityEndpoint,
  startManagedIdentityEndpoint,
} from '../../../dev/managedIdentity/startManagedIdentityEndpoint';

const USER_ASSIGNED = {
  clientId: '3d1e5c7a-9b2f-4c6d-8e0a-1f2b3c4d5e6f',
  principalId: '5a6b7c8d-0000-4000-8000-000000000001',
  resourceId: '/subscriptions/s1/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-app',
};

let endpoint: RunningManagedIdentityEndpoint;

beforeAll(async () => {
  endpoint = await startManagedIdentityEndpoint({ userAssigned: [USER_ASSIGNED] });
});
afterAll(() => endpoint?.close());

async function tokenRequest(query: Record<string, string>, header = endpoint.environment.IDENTITY_HEADER) {
  const url = new URL(endpoint.environment.IDENTITY_ENDPOINT);
  for (const [key, value] of Object.entries({ 'api-version': '2019-08-01', ...query }))
    url.searchParams.set(key, value);
  const response = await fetch(url, { headers: { 'X-IDENTITY-HEADER': header } });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

function claimsOf(token: unknown): Record<string, unknown> {
  const [, payload] = String(token).split('.');
  return JSON.parse(Buffer.from(payload ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
}

describe('the App Service managed identity endpoint (dev)', () => {
  it('is on loopback and answers a user-assigned identity by client id, resource id or principal id', async () => {
    expect(endpoint.environment.IDENTITY_ENDPOINT).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/msi\/token$/);
    for (const query of <Record<string, string>[]>[
      { client_id: USER_ASSIGNED.clientId },
      { mi_res_id: USER_ASSIGNED.resourceId },
      { principal_id: USER_ASSIGNED.principalId },
    ]) {
      const { status, body } = await tokenRequest({ resource: 'https://storage.azure.com', ...query });
      expect(status).toBe(200);
      expect(body).toMatchObject({ token_type: 'Bearer', resource: 'https://storage.azure.com' });
      expect(body.client_id).toBe(USER_ASSIGNED.clientId);
      const expiresOn = Number(body.expires_on);
      expect(expiresOn).toBeGreaterThan(Date.now() / 1000 + 3000);
      const claims = claimsOf(body.access_token);
      expect(claims.iss).toMatch(/^https:\/\/sts\.windows\.net\/[0-9a-f-]{36}\/$/);
      expect(claims).toMatchObject({
        aud: 'https://storage.azure.com',
        appid: USER_ASSIGNED.clientId,
        oid: USER_ASSIGNED.principalId,
        exp: expiresOn,
      });
    }
  });

  it.each<[string, Record<string, string>, string | undefined, number]>([
    ['without the identity header secret', { resource: 'https://storage.azure.com' }, 'wrong', 401],
    [
      'for an identity the app does not have',
      { resource: 'x', client_id: '99999999-9999-4999-8999-999999999999' },
      undefined,
      400,
    ],
    [
      'for the system-assigned identity the app does not have',
      { resource: 'https://storage.azure.com' },
      undefined,
      400,
    ],
    ['without a resource', { client_id: USER_ASSIGNED.clientId }, undefined, 400],
    ['with another api-version', { resource: 'x', 'api-version': '2017-09-01' }, undefined, 400],
  ])('refuses a request %s', async (_name, query, header, expected) => {
    const issuedBefore = endpoint.issued.length;
    const { status, body } = await tokenRequest(query, header);
    expect(status).toBe(expected);
    expect(body.access_token).toBeUndefined();
    expect(endpoint.issued).toHaveLength(issuedBefore);
  });
});
