import { createSecureContext } from 'node:tls';

import { z } from 'zod';

import { ConfigError } from './errors';
import { CONTROLLER_NAME_PATTERN } from './model/attachRequest';
import { readStorageConnection, type StorageConnection } from './state/storageConnection';

/**
 * App-setting names used by bindings (`connection`), which must be names, never values. The app's own storage clients
 * read it as the host does: a connection string, or identity-based settings in its `AzureWebJobsStorage__` section.
 */
export const STORAGE_CONNECTION_SETTING = 'AzureWebJobsStorage';

export type NetworkControllerAuth =
  | { mode: 'none' }
  | { mode: 'x509'; certPem: string; keyPem: string }
  | { mode: 'x509'; pfxBase64: string; pfxPassphrase?: string };

export interface NetworkControllerSettings {
  name: string;
  /** Base URL including `/networking/v1`. */
  url: string;
  auth: NetworkControllerAuth;
  caCertPem?: string;
  /** Only ever true when APP_ENVIRONMENT is Development. */
  insecureSkipTlsVerify: boolean;
}

// An empty app setting means "not set" (the portal and local.settings.json both produce them), not zero.
const numberSetting = (fallback: number, min: number, max: number) =>
  z.preprocess((value) => (value === undefined || value === '' ? String(fallback) : value), numberInRange(min, max));

const numberInRange = (min: number, max: number) =>
  z.coerce
    .number({ error: 'must be a number' })
    .int({ error: 'must be a whole number' })
    .min(min, { error: `must be at least ${min}` })
    .max(max, { error: `must be at most ${max}` });

const tableName = (fallback: string) =>
  z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9]{2,62}$/, { error: 'must be a valid table name (3-63 letters and digits)' })
    .default(fallback);

// The value of an Entra ID app role as it arrives in the roles claim; an empty setting means the default.
const appRole = (fallback: string) =>
  z.preprocess(
    (value) => (value === undefined || value === '' ? fallback : value),
    z.string().regex(/^[\x21-\x7e]{1,120}$/, { error: 'must be an app role value (1-120 characters, no spaces)' }),
  );

const GlobalSettingsSchema = z.object({
  APP_ENVIRONMENT: z
    .enum(['Production', 'Development'], { error: 'must be Production or Development' })
    .default('Production'),
  STATE_TABLE_NAME: tableName('attachments'),
  TENANT_TABLE_NAME: tableName('tenants'),
  // The host's own override key for host.json, so the app and the host agree on the last delivery.
  AzureFunctionsJobHost__extensions__queues__maxDequeueCount: numberSetting(5, 1, 100),
  STEP_INLINE_WAIT_MS: numberSetting(5_000, 0, 60_000),
  // Longer than host.json functionTimeout (5 min): a live invocation's step is never run twice at once.
  STEP_LEASE_MS: numberSetting(360_000, 1_000, 3_600_000),
  STATUS_RETRY_AFTER_SECONDS: numberSetting(2, 1, 3_600),
  LIST_PAGE_SIZE_MAX: numberSetting(100, 1, 1_000),
  NETWORK_CONTROLLER_TIMEOUT_MS: numberSetting(30_000, 100, 600_000),
  NETWORK_CONTROLLER_MAX_RETRIES: numberSetting(3, 0, 10),
  NETWORK_CONTROLLER_RETRY_DELAY_MS: numberSetting(500, 0, 60_000),
  NETWORK_CONTROLLER_MAX_RETRY_DELAY_MS: numberSetting(8_000, 0, 300_000),
  NETWORK_CONTROLLER_POLL_INTERVAL_MS: numberSetting(1_000, 10, 60_000),
  NETWORK_CONTROLLER_OPERATION_TIMEOUT_MS: numberSetting(300_000, 1_000, 3_600_000),
  NETWORK_READ_MAX_AGE_MS: numberSetting(10_000, 0, 600_000),
  NIC_BATCH_WINDOW_MS: numberSetting(100, 0, 5_000),
  MACHINE_TASK_TABLE_NAME: tableName('machinetasks'),
  MACHINE_TASK_REUSE_MS: numberSetting(3_600_000, 0, 30 * 24 * 3_600_000),
  INSPECTION_REUSE_MS: numberSetting(30_000, 0, 3_600_000),
  ARM_ENDPOINT: z
    .url({ protocol: /^https$/, error: 'must be an https URL such as https://management.azure.com' })
    .default('https://management.azure.com'),
  ARM_AUTH_MODE: z
    .enum(['managedIdentity', 'none'], { error: 'must be managedIdentity or none' })
    .default('managedIdentity'),
  ARM_MANAGED_IDENTITY_CLIENT_ID: z.string().optional(),
  ARM_CA_PEM: z.string().optional(),
  ARM_TIMEOUT_MS: numberSetting(30_000, 100, 600_000),
  ARM_MAX_RETRIES: numberSetting(3, 0, 10),
  RUN_COMMAND_POLL_INTERVAL_MS: numberSetting(10_000, 10, 600_000),
  KEY_VAULT_URL: z.preprocess(
    (value) => (value === '' ? undefined : value),
    z.url({ protocol: /^https$/, error: 'must be an https URL such as https://<vault>.vault.azure.net' }).optional(),
  ),
  ARC_DEFAULT_SUBSCRIPTION_ID: z
    .string()
    .regex(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, {
      error: 'must be a subscription GUID',
    })
    .optional(),
  ARC_DEFAULT_RESOURCE_GROUP: z.string().min(1).max(90).optional(),
  // Injected by App Service ("True" or "true") when its authentication is on; absent means off.
  WEBSITE_AUTH_ENABLED: z.preprocess(
    (value) =>
      value === undefined || value === '' ? 'false' : typeof value === 'string' ? value.toLowerCase() : value,
    z.enum(['true', 'false'], { error: 'must be true or false (App Service sets it)' }).transform((v) => v === 'true'),
  ),
  AUTH_OPERATOR_ROLE: appRole('SdnAttach.Operator'),
  AUTH_TENANT_ROLE: appRole('SdnAttach.Tenant'),
  // The host's own settings for Application Insights; set, the app exports its telemetry too (docs/telemetry.md).
  APPLICATIONINSIGHTS_CONNECTION_STRING: z.preprocess(
    (value) => (value === '' ? undefined : value),
    z
      .string()
      .regex(/(^|;)\s*InstrumentationKey=[0-9a-fA-F-]{36}\s*(;|$)/, {
        error: 'must be an Application Insights connection string (InstrumentationKey=<GUID>;IngestionEndpoint=...)',
      })
      .optional(),
  ),
  // "Authorization=AAD" (system-assigned identity) or "Authorization=AAD;ClientId=<GUID>": ingestion by identity.
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: z.preprocess(
    (value) => (value === '' ? undefined : value),
    z
      .string()
      .regex(
        /^Authorization=AAD(;ClientId=[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})?$/,
        {
          error: 'must be Authorization=AAD, optionally followed by ;ClientId=<managed identity client id>',
        },
      )
      .optional(),
  ),
});

/**
 * The settings the schema reads, and whether the app refuses to start without one (no default): for checks that
 * compare a deployment's app settings with what the app reads (test/infra). Controllers add `NC_<NAME>_<suffix>`.
 */
export const GLOBAL_SETTINGS: readonly { name: string; required: boolean }[] = Object.entries(
  GlobalSettingsSchema.shape,
).map(([name, schema]) => ({ name, required: !schema.safeParse(undefined).success }));

/** The settings of one Network Controller, each named `NC_<NAME>_` plus one of these. */
export const CONTROLLER_SETTING_SUFFIXES = [
  'URL',
  'AUTH_MODE',
  'CLIENT_CERT_PEM',
  'CLIENT_KEY_PEM',
  'CLIENT_PFX_BASE64',
  'CLIENT_PFX_PASSPHRASE',
  'CA_PEM',
  'INSECURE_SKIP_TLS_VERIFY',
] as const;

export interface AppConfig {
  environment: 'Production' | 'Development';
  /** A connection string, or identity-based queue and table endpoints with the managed identity to use. */
  storage: StorageConnection;
  tables: { state: string; tenants: string };
  maxDequeueCount: number;
  step: { inlineWaitInMs: number; leaseInMs: number };
  http: { statusRetryAfterInSeconds: number; listPageSizeMax: number };
  networkControllerDefaults: {
    timeoutInMs: number;
    maxRetries: number;
    retryDelayInMs: number;
    maxRetryDelayInMs: number;
    pollIntervalInMs: number;
    operationTimeoutInMs: number;
    /** How long one read of a virtual network (its subnets and their NICs), and ACL and server reads, serve later attachments. */
    networkReadMaxAgeInMs: number;
    /** How long a write to a NIC in a burst of writes waits for more additions (an idle NIC is written at once). */
    batchWindowInMs: number;
  };
  networkControllers: ReadonlyMap<string, NetworkControllerSettings>;
  machineTasks: { table: string; reuseForInMs: number; inspectionReuseForInMs: number };
  arm: {
    endpoint: string;
    auth: { mode: 'managedIdentity'; clientId?: string } | { mode: 'none' };
    caCertPem?: string;
    timeoutInMs: number;
    maxRetries: number;
    pollIntervalInMs: number;
    defaults: { subscriptionId?: string; resourceGroup?: string };
  };
  /** The vault of the guest credentials (VMs reached through their Hyper-V host); read with ARM's identity and CA. */
  keyVault?: { url: string };
  /** Who is calling: App Service Authentication's x-ms-client-principal is trusted only when the platform says it is on. */
  identity: { platformAuthEnabled: boolean; operatorRole: string; tenantRole: string };
  /** Where the app's own traces and logs go; absent, they stay in the host's console only. */
  applicationInsights?: {
    connectionString: string;
    auth: { mode: 'key' } | { mode: 'managedIdentity'; clientId?: string };
  };
}

const CONTROLLER_URL_KEY = /^NC_([A-Z0-9_]+)_URL$/;

function controllerSettings(env: NodeJS.ProcessEnv, development: boolean, problems: string[]) {
  const controllers = new Map<string, NetworkControllerSettings>();
  for (const key of Object.keys(env)) {
    const match = CONTROLLER_URL_KEY.exec(key);
    if (!match?.[1]) continue;
    const prefix = `NC_${match[1]}_`;
    const name = match[1].toLowerCase().replaceAll('_', '-');
    if (!CONTROLLER_NAME_PATTERN.test(name)) {
      problems.push(`${key}: controller name "${name}" must match ${CONTROLLER_NAME_PATTERN.source}`);
      continue;
    }
    const get = (suffix: (typeof CONTROLLER_SETTING_SUFFIXES)[number]) => {
      const value = env[prefix + suffix];
      return value === undefined || value === '' ? undefined : value;
    };
    const url = get('URL') ?? '';
    let parsedUrl: URL | undefined;
    try {
      parsedUrl = new URL(url);
    } catch {
      problems.push(`${key}: must be an absolute URL such as https://nc.contoso.local/networking/v1`);
    }
    if (parsedUrl && parsedUrl.protocol !== 'https:') {
      problems.push(`${key}: must use https (the Network Controller serves its northbound API over TLS only)`);
    }
    if (parsedUrl && (parsedUrl.username || parsedUrl.password || parsedUrl.search)) {
      problems.push(`${key}: must not carry credentials or a query string`);
    }
    const mode = get('AUTH_MODE') ?? 'none';
    let auth: NetworkControllerAuth = { mode: 'none' };
    if (mode === 'x509') {
      const certPem = get('CLIENT_CERT_PEM');
      const keyPem = get('CLIENT_KEY_PEM');
      const pfxBase64 = get('CLIENT_PFX_BASE64');
      if (pfxBase64 && !certPem && !keyPem)
        auth = { mode: 'x509', pfxBase64, pfxPassphrase: get('CLIENT_PFX_PASSPHRASE') };
      else if (certPem && keyPem && !pfxBase64) auth = { mode: 'x509', certPem, keyPem };
      else
        problems.push(
          `${prefix}AUTH_MODE: x509 needs either ${prefix}CLIENT_CERT_PEM with ${prefix}CLIENT_KEY_PEM, or ${prefix}CLIENT_PFX_BASE64`,
        );
    } else if (mode !== 'none') {
      problems.push(`${prefix}AUTH_MODE: must be none or x509 (Kerberos needs a domain-joined client)`);
    }
    const unusable = unusableTlsMaterial(auth, get('CA_PEM'));
    if (unusable) problems.push(`${prefix}${unusable}`);
    const insecure = get('INSECURE_SKIP_TLS_VERIFY');
    const insecureSkipTlsVerify = insecure === 'true' || insecure === '1';
    if (insecure !== undefined && !['true', 'false', '1', '0'].includes(insecure)) {
      problems.push(`${prefix}INSECURE_SKIP_TLS_VERIFY: must be true or false`);
    }
    if (insecureSkipTlsVerify && !development) {
      problems.push(
        `${prefix}INSECURE_SKIP_TLS_VERIFY: refusing to turn TLS verification off outside APP_ENVIRONMENT=Development; set ${prefix}CA_PEM to trust a private CA instead`,
      );
    }
    controllers.set(name, {
      name,
      url: url.replace(/\/+$/, ''),
      auth,
      caCertPem: get('CA_PEM'),
      insecureSkipTlsVerify,
    });
  }
  return controllers;
}

/**
 * Loads the client certificate, key and CA the way the TLS stack will, so a wrong passphrase or a broken PEM is a
 * configuration problem reported at start-up, not a failure on every request. Names the setting, never its value.
 */
function unusableTlsMaterial(auth: NetworkControllerAuth, caCertPem: string | undefined): string | undefined {
  const attempt = (setting: string, load: () => void) => {
    try {
      load();
      return undefined;
    } catch (error) {
      const reason = /mac verify|bad decrypt|passphrase/i.test(String(error))
        ? 'wrong passphrase or damaged PFX'
        : 'cannot be loaded';
      return `${setting}: ${reason}`;
    }
  };
  if (caCertPem) {
    const problem = attempt('CA_PEM', () => createSecureContext({ ca: caCertPem }));
    if (problem) return problem;
  }
  if (auth.mode !== 'x509') return undefined;
  if ('pfxBase64' in auth) {
    return attempt('CLIENT_PFX_BASE64', () =>
      createSecureContext({ pfx: Buffer.from(auth.pfxBase64, 'base64'), passphrase: auth.pfxPassphrase }),
    );
  }
  return attempt('CLIENT_CERT_PEM', () => createSecureContext({ cert: auth.certPem, key: auth.keyPem }));
}

/** Parses settings from an environment; every problem is reported at once in one ConfigError. */
export function loadConfig(rawEnv: NodeJS.ProcessEnv): AppConfig {
  // An empty setting counts as not set (App Service and templates write empty values for unset parameters).
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(rawEnv).filter(([, value]) => value !== ''));
  const problems: string[] = [];
  const parsed = GlobalSettingsSchema.safeParse(env);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(`${issue.path.join('.')}: ${issue.message}`);
  }
  const development = env.APP_ENVIRONMENT === 'Development';
  const storage = readStorageConnection(STORAGE_CONNECTION_SETTING, env, ['queue', 'table']);
  problems.push(...storage.problems);
  const networkControllers = controllerSettings(env, development, problems);
  if (networkControllers.size === 0) {
    problems.push('NC_DEFAULT_URL: at least one Network Controller must be configured (NC_<NAME>_URL)');
  }
  if (parsed.success && parsed.data.ARM_AUTH_MODE === 'none' && !development) {
    problems.push(
      'ARM_AUTH_MODE: none (no token) is only for the local emulator; use managedIdentity outside APP_ENVIRONMENT=Development',
    );
  }
  const platformAuth = GlobalSettingsSchema.shape.WEBSITE_AUTH_ENABLED.safeParse(env.WEBSITE_AUTH_ENABLED);
  if (platformAuth.success && !platformAuth.data && !development) {
    problems.push(
      'WEBSITE_AUTH_ENABLED: App Service Authentication must be enabled outside APP_ENVIRONMENT=Development; without it the caller identity would be unknown (see docs/identity.md)',
    );
  }
  const operatorRole = GlobalSettingsSchema.shape.AUTH_OPERATOR_ROLE.safeParse(env.AUTH_OPERATOR_ROLE);
  const tenantRole = GlobalSettingsSchema.shape.AUTH_TENANT_ROLE.safeParse(env.AUTH_TENANT_ROLE);
  if (operatorRole.success && tenantRole.success && operatorRole.data === tenantRole.data) {
    problems.push(
      'AUTH_TENANT_ROLE: must differ from AUTH_OPERATOR_ROLE (every tenant principal would be an operator)',
    );
  }
  // A setting that was renamed would otherwise be ignored without a word, and the deployment run on the default.
  if (env.NIC_LIST_MAX_AGE_MS !== undefined) {
    problems.push('NIC_LIST_MAX_AGE_MS: renamed to NETWORK_READ_MAX_AGE_MS (step 1 no longer lists every NIC)');
  }
  if (!parsed.success || !storage.connection || problems.length > 0) throw new ConfigError(problems);
  const s = parsed.data;
  return deepFreeze({
    environment: s.APP_ENVIRONMENT,
    storage: storage.connection,
    tables: { state: s.STATE_TABLE_NAME, tenants: s.TENANT_TABLE_NAME },
    maxDequeueCount: s.AzureFunctionsJobHost__extensions__queues__maxDequeueCount,
    step: { inlineWaitInMs: s.STEP_INLINE_WAIT_MS, leaseInMs: s.STEP_LEASE_MS },
    http: { statusRetryAfterInSeconds: s.STATUS_RETRY_AFTER_SECONDS, listPageSizeMax: s.LIST_PAGE_SIZE_MAX },
    networkControllerDefaults: {
      timeoutInMs: s.NETWORK_CONTROLLER_TIMEOUT_MS,
      maxRetries: s.NETWORK_CONTROLLER_MAX_RETRIES,
      retryDelayInMs: s.NETWORK_CONTROLLER_RETRY_DELAY_MS,
      maxRetryDelayInMs: s.NETWORK_CONTROLLER_MAX_RETRY_DELAY_MS,
      pollIntervalInMs: s.NETWORK_CONTROLLER_POLL_INTERVAL_MS,
      operationTimeoutInMs: s.NETWORK_CONTROLLER_OPERATION_TIMEOUT_MS,
      networkReadMaxAgeInMs: s.NETWORK_READ_MAX_AGE_MS,
      batchWindowInMs: s.NIC_BATCH_WINDOW_MS,
    },
    networkControllers,
    machineTasks: {
      table: s.MACHINE_TASK_TABLE_NAME,
      reuseForInMs: s.MACHINE_TASK_REUSE_MS,
      inspectionReuseForInMs: s.INSPECTION_REUSE_MS,
    },
    arm: {
      endpoint: s.ARM_ENDPOINT.replace(/\/+$/, ''),
      auth:
        s.ARM_AUTH_MODE === 'none'
          ? { mode: 'none' }
          : { mode: 'managedIdentity', clientId: s.ARM_MANAGED_IDENTITY_CLIENT_ID || undefined },
      caCertPem: s.ARM_CA_PEM || undefined,
      timeoutInMs: s.ARM_TIMEOUT_MS,
      maxRetries: s.ARM_MAX_RETRIES,
      pollIntervalInMs: s.RUN_COMMAND_POLL_INTERVAL_MS,
      defaults: { subscriptionId: s.ARC_DEFAULT_SUBSCRIPTION_ID, resourceGroup: s.ARC_DEFAULT_RESOURCE_GROUP },
    },
    ...(s.KEY_VAULT_URL ? { keyVault: { url: s.KEY_VAULT_URL.replace(/\/+$/, '') } } : {}),
    identity: {
      platformAuthEnabled: s.WEBSITE_AUTH_ENABLED,
      operatorRole: s.AUTH_OPERATOR_ROLE,
      tenantRole: s.AUTH_TENANT_ROLE,
    },
    ...(s.APPLICATIONINSIGHTS_CONNECTION_STRING
      ? {
          applicationInsights: {
            connectionString: s.APPLICATIONINSIGHTS_CONNECTION_STRING,
            auth: s.APPLICATIONINSIGHTS_AUTHENTICATION_STRING
              ? {
                  mode: 'managedIdentity' as const,
                  clientId: /ClientId=(.+)$/.exec(s.APPLICATIONINSIGHTS_AUTHENTICATION_STRING)?.[1],
                }
              : { mode: 'key' as const },
          },
        }
      : {}),
  });
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    if (value instanceof Map) {
      // Object.freeze does not stop Map#set; make the mutators throw like writes to a frozen object.
      for (const method of ['set', 'delete', 'clear']) {
        Object.defineProperty(value, method, {
          value: () => {
            throw new TypeError('The configuration is read-only.');
          },
        });
      }
    }
    Object.freeze(value);
    const children = value instanceof Map ? [...value.values()] : Object.values(value);
    for (const child of children) deepFreeze(child);
  }
  return value;
}

let cached: AppConfig | undefined;

/** The process-wide configuration, read from the environment on first use. */
export function getConfig(): AppConfig {
  cached ??= loadConfig(process.env);
  return cached;
}
