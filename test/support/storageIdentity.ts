import type { AccessToken, TokenCredential } from '@azure/identity';

import { type RunningAzurite, startAzurite } from '../../dev/azurite';
import { devAccessToken, type DevAccessTokenClaims } from '../../dev/managedIdentity/accessToken';
import type { StorageConnection } from '../../shared/state/storageConnection';
import { testCa } from './tls';

/** The user-assigned identity the tests' storage tokens stand for. */
export const TEST_STORAGE_CLIENT_ID = '3d1e5c7a-9b2f-4c6d-8e0a-1f2b3c4d5e6f';

/**
 * A token source for the app's storage clients, as a managed identity would give: a token per requested scope, for
 * the test identity, with `overrides` to make a bad one (expired, wrong audience or issuer). Counts its tokens.
 */
export function testTokenCredential(overrides: Partial<DevAccessTokenClaims> = {}): TokenCredential & {
  readonly scopes: readonly string[];
} {
  const scopes: string[] = [];
  return {
    scopes,
    getToken(requested: string | string[]): Promise<AccessToken> {
      const scope = Array.isArray(requested) ? (requested[0] ?? '') : requested;
      scopes.push(scope);
      const { token, expiresOnInSeconds } = devAccessToken({
        audience: scope,
        clientId: TEST_STORAGE_CLIENT_ID,
        ...overrides,
      });
      return Promise.resolve({ token, expiresOnTimestamp: expiresOnInSeconds * 1000, tokenType: 'Bearer' });
    },
  };
}

/** Azurite over HTTPS (certificate from the test CA) taking bearer tokens (`--oauth basic`) besides its key. */
export async function startOAuthAzurite(): Promise<RunningAzurite> {
  return startAzurite({
    blobPort: 0,
    queuePort: 0,
    tablePort: 0,
    tls: testCa().issueServerCertificate(['127.0.0.1']),
    oauth: 'basic',
  });
}

/** The identity-based connection the app builds from `AzureWebJobsStorage__queueServiceUri` and `__tableServiceUri`. */
export function identityConnection(azurite: RunningAzurite, clientId = TEST_STORAGE_CLIENT_ID): StorageConnection {
  return {
    mode: 'identity',
    serviceUrls: azurite.serviceUrls,
    managedIdentity: { kind: 'clientId', clientId },
  };
}
