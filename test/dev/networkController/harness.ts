import { request as httpsRequest } from 'node:https';

import { expect } from 'vitest';

import {
  type NetworkControllerEmulatorOptions,
  type RunningNetworkControllerEmulator,
  startNetworkControllerEmulator,
} from '../../../dev/networkController/emulator';
import { createDevCertificateAuthority, type DevCertificateAuthority } from '../../../dev/tls';

export interface ErrorBody {
  error: { code: string; message: string; target?: string; details?: unknown[] };
}

export interface Reference {
  resourceRef: string;
}

export interface ConfigurationStateBody {
  status: string;
  detailedInfo: { source: string; message: string; code: string }[];
  lastUpdatedTime: string;
  id: string;
}

interface Envelope<P> {
  resourceRef: string;
  resourceId: string;
  etag: string;
  instanceId: string;
  tags?: Record<string, string>;
  properties: P & { provisioningState: string; [name: string]: unknown };
}

export type IpConfigurationBody = Envelope<{
  privateIPAddress?: string;
  privateIPAllocationMethod?: string;
  subnet?: Reference;
  accessControlList?: Reference;
}>;

export type NicBody = Envelope<{
  ipConfigurations: IpConfigurationBody[];
  privateMacAddress?: string;
  privateMacAllocationMethod?: string;
  configurationState?: ConfigurationStateBody;
}>;

export type SubnetBody = Envelope<{
  addressPrefix: string;
  ipConfigurations: Reference[];
  accessControlList?: Reference;
}>;

export type VirtualNetworkBody = Envelope<{ subnets: SubnetBody[]; addressSpace: { addressPrefixes: string[] } }>;

export type AclBody = Envelope<{
  aclRules: Envelope<{ type: string; action: string; priority: string }>[];
  ipConfigurations: Reference[];
  subnets: Reference[];
}>;

export interface ListBody<T> {
  value: T[];
  nextLink: string;
}

export interface OperationBody {
  status: string;
  error?: { code: string; message: string; details: unknown[] };
}

export interface HttpResult<T = ErrorBody> {
  status: number;
  headers: Record<string, string | undefined>;
  text: string;
  body: T;
}

export interface RequestOptions {
  body?: unknown;
  /** Sent as is, without JSON encoding. */
  rawBody?: string;
  headers?: Record<string, string>;
  clientCertificate?: { certPem: string; keyPem: string };
}

export interface Harness {
  ca: DevCertificateAuthority;
  emulator: RunningNetworkControllerEmulator;
  /** A request to an absolute path on the emulator's origin. */
  request<T = ErrorBody>(method: string, path: string, options?: RequestOptions): Promise<HttpResult<T>>;
  /** A request to a path relative to /networking/v1. */
  api<T = ErrorBody>(method: string, path: string, options?: RequestOptions): Promise<HttpResult<T>>;
  admin<T = ErrorBody>(method: string, path: string, body?: unknown): Promise<HttpResult<T>>;
  /** Polls an Azure-AsyncOperation URL until it leaves InProgress. */
  waitForOperation(url: string): Promise<OperationBody>;
  close(): Promise<void>;
}

export async function startHarness(
  options: Partial<NetworkControllerEmulatorOptions> = {},
  ca: DevCertificateAuthority = createDevCertificateAuthority(),
): Promise<Harness> {
  const server = ca.issueServerCertificate(['127.0.0.1', 'localhost']);
  const emulator = await startNetworkControllerEmulator({
    provisioningDelayInMs: 40,
    ...options,
    tls: { certPem: server.certPem, keyPem: server.keyPem, caCertPem: ca.caCertPem },
  });

  function request<T>(method: string, path: string, options: RequestOptions = {}): Promise<HttpResult<T>> {
    const url = new URL(path, emulator.origin);
    const payload = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
    const headers: Record<string, string> = { Accept: 'application/json', ...options.headers };
    if (payload !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
      headers['Content-Type'] = 'application/json; charset=UTF-8';
    }
    return new Promise((resolve, reject) => {
      const req = httpsRequest(
        url,
        {
          method,
          headers,
          ca: ca.caCertPem,
          agent: false,
          ...(options.clientCertificate === undefined
            ? {}
            : { cert: options.clientCertificate.certPem, key: options.clientCertificate.keyPem }),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const responseHeaders: Record<string, string | undefined> = {};
            for (const [name, value] of Object.entries(res.headers)) {
              responseHeaders[name] = Array.isArray(value) ? value.join(', ') : value;
            }
            resolve({
              status: res.statusCode ?? 0,
              headers: responseHeaders,
              text,
              body: (text === '' ? undefined : JSON.parse(text)) as T,
            });
          });
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  const api = <T>(method: string, path: string, options?: RequestOptions): Promise<HttpResult<T>> =>
    request<T>(method, `/networking/v1${path}`, options);

  return {
    ca,
    emulator,
    request,
    api,
    admin: (method, path, body) => request(method, `/_emulator${path}`, body === undefined ? {} : { body }),
    async waitForOperation(url) {
      const path = new URL(url).pathname;
      for (let attempt = 0; attempt < 200; attempt++) {
        const result = await request<OperationBody>('GET', path);
        if (result.status !== 200) throw new Error(`GET ${path} answered ${result.status}: ${result.text}`);
        if (result.body.status !== 'InProgress') return result.body;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      throw new Error(`${url} stayed InProgress`);
    },
    close: () => emulator.close(),
  };
}

export const SEED_NIC = 'ContainerHostVM1_Net0';

/** An ipConfiguration as a client writes it; tests mutate these freely to build bad requests. */
export interface IpConfigurationInput {
  resourceId?: string;
  instanceId?: string;
  properties: Record<string, unknown>;
}

export function staticIpConfiguration(
  resourceId: string,
  address: string,
  subnet = '/virtualNetworks/VNet1/subnets/Subnet1',
): IpConfigurationInput {
  return {
    resourceId,
    properties: {
      privateIPAddress: address,
      privateIPAllocationMethod: 'Static',
      subnet: { resourceRef: subnet },
      accessControlList: { resourceRef: '/accessControlLists/AllowAll' },
    },
  };
}

/** Vitest's asymmetric matchers are typed `any`; these keep the lint rules on unsafe `any` satisfied. */
export const match = {
  string: expect.any(String) as unknown,
  number: expect.any(Number) as unknown,
  array: expect.any(Array) as unknown,
  regex: (pattern: RegExp): unknown => expect.stringMatching(pattern) as unknown,
};
