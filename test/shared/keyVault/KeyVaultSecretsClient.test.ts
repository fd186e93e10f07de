import { request } from 'node:https';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { GUEST_SEED } from '../../../dev/keyVault/seed';
import { type RunningKeyVaultEmulator, startKeyVaultEmulator } from '../../../dev/keyVault/startKeyVaultEmulator';
import { keyVaultDevelopmentToken, KeyVaultSecretsClient } from '../../../shared/keyVault/KeyVaultSecretsClient';
import { emulatorRequest } from '../../support/ncEmulator';
import { rejectionOf } from '../../support/rejection';
import { testCa } from '../../support/tls';

let vault: RunningKeyVaultEmulator;
let client: KeyVaultSecretsClient;

beforeAll(async () => {
  vault = await startKeyVaultEmulator({ port: 0, tls: testCa().issueServerCertificate(['127.0.0.1']) });
  client = new KeyVaultSecretsClient(vault.origin, {
    credential: keyVaultDevelopmentToken(),
    caCertPem: testCa().caCertPem,
    retryDelayInMs: 1,
  });
});
afterAll(() => vault.close());

const put = (name: string, body: unknown) => emulatorRequest(`${vault.origin}/_emulator/secrets/${name}`, 'PUT', body);

function rawGet(path: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((resolve, reject) => {
    const req = request(`${vault.origin}${path}`, { ca: testCa().caCertPem, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

describe('KeyVaultSecretsClient.getGuestCredential against the Key Vault emulator', () => {
  it('reads the seeded guest account', async () => {
    await expect(client.getGuestCredential('contoso-guest')).resolves.toEqual({
      userName: GUEST_SEED.contoso.userName,
      password: GUEST_SEED.contoso.password,
    });
  });

  it('keeps Key Vault code for a missing secret, not retryable', async () => {
    expect(await rejectionOf(client.getGuestCredential('nobody-guest'))).toMatchObject({
      name: 'RemoteServiceError',
      source: 'KeyVault',
      code: 'SecretNotFound',
      statusCode: 404,
      retryable: false,
    });
  });

  it('refuses a disabled secret', async () => {
    await put('disabled-guest', { value: '{"userName":"a","password":"b"}', enabled: false });
    expect(await rejectionOf(client.getGuestCredential('disabled-guest'))).toMatchObject({
      source: 'KeyVault',
      statusCode: 403,
      retryable: false,
    });
  });

  it.each([
    ['not JSON', 'Leaky-Value-1 not json'],
    ['no password', JSON.stringify({ userName: 'a', secret: 'Leaky-Value-2' })],
    ['an extra field', JSON.stringify({ userName: 'a', password: 'Leaky-Value-3', note: 'x' })],
  ])('refuses a value that is %s, never quoting it', async (_what, value) => {
    await put('odd-guest', { value });
    const error = (await rejectionOf(client.getGuestCredential('odd-guest'))) as Error & Record<string, unknown>;
    expect(error).toMatchObject({ code: 'InvalidGuestCredentialSecret', retryable: false });
    expect(`${error.message} ${JSON.stringify(error)}`).not.toMatch(/Leaky-Value/);
  });

  it('refuses a secret name Key Vault would not have, before any request', async () => {
    expect(await rejectionOf(client.getGuestCredential('../keys/x'))).toMatchObject({
      name: 'ValidationError',
      issues: [{ field: 'secretName' }],
    });
  });

  it('answers like Key Vault without a bearer token, or without api-version', async () => {
    const anonymous = await rawGet('/secrets/contoso-guest?api-version=7.4');
    expect(anonymous.status).toBe(401);
    expect(String(anonymous.headers['www-authenticate'])).toMatch(
      /^Bearer authorization=".*", resource="https:\/\/vault\.azure\.net"$/,
    );
    expect(anonymous.body).not.toContain(GUEST_SEED.contoso.password);
    const noVersion = await rawGet('/secrets/contoso-guest', { authorization: 'Bearer x' });
    expect(noVersion.status).toBe(400);
    expect(JSON.parse(noVersion.body)).toMatchObject({ error: { code: 'BadParameter' } });
  });
});
