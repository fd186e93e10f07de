import { DefaultAzureCredential, ManagedIdentityCredential, type TokenCredential } from '@azure/identity';
import { z } from 'zod';

import { RemoteServiceError, ValidationError } from '../errors';
import { AzurePipeline, type AzureService } from '../http/azurePipeline';
import { isTransientStatus, type RetrySettings } from '../http/retryPolicy';
import { SECRET_NAME_PATTERN } from '../model/machineRef';

/** The Key Vault secrets API version this client speaks. */
const KEY_VAULT_API_VERSION = '7.4';
const KEY_VAULT_SCOPE = 'https://vault.azure.net/.default';

/** Supplies the bearer token for Key Vault. */
export interface KeyVaultTokenProvider {
  getToken(abortSignal?: AbortSignal): Promise<string>;
}

/** Tokens for Key Vault from a managed identity (user-assigned with `clientId`, else DefaultAzureCredential). */
export function keyVaultManagedIdentity(clientId?: string): KeyVaultTokenProvider {
  const credential: TokenCredential =
    clientId === undefined ? new DefaultAzureCredential() : new ManagedIdentityCredential({ clientId });
  return {
    async getToken(abortSignal) {
      const token = await credential.getToken(KEY_VAULT_SCOPE, { abortSignal });
      if (!token) throw new Error('the identity returned no token');
      return token.token;
    },
  };
}

/** A fixed token, for the local Key Vault emulator, which checks the header's form, not the token. */
export function keyVaultDevelopmentToken(): KeyVaultTokenProvider {
  return { getToken: () => Promise.resolve('local-development') };
}

export interface KeyVaultSecretsClientOptions extends Partial<RetrySettings> {
  credential: KeyVaultTokenProvider;
  /** Extra trusted CA (PEM), e.g. the local emulator's; verification stays on. */
  caCertPem?: string;
  /** Per-attempt timeout. Default 30 s. */
  timeoutInMs?: number;
}

export interface GetGuestCredentialOptions {
  abortSignal?: AbortSignal;
  timeoutInMs?: number;
}

/** A guest account as a secret holds it. The password is never logged, stored, or put in an error. */
export interface GuestAccount {
  userName: string;
  password: string;
}

const secretBodySchema = z.object({
  value: z.string().optional(),
  attributes: z.object({ enabled: z.boolean().optional() }).optional(),
});
// A missing secret or a refused identity needs an operator; a busy or failing vault may recover.
const keyVaultService: AzureService = {
  source: 'KeyVault',
  displayName: 'Key Vault',
  isRetryableStatus: isTransientStatus,
};
/** The secret's value: JSON with the guest's user name and password. */
const guestAccountSchema = z.strictObject({ userName: z.string().min(1), password: z.string().min(1) });

/**
 * Reads secrets from Azure Key Vault (`GET {vault}/secrets/{name}?api-version=7.4`) with the app's identity. Every
 * failure is a `RemoteServiceError` with source `KeyVault` and Key Vault's own code; a secret's value never appears
 * in one, nor in anything this client logs (it logs nothing).
 */
export class KeyVaultSecretsClient {
  readonly #pipeline: AzurePipeline;

  constructor(vaultUrl: string, options: KeyVaultSecretsClientOptions) {
    this.#pipeline = new AzurePipeline(vaultUrl, { ...options, service: keyVaultService });
  }

  /**
   * Reads the guest account in secret `secretName` (its latest version). The value must be JSON
   * `{"userName": "...", "password": "..."}`; anything else is a permanent `InvalidGuestCredentialSecret`.
   */
  async getGuestCredential(secretName: string, options: GetGuestCredentialOptions = {}): Promise<GuestAccount> {
    if (!SECRET_NAME_PATTERN.test(secretName)) {
      throw new ValidationError([{ field: 'secretName', reason: `must match ${SECRET_NAME_PATTERN.source}` }]);
    }
    const { body } = await this.#pipeline.send(
      { method: 'GET', path: `/secrets/${secretName}`, apiVersion: KEY_VAULT_API_VERSION },
      options,
    );
    const secret = secretBodySchema.safeParse(body);
    if (!secret.success || secret.data.value === undefined) {
      throw failure(`Key Vault answered secret ${secretName} with a body this client does not understand`, {
        code: 'InvalidResponse',
        retryable: false,
      });
    }
    if (secret.data.attributes?.enabled === false) {
      throw failure(`Secret ${secretName} is disabled.`, { code: 'SecretDisabled', retryable: false });
    }
    let json: unknown;
    try {
      json = JSON.parse(secret.data.value);
    } catch {
      json = undefined;
    }
    const account = guestAccountSchema.safeParse(json);
    if (!account.success) {
      // Never the value, nor zod's issues (they carry the input): only what the value should be.
      throw failure(
        `Secret ${secretName} does not hold a guest account: its value must be JSON {"userName": "...", "password": "..."}.`,
        { code: 'InvalidGuestCredentialSecret', retryable: false },
      );
    }
    return account.data;
  }
}

function failure(
  message: string,
  init: Omit<ConstructorParameters<typeof RemoteServiceError>[1], 'source'>,
): RemoteServiceError {
  return new RemoteServiceError(message, { source: 'KeyVault', ...init });
}
