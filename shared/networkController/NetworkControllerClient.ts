import { Agent } from 'node:https';

import axios, { type AxiosInstance, type AxiosResponse, isAxiosError } from 'axios';
import type { z } from 'zod';

import { RemoteServiceError } from '../errors';
import { exceedsCallBudget, parseRetryAfterInMs, retryDelayInMs } from '../http/retryPolicy';
import { tlsAgentOptions } from '../http/secureContext';
import { sleep } from '../http/sleep';
import { isRetryableResponse } from './controllerErrors';
import {
  type AccessControlList,
  AccessControlListSchema,
  aclPath,
  listSchema,
  type NetworkInterface,
  NetworkInterfaceSchema,
  nicPath,
  type OperationStatus,
  OperationStatusSchema,
  type Server,
  ServerSchema,
  subnetPath,
  subnetsPath,
  type VirtualSubnet,
  VirtualSubnetSchema,
} from './resources';

/** Options every call accepts, as in the Azure SDK guidelines. */
export interface OperationOptions {
  abortSignal?: AbortSignal;
  /** Per HTTP request, not for the whole call with its retries. */
  timeoutInMs?: number;
}

export interface WriteOptions extends OperationOptions {
  /** Sent as `If-Match`; the NIC's etag from the read this write is based on. */
  ifMatch?: string;
  /** Sent as `x-ms-client-request-id`; a repeat is answered with the original result. */
  clientRequestId?: string;
}

export type ClientTls =
  | { certPem: string; keyPem: string; caCertPem?: string; insecureSkipTlsVerify?: boolean }
  | { pfxBase64: string; pfxPassphrase?: string; caCertPem?: string; insecureSkipTlsVerify?: boolean }
  | { caCertPem?: string; insecureSkipTlsVerify?: boolean };

export interface NetworkControllerClientOptions {
  tls?: ClientTls;
  timeoutInMs?: number;
  maxRetries?: number;
  retryDelayInMs?: number;
  /** Longest in-process wait between retries; a longer `Retry-After` is handed to the queue instead. */
  maxRetryDelayInMs?: number;
  /** Tests inject their own instance; production builds one with the TLS agent. */
  httpClient?: AxiosInstance;
  onRetry?: (info: { method: string; path: string; attempt: number; delayInMs: number; reason: string }) => void;
}

export interface Versioned<T> {
  value: T;
  etag?: string;
}

export interface PutResult<T> extends Versioned<T> {
  statusCode: number;
  /** The `Azure-AsyncOperation` URL, when the controller runs the write asynchronously. */
  operationUrl?: string;
  requestId?: string;
}

/**
 * Client for the Network Controller northbound REST API (`/networking/v1`). Canonical camelCase paths, JSON
 * content type, weak etags passed through untouched, bounded retries for transient failures only; every failure
 * surfaces as a RemoteServiceError that keeps the controller's own code and message.
 */
export class NetworkControllerClient {
  readonly endpoint: string;
  private readonly origin: string;
  private readonly http: AxiosInstance;
  private readonly timeoutInMs: number;
  private readonly maxRetries: number;
  private readonly retryDelayInMs: number;
  private readonly maxRetryDelayInMs: number;
  private readonly onRetry?: NetworkControllerClientOptions['onRetry'];

  constructor(endpoint: string, options: NetworkControllerClientOptions = {}) {
    const url = new URL(endpoint);
    this.endpoint = url.toString().replace(/\/+$/, '');
    this.origin = url.origin;
    this.timeoutInMs = options.timeoutInMs ?? 30_000;
    this.maxRetries = options.maxRetries ?? 3;
    this.retryDelayInMs = options.retryDelayInMs ?? 500;
    this.maxRetryDelayInMs = options.maxRetryDelayInMs ?? 8_000;
    this.onRetry = options.onRetry;
    this.http = options.httpClient ?? axios.create({ httpsAgent: buildAgent(options.tls ?? {}), proxy: false });
  }

  /** A virtual network's subnets, each with its read-only `ipConfigurations` back-references. */
  async listVirtualSubnets(virtualNetworkId: string, options: OperationOptions = {}): Promise<VirtualSubnet[]> {
    const path = subnetsPath(virtualNetworkId);
    const response = await this.send('GET', path, undefined, options);
    return this.parse(listSchema(VirtualSubnetSchema), response, path).value;
  }

  async getNetworkInterface(nicId: string, options: OperationOptions = {}): Promise<Versioned<NetworkInterface>> {
    return this.getVersioned(nicPath(nicId), NetworkInterfaceSchema, options);
  }

  async getVirtualSubnet(
    virtualNetworkId: string,
    subnetId: string,
    options: OperationOptions = {},
  ): Promise<Versioned<VirtualSubnet>> {
    return this.getVersioned(subnetPath(virtualNetworkId, subnetId), VirtualSubnetSchema, options);
  }

  /** A server by its resourceRef as a NIC reports it (`/servers/{id}`). */
  async getServer(serverRef: string, options: OperationOptions = {}): Promise<Versioned<Server>> {
    const id = /^\/servers\/([^/]+)$/i.exec(serverRef)?.[1];
    if (!id) throw new RangeError(`Not a server reference: ${serverRef}`);
    return this.getVersioned(`/servers/${encodeURIComponent(id)}`, ServerSchema, options);
  }

  async getAccessControlList(aclId: string, options: OperationOptions = {}): Promise<Versioned<AccessControlList>> {
    return this.getVersioned(aclPath(aclId), AccessControlListSchema, options);
  }

  /** PUT replaces the whole NIC; the body must carry every ipConfiguration to keep. */
  async putNetworkInterface(
    nicId: string,
    body: NetworkInterface,
    options: WriteOptions = {},
  ): Promise<PutResult<NetworkInterface>> {
    const path = nicPath(nicId);
    const headers: Record<string, string> = { 'Content-Type': 'application/json; charset=UTF-8' };
    if (options.ifMatch) headers['If-Match'] = options.ifMatch;
    if (options.clientRequestId) headers['x-ms-client-request-id'] = options.clientRequestId;
    const response = await this.send('PUT', path, body, options, headers);
    const value = this.parse(NetworkInterfaceSchema, response, path);
    const operationUrl = header(response, 'azure-asyncoperation');
    return {
      value,
      etag: header(response, 'etag') ?? value.etag,
      statusCode: response.status,
      operationUrl: operationUrl === undefined ? undefined : this.checkOperationUrl(operationUrl),
      requestId: header(response, 'x-ms-request-id'),
    };
  }

  /** Reads an `Azure-AsyncOperation` URL; only URLs on this controller are followed. */
  async getOperation(operationUrl: string, options: OperationOptions = {}): Promise<OperationStatus> {
    const path = this.checkOperationUrl(operationUrl).slice(this.endpoint.length);
    const response = await this.send('GET', path, undefined, options);
    return this.parse(OperationStatusSchema, response, path);
  }

  private checkOperationUrl(operationUrl: string): string {
    let url: URL;
    try {
      url = new URL(operationUrl, this.endpoint + '/');
    } catch {
      throw this.protocolError(`operation URL "${operationUrl}" is not a URL`, '/operations');
    }
    const normalized = url.origin + url.pathname;
    // Follow only the controller's own operations resource, never a host or path the response chose.
    if (
      url.origin !== this.origin ||
      !normalized.toLowerCase().startsWith(this.endpoint.toLowerCase() + '/operations/')
    ) {
      throw this.protocolError(`operation URL ${url.origin}${url.pathname} is not on this controller`, '/operations');
    }
    return this.endpoint + normalized.slice(this.endpoint.length);
  }

  private async getVersioned<T extends z.ZodType>(
    path: string,
    schema: T,
    options: OperationOptions,
  ): Promise<Versioned<z.infer<T>>> {
    const response = await this.send('GET', path, undefined, options);
    const value = this.parse(schema, response, path) as z.infer<T> & { etag?: string };
    return { value, etag: header(response, 'etag') ?? value.etag };
  }

  private parse<T extends z.ZodType>(schema: T, response: AxiosResponse, path: string): z.infer<T> {
    const parsed = schema.safeParse(response.data);
    if (!parsed.success) {
      throw this.protocolError(
        `unexpected response shape from ${path}: ${parsed.error.issues[0]?.message ?? ''}`,
        path,
      );
    }
    return parsed.data;
  }

  private protocolError(message: string, path: string): RemoteServiceError {
    return new RemoteServiceError(message, {
      source: 'NetworkController',
      code: 'UnexpectedResponse',
      retryable: false,
      path,
    });
  }

  private async send(
    method: 'GET' | 'PUT',
    path: string,
    body: unknown,
    options: OperationOptions,
    extraHeaders: Record<string, string> = {},
  ): Promise<AxiosResponse> {
    for (let attempt = 0; ; attempt++) {
      let failure: RemoteServiceError;
      try {
        const response = await this.http.request({
          method,
          url: this.endpoint + path,
          data: body === undefined ? undefined : JSON.stringify(body),
          headers: { Accept: 'application/json', ...extraHeaders },
          timeout: options.timeoutInMs ?? this.timeoutInMs,
          signal: options.abortSignal,
          validateStatus: () => true,
          responseType: 'json',
          transitional: { silentJSONParsing: true, forcedJSONParsing: true },
        });
        if (response.status >= 200 && response.status < 300) return response;
        failure = remoteErrorFrom(response, method, path);
      } catch (error) {
        if (options.abortSignal?.aborted) throw error;
        failure = transportError(error, method, path);
      }
      const retryAfterInMs = failure.retryAfterInMs;
      if (
        !failure.retryable ||
        attempt >= this.maxRetries ||
        exceedsCallBudget(retryAfterInMs, { maxRetryDelayInMs: this.maxRetryDelayInMs })
      )
        throw failure;
      const delayInMs = retryDelayInMs(attempt, {
        retryDelayInMs: this.retryDelayInMs,
        maxRetryDelayInMs: this.maxRetryDelayInMs,
        retryAfterInMs,
      });
      this.onRetry?.({
        method,
        path,
        attempt: attempt + 1,
        delayInMs,
        reason: `${failure.statusCode ?? 'network'} ${failure.code}`,
      });
      await sleep(delayInMs, options.abortSignal);
    }
  }
}

function header(response: AxiosResponse, name: string): string | undefined {
  const value: unknown = response.headers[name];
  return typeof value === 'string' ? value : undefined;
}

interface ControllerErrorBody {
  error?: { code?: unknown; message?: unknown; target?: unknown; details?: unknown; innerError?: unknown };
}

function remoteErrorFrom(response: AxiosResponse, method: string, path: string): RemoteServiceError {
  const body = (
    typeof response.data === 'object' && response.data !== null ? response.data : {}
  ) as ControllerErrorBody;
  const code = typeof body.error?.code === 'string' ? body.error.code : `Http${response.status}`;
  const message =
    typeof body.error?.message === 'string'
      ? body.error.message
      : `Network Controller answered ${response.status} to ${method} ${path}`;
  const details = Array.isArray(body.error?.details)
    ? (body.error.details as { code?: unknown; message?: unknown }[]).map((d) => ({
        code: typeof d.code === 'string' ? d.code : '',
        message: typeof d.message === 'string' ? d.message : '',
      }))
    : undefined;
  return new RemoteServiceError(message, {
    source: 'NetworkController',
    code,
    statusCode: response.status,
    requestId: header(response, 'x-ms-request-id'),
    target: typeof body.error?.target === 'string' ? body.error.target : undefined,
    details,
    retryable: isRetryableResponse(response.status, code),
    retryAfterInMs: parseRetryAfterInMs(response.headers),
    method,
    path,
  });
}

function transportError(error: unknown, method: string, path: string): RemoteServiceError {
  const code = isAxiosError(error) ? (error.code ?? 'NetworkError') : 'NetworkError';
  const tlsProblem =
    /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|EPROTO|HANDSHAKE|ERR_OSSL|mac verify|PKCS12|bad decrypt|DECODER/i.test(
      `${code} ${error instanceof Error ? error.message : ''}`,
    );
  return new RemoteServiceError(
    `${method} ${path} failed before the Network Controller answered: ${error instanceof Error ? error.message : String(error)}`,
    // A certificate the client does not trust, or one the controller rejects, stays wrong on the next try.
    { source: 'NetworkController', code, retryable: !tlsProblem, method, path, cause: error },
  );
}

function buildAgent(tls: ClientTls): Agent {
  return new Agent({
    keepAlive: true,
    rejectUnauthorized: tls.insecureSkipTlsVerify !== true,
    ...tlsAgentOptions({
      ca: tls.caCertPem,
      ...('certPem' in tls ? { cert: tls.certPem, key: tls.keyPem } : {}),
      ...('pfxBase64' in tls ? { pfx: Buffer.from(tls.pfxBase64, 'base64'), passphrase: tls.pfxPassphrase } : {}),
    }),
  });
}
