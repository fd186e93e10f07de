import { rootCertificates } from 'node:tls';

import { TableClient, type TableServiceClientOptions } from '@azure/data-tables';
import { ManagedIdentityCredential, type TokenCredential } from '@azure/identity';
import { QueueServiceClient, type StoragePipelineOptions } from '@azure/storage-queue';

export type StorageService = 'queue' | 'table';

/** Which managed identity: the system-assigned one, or a user-assigned one by client id or resource id. */
export type ManagedIdentityChoice =
  { kind: 'systemAssigned' } | { kind: 'clientId'; clientId: string } | { kind: 'resourceId'; resourceId: string };

/**
 * How the app reaches its storage account, read the way the Functions host reads a storage connection: either a
 * connection string in the setting itself, or identity-based settings in its `__` section (account name or service
 * URIs, `credential=managedidentity`, optionally a user-assigned identity).
 */
export type StorageConnection =
  | { mode: 'connectionString'; connectionString: string }
  | {
      mode: 'identity';
      /** Service endpoints without a trailing slash, e.g. https://acct.queue.core.windows.net. */
      serviceUrls: Readonly<Partial<Record<StorageService, string>>>;
      managedIdentity: ManagedIdentityChoice;
    };

/** The identity-based keys of a connection section the app reads, as the host names them (`<connection>__<key>`). */
export const IDENTITY_KEYS = [
  'accountName',
  'queueServiceUri',
  'tableServiceUri',
  'credential',
  'clientId',
  'managedIdentityResourceId',
] as const;

const ACCOUNT_NAME = /^[a-z0-9]{3,24}$/;
const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const USER_ASSIGNED_IDENTITY_ID =
  /^\/subscriptions\/[^/]+\/resourcegroups\/[^/]+\/providers\/microsoft\.managedidentity\/userassignedidentities\/[^/]+$/i;

type Settings = Readonly<Record<string, string | undefined>>;

const valueOf = (settings: Settings, key: string): string | undefined => {
  const value = settings[key];
  return value === undefined || value === '' ? undefined : value;
};

/** The identity-based settings of connection `name` that are set, by their full names. */
export function identitySettingsOf(name: string, settings: Settings): string[] {
  return IDENTITY_KEYS.map((key) => `${name}__${key}`).filter((key) => valueOf(settings, key) !== undefined);
}

/**
 * Reads connection `name` for the services the caller uses. Every problem is named by its setting and reported at
 * once; values never appear in a problem (a connection string holds the account key).
 */
export function readStorageConnection(
  name: string,
  settings: Settings,
  services: readonly StorageService[],
): { connection: StorageConnection; problems: [] } | { connection?: undefined; problems: string[] } {
  const connectionString = valueOf(settings, name);
  const identitySettings = identitySettingsOf(name, settings);
  if (connectionString !== undefined && identitySettings.length > 0) {
    return {
      problems: [
        `${name}: set either a connection string or identity-based settings, not both (also set: ${identitySettings.join(', ')})`,
      ],
    };
  }
  if (connectionString !== undefined)
    return { connection: { mode: 'connectionString', connectionString }, problems: [] };
  if (identitySettings.length === 0) {
    return {
      problems: [
        `${name}: is required (a storage connection string, or identity-based settings: ${name}__accountName or ` +
          `${name}__queueServiceUri and ${name}__tableServiceUri, with ${name}__credential=managedidentity)`,
      ],
    };
  }

  const problems: string[] = [];
  const get = (key: (typeof IDENTITY_KEYS)[number]) => valueOf(settings, `${name}__${key}`);
  const accountName = get('accountName');
  if (accountName !== undefined && !ACCOUNT_NAME.test(accountName)) {
    problems.push(`${name}__accountName: must be a storage account name (3-24 lowercase letters and digits)`);
  }
  const serviceUrls: Partial<Record<StorageService, string>> = {};
  for (const service of services) {
    const key = `${service}ServiceUri` as const;
    const explicit = get(key);
    // As in the host: an explicit service URI wins; the account name stands for the public cloud's endpoints.
    if (explicit === undefined) {
      if (accountName === undefined) {
        problems.push(`${name}__${key}: is required unless ${name}__accountName is set`);
      } else {
        serviceUrls[service] = `https://${accountName}.${service}.core.windows.net`;
      }
      continue;
    }
    const problem = serviceUrlProblem(explicit);
    if (problem) problems.push(`${name}__${key}: ${problem}`);
    else serviceUrls[service] = explicit.replace(/\/+$/, '');
  }

  const credential = get('credential');
  if (credential === undefined) {
    problems.push(`${name}__credential: is required with identity-based settings (managedidentity)`);
  } else if (credential.toLowerCase() !== 'managedidentity') {
    problems.push(`${name}__credential: must be managedidentity`);
  }
  const clientId = get('clientId');
  const resourceId = get('managedIdentityResourceId');
  if (clientId !== undefined && !GUID.test(clientId)) {
    problems.push(`${name}__clientId: must be the client id (a GUID) of a user-assigned managed identity`);
  }
  if (resourceId !== undefined && !USER_ASSIGNED_IDENTITY_ID.test(resourceId)) {
    problems.push(
      `${name}__managedIdentityResourceId: must be the resource id of a user-assigned managed identity ` +
        '(/subscriptions/.../providers/Microsoft.ManagedIdentity/userAssignedIdentities/...)',
    );
  }
  if (clientId !== undefined && resourceId !== undefined) {
    problems.push(`${name}__clientId: set either it or ${name}__managedIdentityResourceId, not both`);
  }
  if (problems.length > 0) return { problems };
  const managedIdentity: ManagedIdentityChoice =
    clientId !== undefined
      ? { kind: 'clientId', clientId }
      : resourceId !== undefined
        ? { kind: 'resourceId', resourceId }
        : { kind: 'systemAssigned' };
  return { connection: { mode: 'identity', serviceUrls, managedIdentity }, problems: [] };
}

function serviceUrlProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an absolute URL such as https://<account>.queue.core.windows.net';
  }
  // The SDK refuses to send a bearer token over http, and so does the service.
  if (url.protocol !== 'https:') return 'must use https (a token is never sent over http)';
  if (url.username || url.password || url.search || url.hash) {
    return 'must not carry credentials, a query string (SAS) or a fragment';
  }
  return undefined;
}

/** What a storage client may be given instead of the defaults. */
export interface StorageClientOptions {
  /** Used instead of the configured managed identity (tests give a token source of their own). */
  credential?: TokenCredential;
  /** Extra trusted CA (PEM) on top of the public roots, e.g. an emulator's dev CA. Verification is never off. */
  caCertPem?: string;
}

/** The token source for an identity-based connection: the managed identity it names, unless one is given. */
export function storageCredential(
  managedIdentity: ManagedIdentityChoice,
  options: StorageClientOptions = {},
): TokenCredential {
  if (options.credential) return options.credential;
  switch (managedIdentity.kind) {
    case 'clientId':
      return new ManagedIdentityCredential({ clientId: managedIdentity.clientId });
    case 'resourceId':
      return new ManagedIdentityCredential({ resourceId: managedIdentity.resourceId });
    case 'systemAssigned':
      return new ManagedIdentityCredential();
  }
}

function tlsOptions(options: StorageClientOptions): { tlsOptions?: { ca: string[] } } {
  // `ca` replaces Node's default roots, so the public ones go in too.
  return options.caCertPem === undefined ? {} : { tlsOptions: { ca: [...rootCertificates, options.caCertPem] } };
}

function serviceUrlOf(connection: Extract<StorageConnection, { mode: 'identity' }>, service: StorageService): string {
  const url = connection.serviceUrls[service];
  if (url === undefined) throw new RangeError(`The storage connection has no ${service} service URI.`);
  return url;
}

/** A table client for the connection; Azurite's http endpoints need the SDK's explicit opt-in. */
export function tableClientFor(
  connection: StorageConnection,
  tableName: string,
  options: StorageClientOptions = {},
): TableClient {
  if (connection.mode === 'connectionString') {
    const allowInsecureConnection = /(TableEndpoint|DefaultEndpointsProtocol)=http[:;]/i.test(
      connection.connectionString,
    );
    return TableClient.fromConnectionString(connection.connectionString, tableName, {
      allowInsecureConnection,
      ...tlsOptions(options),
    });
  }
  const clientOptions: TableServiceClientOptions = tlsOptions(options);
  return new TableClient(
    serviceUrlOf(connection, 'table'),
    tableName,
    storageCredential(connection.managedIdentity, options),
    clientOptions,
  );
}

/** A queue service client for the connection, with the caller's pipeline settings (retries, for instance). */
export function queueServiceClientFor(
  connection: StorageConnection,
  options: StorageClientOptions = {},
  pipeline: StoragePipelineOptions = {},
): QueueServiceClient {
  // StoragePipelineOptions does not declare tlsOptions, but the queue SDK hands its options to the core pipeline,
  // which applies them; test/shared/state/storageConnection.test.ts proves the CA is what makes TLS succeed.
  const pipelineOptions: StoragePipelineOptions = { ...pipeline, ...tlsOptions(options) };
  if (connection.mode === 'connectionString') {
    return QueueServiceClient.fromConnectionString(connection.connectionString, pipelineOptions);
  }
  return new QueueServiceClient(
    serviceUrlOf(connection, 'queue'),
    storageCredential(connection.managedIdentity, options),
    pipelineOptions,
  );
}
