import { randomUUID } from 'node:crypto';
import https from 'node:https';
import tls from 'node:tls';

import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import { z } from 'zod';

import { RemoteServiceError } from '../errors';
import {
  defaultRetrySettings,
  exceedsCallBudget,
  isTransientStatus,
  parseRetryAfterInMs,
  retryDelayInMs,
  type RetrySettings,
} from './retryPolicy';
import { tlsAgentOptions } from './secureContext';
import { abortError, sleep } from './sleep';

/** Options every client method takes, as in the Azure SDK. */
export interface OperationOptions {
  abortSignal?: AbortSignal;
  /** Per-attempt timeout; the client's `timeoutInMs` when absent. */
  timeoutInMs?: number;
}

/** Supplies the bearer token for one Azure service; `undefined` sends no Authorization header. */
export interface TokenProvider {
  getToken(abortSignal?: AbortSignal): Promise<string | undefined>;
}

/** Which Azure service a pipeline talks to: the source and wording of its errors, and which statuses may pass. */
export interface AzureService {
  source: 'AzureResourceManager' | 'KeyVault';
  /** For messages, e.g. "Azure Resource Manager". */
  displayName: string;
  /** Whether a later attempt (or queue delivery) could succeed after this HTTP status. */
  isRetryableStatus(status: number): boolean;
}

export interface AzurePipelineOptions extends Partial<RetrySettings> {
  service: AzureService;
  credential: TokenProvider;
  /** Extra trusted CA (PEM) on top of the public roots, e.g. the emulator's dev CA. Verification is never off. */
  caCertPem?: string;
  timeoutInMs?: number;
}

export interface AzureRequest {
  method: 'GET' | 'PUT' | 'DELETE';
  /** Path below the endpoint, segments already encoded. */
  path: string;
  apiVersion: string;
  body?: unknown;
  /** Non-2xx statuses the caller handles itself (e.g. 404 on delete). */
  acceptStatuses?: readonly number[];
}

export interface AzureResponse {
  status: number;
  /** Lower-case header names. */
  headers: Record<string, string>;
  body: unknown;
}

// ARM and Key Vault share this error body.
const errorBodySchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string().optional(),
    target: z.string().optional(),
    details: z.array(z.object({ code: z.string(), message: z.string(), target: z.string().optional() })).optional(),
  }),
});

// Certificate problems do not go away on a retry; everything else at the transport level may.
const tlsErrorCodes = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

type Attempt = { response: AzureResponse } | { error: RemoteServiceError };

/**
 * Sends requests to one Azure service (Azure Resource Manager, Key Vault): bearer token, bounded retries with backoff
 * and `Retry-After`, and translation of every failure into `RemoteServiceError` with the service's own code and
 * message. Axios objects never leave this file, and neither does the token: errors are built from status, error body
 * and headers only, never from the axios error.
 */
export class AzurePipeline {
  readonly #http: AxiosInstance;
  readonly #service: AzureService;
  readonly #credential: TokenProvider;
  readonly #retry: RetrySettings;
  readonly #timeoutInMs: number;

  constructor(endpoint: string, options: AzurePipelineOptions) {
    const url = new URL(endpoint);
    this.#service = options.service;
    if (url.protocol !== 'https:')
      throw new TypeError(`${this.#service.displayName} endpoint must use https, got ${url.protocol}`);
    this.#credential = options.credential;
    this.#retry = {
      maxRetries: options.maxRetries ?? defaultRetrySettings.maxRetries,
      retryDelayInMs: options.retryDelayInMs ?? defaultRetrySettings.retryDelayInMs,
      maxRetryDelayInMs: options.maxRetryDelayInMs ?? defaultRetrySettings.maxRetryDelayInMs,
    };
    this.#timeoutInMs = options.timeoutInMs ?? 30_000;
    const ca = options.caCertPem === undefined ? undefined : [...tls.rootCertificates, options.caCertPem];
    this.#http = axios.create({
      baseURL: url.origin,
      httpsAgent: new https.Agent({ keepAlive: true, rejectUnauthorized: true, ...(ca && tlsAgentOptions({ ca })) }),
      // Never through an environment proxy, never following redirects, and every status handled here.
      proxy: false,
      maxRedirects: 0,
      validateStatus: () => true,
      responseType: 'json',
    });
  }

  async send(request: AzureRequest, options: OperationOptions = {}): Promise<AzureResponse> {
    for (let attempt = 0; ; attempt++) {
      const outcome = await this.#attempt(request, options);
      if ('response' in outcome) return outcome.response;
      const { error } = outcome;
      const transient = error.statusCode === undefined ? error.retryable : isTransientStatus(error.statusCode);
      if (!transient || attempt >= this.#retry.maxRetries) throw error;
      // A longer wait than we may spend here is left to the next queue delivery, which the error says is fine.
      if (exceedsCallBudget(error.retryAfterInMs, this.#retry)) throw error;
      await sleep(
        retryDelayInMs(attempt, { ...this.#retry, retryAfterInMs: error.retryAfterInMs }),
        options.abortSignal,
      );
    }
  }

  async #attempt(request: AzureRequest, options: OperationOptions): Promise<Attempt> {
    const clientRequestId = randomUUID();
    let token: string | undefined;
    try {
      token = await this.#credential.getToken(options.abortSignal);
    } catch (cause) {
      throwIfAborted(options.abortSignal);
      const reason = cause instanceof Error ? cause.message : 'unknown error';
      return {
        error: this.#failure(
          request,
          'AuthenticationFailed',
          `Could not get a token for ${this.#service.displayName}: ${reason}`,
          true,
        ),
      };
    }
    let response: AxiosResponse<unknown>;
    try {
      response = await this.#http.request<unknown>({
        method: request.method,
        url: request.path,
        params: { 'api-version': request.apiVersion },
        data: request.body,
        timeout: options.timeoutInMs ?? this.#timeoutInMs,
        signal: options.abortSignal,
        headers: {
          Accept: 'application/json',
          'x-ms-client-request-id': clientRequestId,
          ...(token === undefined ? {} : { Authorization: `Bearer ${token}` }),
        },
      });
    } catch (cause) {
      throwIfAborted(options.abortSignal);
      return { error: this.#transportFailure(request, cause, clientRequestId) };
    }
    const headers = lowerCaseHeaders(response.headers);
    const result: AzureResponse = { status: response.status, headers, body: response.data };
    if (response.status < 400 || request.acceptStatuses?.includes(response.status)) return { response: result };
    return { error: this.#statusFailure(request, result, clientRequestId) };
  }

  #statusFailure(request: AzureRequest, response: AzureResponse, clientRequestId: string): RemoteServiceError {
    const parsed = errorBodySchema.safeParse(response.body);
    const remoteError = parsed.success ? parsed.data.error : undefined;
    return new RemoteServiceError(
      remoteError?.message ??
        remoteError?.code ??
        `${this.#service.displayName} answered ${request.method} with HTTP ${response.status}`,
      {
        source: this.#service.source,
        code: remoteError?.code ?? `Http${response.status}`,
        retryable: this.#service.isRetryableStatus(response.status),
        statusCode: response.status,
        requestId: response.headers['x-ms-request-id'] ?? clientRequestId,
        target: remoteError?.target,
        details: remoteError?.details,
        retryAfterInMs: parseRetryAfterInMs(response.headers),
        method: request.method,
        path: request.path,
      },
    );
  }

  #transportFailure(request: AzureRequest, cause: unknown, clientRequestId: string): RemoteServiceError {
    const code = axios.isAxiosError(cause) ? cause.code : undefined;
    if (code !== undefined && tlsErrorCodes.has(code)) {
      return this.#failure(
        request,
        'TlsError',
        `TLS verification of the ${this.#service.displayName} endpoint failed (${code})`,
        false,
        clientRequestId,
      );
    }
    if (code === 'ECONNABORTED' || code === 'ETIMEDOUT') {
      return this.#failure(
        request,
        'RequestTimeout',
        `No answer from ${this.#service.displayName} in time`,
        true,
        clientRequestId,
      );
    }
    const reason = code ?? (cause instanceof Error ? cause.message : 'unknown error');
    return this.#failure(
      request,
      'NetworkError',
      `Could not reach ${this.#service.displayName} (${reason})`,
      true,
      clientRequestId,
    );
  }

  #failure(request: AzureRequest, code: string, message: string, retryable: boolean, requestId?: string) {
    return new RemoteServiceError(message, {
      source: this.#service.source,
      code,
      retryable,
      requestId,
      method: request.method,
      path: request.path,
    });
  }
}

function lowerCaseHeaders(headers: Record<string, unknown>): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (typeof value === 'string' || typeof value === 'number') result[name.toLowerCase()] = String(value);
    else if (Array.isArray(value)) result[name.toLowerCase()] = value.map(String).join(', ');
  }
  return result;
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError(signal);
}
