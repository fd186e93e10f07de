import { DefaultAzureCredential, ManagedIdentityCredential, type TokenCredential } from '@azure/identity';

import type { TokenProvider } from '../http/azurePipeline';

export type { TokenProvider } from '../http/azurePipeline';

const ARM_SCOPE = 'https://management.azure.com/.default';

/**
 * Tokens from a managed identity: the user-assigned one with `clientId`, otherwise DefaultAzureCredential (the
 * system-assigned identity in Azure, a developer sign-in locally). The credential caches and refreshes tokens.
 */
export function managedIdentityTokenProvider(clientId?: string): TokenProvider {
  const credential: TokenCredential =
    clientId === undefined ? new DefaultAzureCredential() : new ManagedIdentityCredential({ clientId });
  return {
    async getToken(abortSignal) {
      const accessToken = await credential.getToken(ARM_SCOPE, { abortSignal });
      return accessToken?.token;
    },
  };
}

/** No token at all: for the local ARM emulator, which does not check authorization. */
export function noTokenProvider(): TokenProvider {
  return { getToken: () => Promise.resolve(undefined) };
}
