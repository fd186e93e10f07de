import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { createDevCertificateAuthority } from '../../dev/tls';
import { GLOBAL_SETTINGS, loadConfig } from '../../shared/config';
import { ConfigError } from '../../shared/errors';
import { thrownBy } from '../support/rejection';

const MINIMAL = {
  AzureWebJobsStorage: 'UseDevelopmentStorage=true',
  NC_DEFAULT_URL: 'https://nc.contoso.local/networking/v1',
  WEBSITE_AUTH_ENABLED: 'true',
} as const;

// Real material: the configuration loads certificates the way the TLS stack will.
const DEV_CA = createDevCertificateAuthority('config test CA');
const CLIENT = DEV_CA.issueClientCertificate('config-test-client');
const CERT_PEM = CLIENT.certPem;
const KEY_PEM = CLIENT.keyPem;
const CA_PEM = DEV_CA.caCertPem;
const PFX_SECRET = CLIENT.pfxBase64('secret');
const PFX_OPEN = CLIENT.pfxBase64('');

function problemsOf(env: NodeJS.ProcessEnv): readonly string[] {
  const thrown = thrownBy(() => loadConfig(env));
  expect(thrown).toBeInstanceOf(ConfigError);
  return (thrown as ConfigError).problems;
}

describe('loadConfig: defaults', () => {
  it('builds the defaults from a minimal environment', () => {
    const config = loadConfig({ ...MINIMAL });
    expect(config).toEqual({
      environment: 'Production',
      storage: { mode: 'connectionString', connectionString: 'UseDevelopmentStorage=true' },
      tables: { state: 'attachments', tenants: 'tenants' },
      maxDequeueCount: 5,
      step: { inlineWaitInMs: 5_000, leaseInMs: 360_000 },
      http: { statusRetryAfterInSeconds: 2, listPageSizeMax: 100 },
      networkControllerDefaults: {
        timeoutInMs: 30_000,
        maxRetries: 3,
        retryDelayInMs: 500,
        maxRetryDelayInMs: 8_000,
        pollIntervalInMs: 1_000,
        operationTimeoutInMs: 300_000,
        networkReadMaxAgeInMs: 10_000,
        batchWindowInMs: 100,
      },
      networkControllers: new Map([
        [
          'default',
          {
            name: 'default',
            url: 'https://nc.contoso.local/networking/v1',
            auth: { mode: 'none' },
            caCertPem: undefined,
            insecureSkipTlsVerify: false,
          },
        ],
      ]),
      machineTasks: { table: 'machinetasks', reuseForInMs: 3_600_000, inspectionReuseForInMs: 30_000 },
      arm: {
        endpoint: 'https://management.azure.com',
        auth: { mode: 'managedIdentity', clientId: undefined },
        caCertPem: undefined,
        timeoutInMs: 30_000,
        maxRetries: 3,
        pollIntervalInMs: 10_000,
        defaults: { subscriptionId: undefined, resourceGroup: undefined },
      },
      identity: { platformAuthEnabled: true, operatorRole: 'SdnAttach.Operator', tenantRole: 'SdnAttach.Tenant' },
    });
  });

  it.each([
    [
      'a wrong PFX passphrase',
      { NC_DEFAULT_CLIENT_PFX_BASE64: PFX_SECRET, NC_DEFAULT_CLIENT_PFX_PASSPHRASE: 'nope' },
      'NC_DEFAULT_CLIENT_PFX_BASE64: wrong passphrase',
    ],
    [
      'a key that does not match the certificate',
      {
        NC_DEFAULT_CLIENT_CERT_PEM: CERT_PEM,
        NC_DEFAULT_CLIENT_KEY_PEM: DEV_CA.issueClientCertificate('other').keyPem,
      },
      'NC_DEFAULT_CLIENT_CERT_PEM: cannot be loaded',
    ],
    [
      'a broken PEM',
      {
        NC_DEFAULT_CLIENT_CERT_PEM: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
        NC_DEFAULT_CLIENT_KEY_PEM: KEY_PEM,
      },
      'NC_DEFAULT_CLIENT_CERT_PEM: cannot be loaded',
    ],
  ])('refuses %s at start-up', (_name, extra, problem) => {
    expect(() => loadConfig({ ...MINIMAL, NC_DEFAULT_AUTH_MODE: 'x509', ...extra })).toThrow(problem);
  });

  it('refuses ARM_AUTH_MODE=none outside Development', () => {
    expect(() => loadConfig({ ...MINIMAL, ARM_AUTH_MODE: 'none' })).toThrow(/ARM_AUTH_MODE/);
    expect(loadConfig({ ...MINIMAL, ARM_AUTH_MODE: 'none', APP_ENVIRONMENT: 'Development' }).arm.auth).toEqual({
      mode: 'none',
    });
  });

  it('counts an empty setting as not set, as templates write unset parameters', () => {
    const config = loadConfig({ ...MINIMAL, ARC_DEFAULT_SUBSCRIPTION_ID: '', ARC_DEFAULT_RESOURCE_GROUP: '' });
    expect(config.arm.defaults).toEqual({ subscriptionId: undefined, resourceGroup: undefined });
  });

  it('refuses the renamed NIC_LIST_MAX_AGE_MS, naming its new name, instead of ignoring it', () => {
    expect(problemsOf({ ...MINIMAL, NIC_LIST_MAX_AGE_MS: '0' })).toEqual([
      'NIC_LIST_MAX_AGE_MS: renamed to NETWORK_READ_MAX_AGE_MS (step 1 no longer lists every NIC)',
    ]);
    expect(
      loadConfig({ ...MINIMAL, NETWORK_READ_MAX_AGE_MS: '0' }).networkControllerDefaults.networkReadMaxAgeInMs,
    ).toBe(0);
  });

  it('defaults maxDequeueCount to host.json extensions.queues.maxDequeueCount', () => {
    const hostJson = JSON.parse(readFileSync(join(__dirname, '..', '..', 'host.json'), 'utf8')) as {
      extensions: { queues: { maxDequeueCount: number } };
    };
    expect(loadConfig({ ...MINIMAL }).maxDequeueCount).toBe(hostJson.extensions.queues.maxDequeueCount);
  });

  it('takes the host override of maxDequeueCount, so app and host agree on the last delivery', () => {
    const config = loadConfig({ ...MINIMAL, AzureFunctionsJobHost__extensions__queues__maxDequeueCount: '8' });
    expect(config.maxDequeueCount).toBe(8);
  });

  it('returns a deeply frozen object', () => {
    const config = loadConfig({ ...MINIMAL, NC_DEFAULT_AUTH_MODE: 'x509', NC_DEFAULT_CLIENT_PFX_BASE64: PFX_OPEN });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.tables)).toBe(true);
    expect(Object.isFrozen(config.step)).toBe(true);
    expect(Object.isFrozen(config.http)).toBe(true);
    expect(Object.isFrozen(config.networkControllerDefaults)).toBe(true);
    expect(Object.isFrozen(config.networkControllers)).toBe(true);
    const controller = config.networkControllers.get('default');
    expect(Object.isFrozen(controller)).toBe(true);
    expect(Object.isFrozen(controller?.auth)).toBe(true);
    expect(() => {
      (config as { maxDequeueCount: number }).maxDequeueCount = 1;
    }).toThrow(TypeError);
    expect(() => {
      (config.step as { leaseInMs: number }).leaseInMs = 1;
    }).toThrow(TypeError);
  });

  it.each([
    ['APP_ENVIRONMENT', 'Development', (c: ReturnType<typeof loadConfig>) => c.environment, 'Development'],
    ['STATE_TABLE_NAME', 'attachmentsLab2', (c: ReturnType<typeof loadConfig>) => c.tables.state, 'attachmentsLab2'],
    ['STEP_INLINE_WAIT_MS', '0', (c: ReturnType<typeof loadConfig>) => c.step.inlineWaitInMs, 0],
    ['STEP_LEASE_MS', '600000', (c: ReturnType<typeof loadConfig>) => c.step.leaseInMs, 600_000],
    ['STATUS_RETRY_AFTER_SECONDS', '10', (c: ReturnType<typeof loadConfig>) => c.http.statusRetryAfterInSeconds, 10],
    ['LIST_PAGE_SIZE_MAX', '1000', (c: ReturnType<typeof loadConfig>) => c.http.listPageSizeMax, 1_000],
    [
      'NETWORK_CONTROLLER_TIMEOUT_MS',
      '100',
      (c: ReturnType<typeof loadConfig>) => c.networkControllerDefaults.timeoutInMs,
      100,
    ],
    [
      'NETWORK_CONTROLLER_MAX_RETRIES',
      '0',
      (c: ReturnType<typeof loadConfig>) => c.networkControllerDefaults.maxRetries,
      0,
    ],
    [
      'NETWORK_CONTROLLER_POLL_INTERVAL_MS',
      '250',
      (c: ReturnType<typeof loadConfig>) => c.networkControllerDefaults.pollIntervalInMs,
      250,
    ],
  ])('reads %s=%s', (key, value, read, expected) => {
    expect(read(loadConfig({ ...MINIMAL, [key]: value }))).toBe(expected);
  });
});

describe('loadConfig: Network Controllers', () => {
  it.each([
    ['NC_LAB_2_URL', 'lab-2'],
    ['NC_WEST_EU_URL', 'west-eu'],
    ['NC_DC1_URL', 'dc1'],
  ])('names the controller of %s %s', (key, name) => {
    const config = loadConfig({ ...MINIMAL, [key]: 'https://nc2.contoso.local/networking/v1' });
    expect([...config.networkControllers.keys()].sort()).toEqual(['default', name].sort());
    expect(config.networkControllers.get(name)).toMatchObject({ name, url: 'https://nc2.contoso.local/networking/v1' });
  });

  it('configures a controller without NC_DEFAULT_URL when another one is named', () => {
    const config = loadConfig({
      AzureWebJobsStorage: 'x',
      NC_LAB_URL: 'https://lab.contoso.local/networking/v1',
      WEBSITE_AUTH_ENABLED: 'true',
    });
    expect([...config.networkControllers.keys()]).toEqual(['lab']);
  });

  it('drops trailing slashes from the URL', () => {
    const config = loadConfig({ ...MINIMAL, NC_DEFAULT_URL: 'https://nc.contoso.local/networking/v1//' });
    expect(config.networkControllers.get('default')?.url).toBe('https://nc.contoso.local/networking/v1');
  });

  it('reads x509 client authentication from a PEM pair, and a private CA', () => {
    const config = loadConfig({
      ...MINIMAL,
      NC_DEFAULT_AUTH_MODE: 'x509',
      NC_DEFAULT_CLIENT_CERT_PEM: CERT_PEM,
      NC_DEFAULT_CLIENT_KEY_PEM: KEY_PEM,
      NC_DEFAULT_CA_PEM: CA_PEM,
    });
    expect(config.networkControllers.get('default')).toEqual({
      name: 'default',
      url: MINIMAL.NC_DEFAULT_URL,
      auth: { mode: 'x509', certPem: CERT_PEM, keyPem: KEY_PEM },
      caCertPem: CA_PEM,
      insecureSkipTlsVerify: false,
    });
  });

  it.each([
    ['with a passphrase', PFX_SECRET, { NC_DEFAULT_CLIENT_PFX_PASSPHRASE: 'secret' }, 'secret'],
    ['without a passphrase', PFX_OPEN, {}, undefined],
    ['with an empty passphrase (unset)', PFX_OPEN, { NC_DEFAULT_CLIENT_PFX_PASSPHRASE: '' }, undefined],
  ])('reads x509 client authentication from a PFX %s', (_name, pfx, extra, passphrase) => {
    const config = loadConfig({
      ...MINIMAL,
      NC_DEFAULT_AUTH_MODE: 'x509',
      NC_DEFAULT_CLIENT_PFX_BASE64: pfx,
      ...extra,
    });
    expect(config.networkControllers.get('default')?.auth).toEqual({
      mode: 'x509',
      pfxBase64: pfx,
      pfxPassphrase: passphrase,
    });
  });

  it.each([
    ['true', true],
    ['1', true],
    ['false', false],
    ['0', false],
  ])('allows INSECURE_SKIP_TLS_VERIFY=%s in Development', (value, expected) => {
    const config = loadConfig({
      ...MINIMAL,
      APP_ENVIRONMENT: 'Development',
      NC_DEFAULT_INSECURE_SKIP_TLS_VERIFY: value,
    });
    expect(config.networkControllers.get('default')?.insecureSkipTlsVerify).toBe(expected);
  });

  it.each([
    ['in Production', { APP_ENVIRONMENT: 'Production', NC_DEFAULT_INSECURE_SKIP_TLS_VERIFY: 'true' }],
    ['when APP_ENVIRONMENT is unset', { NC_DEFAULT_INSECURE_SKIP_TLS_VERIFY: 'true' }],
    ['given as 1 outside Development', { NC_DEFAULT_INSECURE_SKIP_TLS_VERIFY: '1' }],
  ])('refuses INSECURE_SKIP_TLS_VERIFY %s', (_name, extra) => {
    expect(problemsOf({ ...MINIMAL, ...extra })).toEqual([
      expect.stringContaining(
        'NC_DEFAULT_INSECURE_SKIP_TLS_VERIFY: refusing to turn TLS verification off outside APP_ENVIRONMENT=Development',
      ),
    ]);
  });

  it('allows INSECURE_SKIP_TLS_VERIFY=false in Production', () => {
    const config = loadConfig({ ...MINIMAL, NC_DEFAULT_INSECURE_SKIP_TLS_VERIFY: 'false' });
    expect(config.networkControllers.get('default')?.insecureSkipTlsVerify).toBe(false);
  });
});

describe('loadConfig: problems', () => {
  it.each<[string, NodeJS.ProcessEnv, string]>([
    [
      'a missing storage connection',
      { NC_DEFAULT_URL: MINIMAL.NC_DEFAULT_URL, WEBSITE_AUTH_ENABLED: 'true' },
      'AzureWebJobsStorage: is required',
    ],
    ['an empty storage connection', { ...MINIMAL, AzureWebJobsStorage: '' }, 'AzureWebJobsStorage: is required'],
    [
      'no controller',
      { AzureWebJobsStorage: 'x', WEBSITE_AUTH_ENABLED: 'true' },
      'NC_DEFAULT_URL: at least one Network Controller must be configured',
    ],
    [
      'an http URL',
      { ...MINIMAL, NC_DEFAULT_URL: 'http://nc.contoso.local/networking/v1' },
      'NC_DEFAULT_URL: must use https',
    ],
    [
      'a relative URL',
      { ...MINIMAL, NC_DEFAULT_URL: 'nc.contoso.local/networking/v1' },
      'NC_DEFAULT_URL: must be an absolute URL',
    ],
    [
      'an empty URL (counts as not set)',
      { ...MINIMAL, NC_DEFAULT_URL: '' },
      'NC_DEFAULT_URL: at least one Network Controller must be configured',
    ],
    [
      'credentials in the URL',
      { ...MINIMAL, NC_DEFAULT_URL: 'https://admin:pw@nc.contoso.local/networking/v1' },
      'NC_DEFAULT_URL: must not carry credentials or a query string',
    ],
    [
      'a query string in the URL',
      { ...MINIMAL, NC_DEFAULT_URL: 'https://nc.contoso.local/networking/v1?sig=abc' },
      'NC_DEFAULT_URL: must not carry credentials or a query string',
    ],
    ['a bad number', { ...MINIMAL, STEP_LEASE_MS: 'soon' }, 'STEP_LEASE_MS: must be a number'],
    [
      'a fractional number',
      { ...MINIMAL, NETWORK_CONTROLLER_MAX_RETRIES: '1.5' },
      'NETWORK_CONTROLLER_MAX_RETRIES: must be a whole number',
    ],
    ['a number below its minimum', { ...MINIMAL, STEP_LEASE_MS: '999' }, 'STEP_LEASE_MS: must be at least 1000'],
    [
      'a number above its maximum',
      { ...MINIMAL, NETWORK_CONTROLLER_MAX_RETRIES: '11' },
      'NETWORK_CONTROLLER_MAX_RETRIES: must be at most 10',
    ],
    [
      'maxDequeueCount of 0',
      { ...MINIMAL, AzureFunctionsJobHost__extensions__queues__maxDequeueCount: '0' },
      'AzureFunctionsJobHost__extensions__queues__maxDequeueCount: must be at least 1',
    ],
    ['a bad table name', { ...MINIMAL, STATE_TABLE_NAME: 'my-table' }, 'STATE_TABLE_NAME: must be a valid table name'],
    [
      'an unknown environment',
      { ...MINIMAL, APP_ENVIRONMENT: 'Staging' },
      'APP_ENVIRONMENT: must be Production or Development',
    ],
    [
      'x509 without a certificate',
      { ...MINIMAL, NC_DEFAULT_AUTH_MODE: 'x509' },
      'NC_DEFAULT_AUTH_MODE: x509 needs either NC_DEFAULT_CLIENT_CERT_PEM with NC_DEFAULT_CLIENT_KEY_PEM, or NC_DEFAULT_CLIENT_PFX_BASE64',
    ],
    [
      'x509 with a certificate but no key',
      { ...MINIMAL, NC_DEFAULT_AUTH_MODE: 'x509', NC_DEFAULT_CLIENT_CERT_PEM: CERT_PEM },
      'x509 needs either',
    ],
    [
      'x509 with both a PEM pair and a PFX',
      {
        ...MINIMAL,
        NC_DEFAULT_AUTH_MODE: 'x509',
        NC_DEFAULT_CLIENT_CERT_PEM: CERT_PEM,
        NC_DEFAULT_CLIENT_KEY_PEM: KEY_PEM,
        NC_DEFAULT_CLIENT_PFX_BASE64: PFX_OPEN,
      },
      'x509 needs either',
    ],
    [
      'an unknown auth mode',
      { ...MINIMAL, NC_DEFAULT_AUTH_MODE: 'kerberos' },
      'NC_DEFAULT_AUTH_MODE: must be none or x509',
    ],
    [
      'a bad INSECURE_SKIP_TLS_VERIFY',
      { ...MINIMAL, NC_DEFAULT_INSECURE_SKIP_TLS_VERIFY: 'yes' },
      'NC_DEFAULT_INSECURE_SKIP_TLS_VERIFY: must be true or false',
    ],
    [
      'a controller name longer than 32 characters',
      { ...MINIMAL, [`NC_${'A'.repeat(33)}_URL`]: MINIMAL.NC_DEFAULT_URL },
      `NC_${'A'.repeat(33)}_URL: controller name "${'a'.repeat(33)}" must match`,
    ],
  ])('reports %s', (_name, env, problem) => {
    expect(problemsOf(env)).toEqual([expect.stringContaining(problem)]);
  });

  it('reports every problem at once in one ConfigError', () => {
    let thrown: unknown;
    try {
      loadConfig({
        NC_DEFAULT_URL: 'http://nc.contoso.local/networking/v1',
        NC_DEFAULT_AUTH_MODE: 'x509',
        STEP_LEASE_MS: 'soon',
        NC_LAB_URL: 'https://lab.contoso.local/networking/v1',
        NC_LAB_INSECURE_SKIP_TLS_VERIFY: 'true',
        WEBSITE_AUTH_ENABLED: 'true',
      });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    const error = thrown as ConfigError;
    expect(error.code).toBe('InvalidConfiguration');
    expect(error.retryable).toBe(false);
    expect(error.problems).toEqual(
      expect.arrayContaining([
        expect.stringContaining('AzureWebJobsStorage: is required'),
        expect.stringContaining('STEP_LEASE_MS: must be a number'),
        expect.stringContaining('NC_DEFAULT_URL: must use https'),
        expect.stringContaining('NC_DEFAULT_AUTH_MODE: x509 needs either'),
        expect.stringContaining('NC_LAB_INSECURE_SKIP_TLS_VERIFY: refusing'),
      ]),
    );
    expect(error.problems).toHaveLength(5);
    for (const problem of error.problems) expect(error.message).toContain(`\n  - ${problem}`);
  });

  it('never puts a secret value into a problem', () => {
    const problems = problemsOf({
      ...MINIMAL,
      NC_DEFAULT_URL: 'https://admin:Pa55w0rd@nc.contoso.local/networking/v1',
      NC_DEFAULT_AUTH_MODE: 'x509',
      NC_DEFAULT_CLIENT_KEY_PEM: KEY_PEM,
      NC_DEFAULT_CLIENT_PFX_PASSPHRASE: 'TopSecret',
    });
    expect(problems.join('\n')).not.toMatch(/Pa55w0rd|TopSecret|PRIVATE KEY/);
  });
});

describe('loadConfig: identity-based storage', () => {
  const NO_STORAGE = { NC_DEFAULT_URL: MINIMAL.NC_DEFAULT_URL, WEBSITE_AUTH_ENABLED: 'true' };
  const CLIENT_ID = '6f1c2a8e-3b4d-4e5f-8a9b-0c1d2e3f4a5b';

  it('builds the endpoints from AzureWebJobsStorage__accountName, with the user-assigned identity', () => {
    const config = loadConfig({
      ...NO_STORAGE,
      AzureWebJobsStorage__accountName: 'sdnattachstore',
      AzureWebJobsStorage__credential: 'managedidentity',
      AzureWebJobsStorage__clientId: CLIENT_ID,
    });
    expect(config.storage).toEqual({
      mode: 'identity',
      serviceUrls: {
        queue: 'https://sdnattachstore.queue.core.windows.net',
        table: 'https://sdnattachstore.table.core.windows.net',
      },
      managedIdentity: { kind: 'clientId', clientId: CLIENT_ID },
    });
  });

  it('prefers explicit service URIs, and uses the system-assigned identity without a client id', () => {
    const config = loadConfig({
      ...NO_STORAGE,
      AzureWebJobsStorage__accountName: 'sdnattachstore',
      AzureWebJobsStorage__queueServiceUri: 'https://queues.privatelink.contoso.net/',
      AzureWebJobsStorage__tableServiceUri: 'https://tables.privatelink.contoso.net',
      AzureWebJobsStorage__credential: 'ManagedIdentity',
    });
    expect(config.storage).toEqual({
      mode: 'identity',
      serviceUrls: {
        queue: 'https://queues.privatelink.contoso.net',
        table: 'https://tables.privatelink.contoso.net',
      },
      managedIdentity: { kind: 'systemAssigned' },
    });
  });

  it('takes a user-assigned identity by resource id', () => {
    const resourceId =
      '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-sdn/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-sdn';
    const config = loadConfig({
      ...NO_STORAGE,
      AzureWebJobsStorage__accountName: 'sdnattachstore',
      AzureWebJobsStorage__credential: 'managedidentity',
      AzureWebJobsStorage__managedIdentityResourceId: resourceId,
    });
    expect(config.storage).toMatchObject({ managedIdentity: { kind: 'resourceId', resourceId } });
  });

  it.each<[string, NodeJS.ProcessEnv, string[]]>([
    [
      'a connection string and identity settings',
      {
        AzureWebJobsStorage: 'UseDevelopmentStorage=true',
        AzureWebJobsStorage__accountName: 'sdnattachstore',
        AzureWebJobsStorage__credential: 'managedidentity',
      },
      [
        'AzureWebJobsStorage: set either a connection string or identity-based settings, not both (also set: ' +
          'AzureWebJobsStorage__accountName, AzureWebJobsStorage__credential)',
      ],
    ],
    [
      'no credential',
      { AzureWebJobsStorage__accountName: 'sdnattachstore' },
      ['AzureWebJobsStorage__credential: is required with identity-based settings (managedidentity)'],
    ],
    [
      'another credential',
      { AzureWebJobsStorage__accountName: 'sdnattachstore', AzureWebJobsStorage__credential: 'azurecli' },
      ['AzureWebJobsStorage__credential: must be managedidentity'],
    ],
    [
      'no account name and only one service URI',
      {
        AzureWebJobsStorage__queueServiceUri: 'https://sdnattachstore.queue.core.windows.net',
        AzureWebJobsStorage__credential: 'managedidentity',
      },
      ['AzureWebJobsStorage__tableServiceUri: is required unless AzureWebJobsStorage__accountName is set'],
    ],
    [
      'only a client id',
      { AzureWebJobsStorage__clientId: CLIENT_ID },
      [
        'AzureWebJobsStorage__queueServiceUri: is required unless AzureWebJobsStorage__accountName is set',
        'AzureWebJobsStorage__tableServiceUri: is required unless AzureWebJobsStorage__accountName is set',
        'AzureWebJobsStorage__credential: is required with identity-based settings (managedidentity)',
      ],
    ],
    [
      'an http service URI, a SAS in another, a bad account name and client id',
      {
        AzureWebJobsStorage__accountName: 'Not_An_Account',
        AzureWebJobsStorage__queueServiceUri: 'http://sdnattachstore.queue.core.windows.net',
        AzureWebJobsStorage__tableServiceUri: 'https://sdnattachstore.table.core.windows.net/?sv=2024&sig=SECRETSIG',
        AzureWebJobsStorage__credential: 'managedidentity',
        AzureWebJobsStorage__clientId: 'my-identity',
      },
      [
        'AzureWebJobsStorage__accountName: must be a storage account name (3-24 lowercase letters and digits)',
        'AzureWebJobsStorage__queueServiceUri: must use https (a token is never sent over http)',
        'AzureWebJobsStorage__tableServiceUri: must not carry credentials, a query string (SAS) or a fragment',
        'AzureWebJobsStorage__clientId: must be the client id (a GUID) of a user-assigned managed identity',
      ],
    ],
    [
      'both a client id and a resource id',
      {
        AzureWebJobsStorage__accountName: 'sdnattachstore',
        AzureWebJobsStorage__credential: 'managedidentity',
        AzureWebJobsStorage__clientId: CLIENT_ID,
        AzureWebJobsStorage__managedIdentityResourceId:
          '/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id',
      },
      ['AzureWebJobsStorage__clientId: set either it or AzureWebJobsStorage__managedIdentityResourceId, not both'],
    ],
  ])('names the setting for %s', (_name, extra, expected) => {
    const problems = problemsOf({ ...NO_STORAGE, ...extra });
    expect(problems).toEqual(expected);
    expect(problems.join('\n')).not.toMatch(/SECRETSIG|UseDevelopmentStorage/);
  });

  it('says what to set when there is no storage setting at all', () => {
    expect(problemsOf({ ...NO_STORAGE })).toEqual([
      'AzureWebJobsStorage: is required (a storage connection string, or identity-based settings: ' +
        'AzureWebJobsStorage__accountName or AzureWebJobsStorage__queueServiceUri and ' +
        'AzureWebJobsStorage__tableServiceUri, with AzureWebJobsStorage__credential=managedidentity)',
    ]);
  });
});

describe('loadConfig: caller identity', () => {
  const NO_AUTH = { AzureWebJobsStorage: MINIMAL.AzureWebJobsStorage, NC_DEFAULT_URL: MINIMAL.NC_DEFAULT_URL };

  it.each(['true', 'True', 'TRUE'])('reads WEBSITE_AUTH_ENABLED=%s as on', (value) => {
    expect(loadConfig({ ...NO_AUTH, WEBSITE_AUTH_ENABLED: value }).identity.platformAuthEnabled).toBe(true);
  });

  it.each<[string, NodeJS.ProcessEnv]>([
    ['absent', {}],
    ['empty', { WEBSITE_AUTH_ENABLED: '' }],
    ['false', { WEBSITE_AUTH_ENABLED: 'false' }],
    ['False', { WEBSITE_AUTH_ENABLED: 'False' }],
    ['absent with APP_ENVIRONMENT=Production', { APP_ENVIRONMENT: 'Production' }],
  ])('refuses to start in Production with App Service Authentication %s', (_name, extra) => {
    expect(problemsOf({ ...NO_AUTH, ...extra })).toEqual([
      'WEBSITE_AUTH_ENABLED: App Service Authentication must be enabled outside APP_ENVIRONMENT=Development; ' +
        'without it the caller identity would be unknown (see docs/identity.md)',
    ]);
  });

  it('reports the missing authentication together with every other problem', () => {
    const problems = problemsOf({ NC_DEFAULT_URL: MINIMAL.NC_DEFAULT_URL, STEP_LEASE_MS: 'soon' });
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^AzureWebJobsStorage: /),
        expect.stringMatching(/^STEP_LEASE_MS: /),
        expect.stringMatching(/^WEBSITE_AUTH_ENABLED: App Service Authentication must be enabled/),
      ]),
    );
  });

  it.each([
    [undefined, false],
    ['false', false],
    ['True', true],
  ])('starts in Development with WEBSITE_AUTH_ENABLED=%s (platformAuthEnabled %s)', (value, expected) => {
    const config = loadConfig({ ...NO_AUTH, APP_ENVIRONMENT: 'Development', WEBSITE_AUTH_ENABLED: value });
    expect(config.identity.platformAuthEnabled).toBe(expected);
  });

  it('reads the app role values, an empty setting meaning the default', () => {
    expect(
      loadConfig({ ...MINIMAL, AUTH_OPERATOR_ROLE: 'Network.Admin', AUTH_TENANT_ROLE: 'Network.Tenant' }).identity,
    ).toEqual({ platformAuthEnabled: true, operatorRole: 'Network.Admin', tenantRole: 'Network.Tenant' });
    expect(loadConfig({ ...MINIMAL, AUTH_OPERATOR_ROLE: '', AUTH_TENANT_ROLE: '' }).identity).toMatchObject({
      operatorRole: 'SdnAttach.Operator',
      tenantRole: 'SdnAttach.Tenant',
    });
  });

  it.each<[string, NodeJS.ProcessEnv, string]>([
    ['an unknown WEBSITE_AUTH_ENABLED', { WEBSITE_AUTH_ENABLED: 'yes' }, 'WEBSITE_AUTH_ENABLED: must be true or false'],
    ['a role with a space', { AUTH_OPERATOR_ROLE: 'Sdn Operator' }, 'AUTH_OPERATOR_ROLE: must be an app role value'],
    [
      'a role over 120 characters',
      { AUTH_TENANT_ROLE: 'r'.repeat(121) },
      'AUTH_TENANT_ROLE: must be an app role value',
    ],
    [
      'the same role for operators and tenants',
      { AUTH_OPERATOR_ROLE: 'SdnAttach.Tenant' },
      'AUTH_TENANT_ROLE: must differ from AUTH_OPERATOR_ROLE',
    ],
  ])('reports %s', (_name, extra, problem) => {
    expect(problemsOf({ ...MINIMAL, ...extra })).toEqual([expect.stringContaining(problem)]);
  });

  it('never echoes the value of a bad identity setting', () => {
    const secret = 'c2VjcmV0LXBhc3RlZC1pbnRvLXRoZS13cm9uZy1zZXR0aW5n';
    const problems = problemsOf({
      ...MINIMAL,
      WEBSITE_AUTH_ENABLED: secret,
      AUTH_OPERATOR_ROLE: `${secret} x`,
      AUTH_TENANT_ROLE: `${secret} y`,
    });
    expect(problems).toHaveLength(3);
    expect(problems.join('\n')).not.toContain(secret);
  });
});

describe('loadConfig: Key Vault', () => {
  it('has no vault unless KEY_VAULT_URL is set, and takes it without a trailing slash', () => {
    expect(loadConfig({ ...MINIMAL }).keyVault).toBeUndefined();
    expect(loadConfig({ ...MINIMAL, KEY_VAULT_URL: '' }).keyVault).toBeUndefined();
    expect(loadConfig({ ...MINIMAL, KEY_VAULT_URL: 'https://kv-lab.vault.azure.net/' }).keyVault).toEqual({
      url: 'https://kv-lab.vault.azure.net',
    });
  });

  it('refuses a vault URL that is not https, naming the setting', () => {
    expect(problemsOf({ ...MINIMAL, KEY_VAULT_URL: 'http://kv-lab.vault.azure.net' })).toEqual([
      expect.stringMatching(/^KEY_VAULT_URL: must be an https URL/),
    ]);
  });
});

describe('loadConfig: Application Insights', () => {
  const CONNECTION =
    'InstrumentationKey=00000000-0000-4000-8000-0000000000a1;IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/';

  it('exports nothing unless APPLICATIONINSIGHTS_CONNECTION_STRING is set', () => {
    expect(loadConfig({ ...MINIMAL }).applicationInsights).toBeUndefined();
    expect(loadConfig({ ...MINIMAL, APPLICATIONINSIGHTS_CONNECTION_STRING: '' }).applicationInsights).toBeUndefined();
  });

  it('takes the connection string, and ingestion by managed identity from the authentication string', () => {
    expect(loadConfig({ ...MINIMAL, APPLICATIONINSIGHTS_CONNECTION_STRING: CONNECTION }).applicationInsights).toEqual({
      connectionString: CONNECTION,
      auth: { mode: 'key' },
    });
    const clientId = '11111111-2222-4333-8444-555555555555';
    expect(
      loadConfig({
        ...MINIMAL,
        APPLICATIONINSIGHTS_CONNECTION_STRING: CONNECTION,
        APPLICATIONINSIGHTS_AUTHENTICATION_STRING: `Authorization=AAD;ClientId=${clientId}`,
      }).applicationInsights?.auth,
    ).toEqual({ mode: 'managedIdentity', clientId });
    expect(
      loadConfig({
        ...MINIMAL,
        APPLICATIONINSIGHTS_CONNECTION_STRING: CONNECTION,
        APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD',
      }).applicationInsights?.auth,
    ).toEqual({ mode: 'managedIdentity', clientId: undefined });
  });

  it('refuses a malformed connection or authentication string, naming the setting and never echoing it', () => {
    const problems = problemsOf({
      ...MINIMAL,
      APPLICATIONINSIGHTS_CONNECTION_STRING: 'Endpoint=https://evil.example;SharedAccessKey=s3cr3t',
      APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD;ClientSecret=s3cr3t',
    });
    expect(problems).toEqual([
      expect.stringMatching(
        /^APPLICATIONINSIGHTS_CONNECTION_STRING: must be an Application Insights connection string/,
      ),
      expect.stringMatching(/^APPLICATIONINSIGHTS_AUTHENTICATION_STRING: must be Authorization=AAD/),
    ]);
    expect(problems.join('\n')).not.toContain('s3cr3t');
  });
});

describe('GLOBAL_SETTINGS: the list deployment checks compare with (test/infra)', () => {
  const required = GLOBAL_SETTINGS.filter((setting) => setting.required).map((setting) => setting.name);

  it('marks as required exactly the settings without which the app refuses to start', () => {
    for (const name of required) {
      const env: NodeJS.ProcessEnv = { ...MINIMAL };
      delete env[name];
      expect(
        problemsOf(env).some((problem) => problem.startsWith(`${name}:`)),
        name,
      ).toBe(true);
    }
    // Everything else has a default: the minimal environment sets no other schema setting and loads.
    const others = GLOBAL_SETTINGS.filter((setting) => !setting.required).map((setting) => setting.name);
    expect(others.filter((name) => name in MINIMAL && name !== 'WEBSITE_AUTH_ENABLED')).toEqual([]);
    expect(() => loadConfig({ ...MINIMAL })).not.toThrow();
  });
});
