import { inspect } from 'node:util';

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { loadConfig } from '../../shared/config';
import { type ConfigError, toErrorInfo } from '../../shared/errors';
import { testCa } from '../support/tls';
import { leaks, pemBodyFragments } from './support/secrets';

const client = testCa().issueClientCertificate('config-secrets');
const PASSPHRASE = 'pfx-passphrase-7f3a9c21d0e4';
const ACCOUNT_KEY = 'c2VjcmV0LWFjY291bnQta2V5LXZhbHVlLWZvci10ZXN0cw==';
const URL_PASSWORD = 'hunter2-url-password';
const URL_SIGNATURE = 'sv2026sigQWERTYsecret';

const SECRETS: Record<string, string[]> = {
  'client key': pemBodyFragments(client.keyPem),
  passphrase: [PASSPHRASE],
  'account key': [ACCOUNT_KEY],
  'URL password': [URL_PASSWORD],
  'URL signature': [URL_SIGNATURE],
  'private key marker': ['PRIVATE KEY'],
};

const GOOD: Record<string, string> = {
  APP_ENVIRONMENT: 'Production',
  AzureWebJobsStorage: `DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=${ACCOUNT_KEY};EndpointSuffix=core.windows.net`,
  NC_DEFAULT_URL: 'https://nc.contoso.local/networking/v1',
  NC_DEFAULT_AUTH_MODE: 'x509',
  NC_DEFAULT_CLIENT_CERT_PEM: client.certPem,
  NC_DEFAULT_CLIENT_KEY_PEM: client.keyPem,
  ARM_AUTH_MODE: 'managedIdentity',
  WEBSITE_AUTH_ENABLED: 'true',
};

/** Everything an operator could see of a ConfigError: message, problems, stack, inspection, stored form. */
function everythingSaidBy(error: unknown): string {
  const e = error as ConfigError;
  return [
    e.message,
    e.stack ?? '',
    ...(e.problems ?? []),
    inspect(e, { depth: 10 }),
    JSON.stringify(toErrorInfo(e)),
  ].join('\n');
}

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    expect((error as Error).name).toBe('ConfigError');
    return error as ConfigError;
  }
  throw new Error('loadConfig accepted a bad configuration');
}

describe('loadConfig with a bad configuration', () => {
  it('accepts the good baseline (so every problem below comes from the broken settings)', () => {
    expect(loadConfig(GOOD).networkControllers.get('default')?.auth.mode).toBe('x509');
  });

  it('reports every problem at once, each named by its setting, without echoing any secret value', () => {
    const broken: Record<string, string> = {
      ...GOOD,
      NC_DEFAULT_INSECURE_SKIP_TLS_VERIFY: 'true',
      NC_DEFAULT_CLIENT_CERT_PEM: '',
      NC_DEFAULT_CLIENT_PFX_PASSPHRASE: PASSPHRASE,
      STEP_INLINE_WAIT_MS: 'soon',
      STATUS_RETRY_AFTER_SECONDS: '-5',
      LIST_PAGE_SIZE_MAX: '1.5',
      NC_LAB2_URL: `https://admin:${URL_PASSWORD}@nc2.contoso.local/networking/v1?sig=${URL_SIGNATURE}`,
      NC_LAB3_URL: 'http://nc3.contoso.local/networking/v1',
      NC_LAB3_AUTH_MODE: 'kerberos',
      NC_LAB4_URL: `not a url ${URL_PASSWORD}`,
      NC_LAB4_INSECURE_SKIP_TLS_VERIFY: 'yes',
      ARM_AUTH_MODE: 'none',
      ARM_ENDPOINT: `http://arm.contoso.local/?sig=${URL_SIGNATURE}`,
      STATE_TABLE_NAME: 'bad-name!',
    };
    const error = configError(broken);
    const expected = [
      'NC_DEFAULT_INSECURE_SKIP_TLS_VERIFY',
      'NC_DEFAULT_AUTH_MODE',
      'STEP_INLINE_WAIT_MS',
      'STATUS_RETRY_AFTER_SECONDS',
      'LIST_PAGE_SIZE_MAX',
      'NC_LAB2_URL',
      'NC_LAB3_URL',
      'NC_LAB3_AUTH_MODE',
      'NC_LAB4_URL',
      'NC_LAB4_INSECURE_SKIP_TLS_VERIFY',
      'ARM_ENDPOINT',
      'STATE_TABLE_NAME',
    ];
    for (const setting of expected) {
      expect(
        error.problems.some((p) => p.startsWith(`${setting}:`)),
        `${setting} in\n${error.problems.join('\n')}`,
      ).toBe(true);
    }
    expect(error.problems.length).toBeGreaterThanOrEqual(expected.length);
    expect(error.message).toContain(`${error.problems.length > 0 ? error.problems[0] : ''}`);
    expect(toErrorInfo(error)).toMatchObject({ code: 'InvalidConfiguration', retryable: false });
    expect(leaks(everythingSaidBy(error), SECRETS)).toEqual([]);
  });

  it('refuses INSECURE_SKIP_TLS_VERIFY outside Development, and names the safe alternative', () => {
    for (const value of ['true', '1']) {
      const error = configError({ ...GOOD, NC_DEFAULT_INSECURE_SKIP_TLS_VERIFY: value });
      expect(error.problems).toHaveLength(1);
      expect(error.problems[0]).toMatch(/^NC_DEFAULT_INSECURE_SKIP_TLS_VERIFY: .*Development.*NC_DEFAULT_CA_PEM/);
    }
    for (const environment of ['', 'development', 'Dev', 'Development ']) {
      const error = configError({ ...GOOD, APP_ENVIRONMENT: environment, NC_DEFAULT_INSECURE_SKIP_TLS_VERIFY: 'true' });
      expect(error.problems.some((p) => p.startsWith('NC_DEFAULT_INSECURE_SKIP_TLS_VERIFY:'))).toBe(true);
    }
    const dev = loadConfig({ ...GOOD, APP_ENVIRONMENT: 'Development', NC_DEFAULT_INSECURE_SKIP_TLS_VERIFY: 'true' });
    expect(dev.networkControllers.get('default')?.insecureSkipTlsVerify).toBe(true);
  });

  it('refuses to trust caller identity headers outside Development unless App Service Authentication is on', () => {
    const { WEBSITE_AUTH_ENABLED: _on, ...withoutAuth } = GOOD;
    for (const environment of [undefined, 'Production', '', 'development', 'Dev', 'Development ']) {
      const env = environment === undefined ? withoutAuth : { ...withoutAuth, APP_ENVIRONMENT: environment };
      for (const auth of [undefined, 'false', 'False']) {
        const error = configError(auth === undefined ? env : { ...env, WEBSITE_AUTH_ENABLED: auth });
        expect(error.problems.filter((p) => p.startsWith('WEBSITE_AUTH_ENABLED:'))).toEqual([
          expect.stringMatching(/App Service Authentication must be enabled.*caller identity would be unknown/),
        ]);
      }
    }
    expect(loadConfig({ ...withoutAuth, APP_ENVIRONMENT: 'Development' }).identity.platformAuthEnabled).toBe(false);
  });

  it('names mixed or broken identity-based storage settings without echoing the key or a SAS', () => {
    const mixed = configError({ ...GOOD, AzureWebJobsStorage__accountName: 'acct' });
    expect(mixed.problems).toEqual([expect.stringMatching(/^AzureWebJobsStorage: .*not both.*__accountName/)]);
    expect(leaks(everythingSaidBy(mixed), SECRETS)).toEqual([]);

    const { AzureWebJobsStorage: _key, ...identityOnly } = GOOD;
    const broken = configError({
      ...identityOnly,
      AzureWebJobsStorage__queueServiceUri: `https://acct.queue.core.windows.net/?sv=2026&sig=${URL_SIGNATURE}`,
      AzureWebJobsStorage__tableServiceUri: `https://user:${URL_PASSWORD}@acct.table.core.windows.net`,
      AzureWebJobsStorage__credential: ACCOUNT_KEY,
      AzureWebJobsStorage__clientId: PASSPHRASE,
    });
    expect(broken.problems.map((p) => p.slice(0, p.indexOf(':')))).toEqual([
      'AzureWebJobsStorage__queueServiceUri',
      'AzureWebJobsStorage__tableServiceUri',
      'AzureWebJobsStorage__credential',
      'AzureWebJobsStorage__clientId',
    ]);
    expect(leaks(everythingSaidBy(broken), SECRETS)).toEqual([]);
  });

  it('the configuration it returns is read-only, so a secret cannot be swapped at run time', () => {
    const config = loadConfig(GOOD);
    const nc = config.networkControllers.get('default');
    expect(() => {
      (nc as { insecureSkipTlsVerify: boolean }).insecureSkipTlsVerify = true;
    }).toThrow(TypeError);
    expect(() => (config.networkControllers as Map<string, unknown>).set('evil', {})).toThrow(TypeError);
  });

  const SETTINGS = [
    'APP_ENVIRONMENT',
    'STATE_TABLE_NAME',
    'AzureFunctionsJobHost__extensions__queues__maxDequeueCount',
    'STEP_INLINE_WAIT_MS',
    'STEP_LEASE_MS',
    'STATUS_RETRY_AFTER_SECONDS',
    'LIST_PAGE_SIZE_MAX',
    'NETWORK_CONTROLLER_TIMEOUT_MS',
    'NETWORK_CONTROLLER_MAX_RETRIES',
    'NETWORK_CONTROLLER_POLL_INTERVAL_MS',
    'NETWORK_READ_MAX_AGE_MS',
    'MACHINE_TASK_TABLE_NAME',
    'ARM_ENDPOINT',
    'ARM_AUTH_MODE',
    'ARM_TIMEOUT_MS',
    'ARC_DEFAULT_SUBSCRIPTION_ID',
    'ARC_DEFAULT_RESOURCE_GROUP',
    'NC_DEFAULT_URL',
    'NC_DEFAULT_AUTH_MODE',
    'NC_DEFAULT_INSECURE_SKIP_TLS_VERIFY',
    'NC_LAB9_URL',
  ];

  it('property: a secret pasted into the wrong settings is never echoed, and every broken setting is named', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.constantFrom(...SETTINGS), { minLength: 1, maxLength: 8 }),
        fc.stringMatching(/^[A-Za-z0-9+/]{16,40}={0,2}$/),
        fc.boolean(),
        (settings, secret, development) => {
          // A value no setting accepts: a secret that ended up in the wrong app setting (a Key Vault mix-up).
          const value = `${secret}-${'x'.repeat(100)}:/ `;
          const env: Record<string, string> = {
            ...GOOD,
            APP_ENVIRONMENT: development ? 'Development' : 'Production',
            NC_DEFAULT_CLIENT_PFX_PASSPHRASE: secret,
          };
          for (const setting of settings) env[setting] = value;
          const error = configError(env);
          for (const setting of settings) {
            // A broken NC_<NAME>_URL is named by its key; every other setting by its own name.
            expect(error.problems.some((p) => p.startsWith(`${setting}:`) || p.startsWith(`${setting}_`))).toBe(true);
          }
          expect(everythingSaidBy(error)).not.toContain(secret);
          expect(leaks(everythingSaidBy(error), SECRETS)).toEqual([]);
        },
      ),
      { numRuns: 200 },
    );
  });
});
