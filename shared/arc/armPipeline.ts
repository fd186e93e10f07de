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
} from '../http/retryPolicy';
import { abortError, sleep } from '../http/sleep';
import type { TokenProvider } from './tokenProvider';

/** Options every client method takes, as in the Azure SDK. */
export interface OperationOptions {
  abortSignal?: AbortSignal;
  /** Per-attempt timeout; the client's `timeoutInMs` when absent. */
  timeoutInMs?: number;
}

export interface ArmPipelineOptions extends Partial<RetrySettings> {
  credential: TokenProvider;
  /** Extra trusted CA (PEM) on top of the public roots, e.g. the emulator's dev CA. Verification is never off. */
  caCertPem?: string;
  timeoutInMs?: number;
}

export interface ArmRequest {
  method: 'GET' | 'PUT' | 'DELETE';
  /** Path below the endpoint, segments already encoded. */
  path: string;
  apiVersion: string;
  body?: unknown;
  /** Non-2xx statuses the caller handles itself (e.g. 404 on delete). */
  acceptStatuses?: readonly number[];
}

export interface ArmResponse {
  status: number;
  /** Lower-case header names. */
  headers: Record<string, string>;
  body: unknown;
}

const armErrorBodySchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
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

type Attempt = { response: ArmResponse } | { error: RemoteServiceError };

/**
 * Sends ARM requests: bearer token, bounded retries with backoff and `Retry-After`, and translation of every failure
 * into `RemoteServiceError` (source `AzureResourceManager`). Axios objects never leave this file, and neither does
 * the token: errors are built from status, ARM error body and headers only, never from the axios error.
 */
export class ArmPipeline {
  readonly #http: AxiosInstance;
  readonly #credential: TokenProvider;
  readonly #retry: RetrySettings;
  readonly #timeoutInMs: number;

  constructor(endpoint: string, options: ArmPipelineOptions) {
    const url = new URL(endpoint);
    if (url.protocol !== 'https:') throw new TypeError(`ARM endpoint must use https, got ${url.protocol}`);
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
      httpsAgent: new https.Agent({ keepAlive: true, ca, rejectUnauthorized: true }),
      // Never through an environment proxy, never following redirects, and every status handled here.
      proxy: false,
      maxRedirects: 0,
      validateStatus: () => true,
      responseType: 'json',
    });
  }

  async send(request: ArmRequest, options: OperationOptions = {}): Promise<ArmResponse> {
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

  async #attempt(request: ArmRequest, options: OperationOptions): Promise<Attempt> {
    const clientRequestId = randomUUID();
    let token: string | undefined;
    try {
      token = await this.#credential.getToken(options.abortSignal);
    } catch (cause) {
      throwIfAborted(options.abortSignal);
      const reason = cause instanceof Error ? cause.message : 'unknown error';
      return {
        error: this.#failure(request, 'AuthenticationFailed', `Could not get a token for ARM: ${reason}`, true),
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
    const result: ArmResponse = { status: response.status, headers, body: response.data };
    if (response.status < 400 || request.acceptStatuses?.includes(response.status)) return { response: result };
    return { error: this.#statusFailure(request, result, clientRequestId) };
  }

  #statusFailure(request: ArmRequest, response: ArmResponse, clientRequestId: string): RemoteServiceError {
    const parsed = armErrorBodySchema.safeParse(response.body);
    const armError = parsed.success ? parsed.data.error : undefined;
    return new RemoteServiceError(
      armError?.message ?? `Azure Resource Manager answered ${request.method} with HTTP ${response.status}`,
      {
        source: 'AzureResourceManager',
        code: armError?.code ?? `Http${response.status}`,
        retryable: isRetryableStatus(response.status),
        statusCode: response.status,
        requestId: response.headers['x-ms-request-id'] ?? clientRequestId,
        target: armError?.target,
        details: armError?.details,
        retryAfterInMs: parseRetryAfterInMs(response.headers),
        method: request.method,
        path: request.path,
      },
    );
  }

  #transportFailure(request: ArmRequest, cause: unknown, clientRequestId: string): RemoteServiceError {
    const code = axios.isAxiosError(cause) ? cause.code : undefined;
    if (code !== undefined && tlsErrorCodes.has(code)) {
      return this.#failure(
        request,
        'TlsError',
        `TLS verification of the ARM endpoint failed (${code})`,
        false,
        clientRequestId,
      );
    }
    if (code === 'ECONNABORTED' || code === 'ETIMEDOUT') {
      return this.#failure(
        request,
        'RequestTimeout',
        'No answer from Azure Resource Manager in time',
        true,
        clientRequestId,
      );
    }
    const reason = code ?? (cause instanceof Error ? cause.message : 'unknown error');
    return this.#failure(
      request,
      'NetworkError',
      `Could not reach Azure Resource Manager (${reason})`,
      true,
      clientRequestId,
    );
  }

  #failure(request: ArmRequest, code: string, message: string, retryable: boolean, requestId?: string) {
    return new RemoteServiceError(message, {
      source: 'AzureResourceManager',
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

/**
 * Whether a later queue delivery could succeed after this ARM status: transient ones, plus 409 (another operation on
 * the machine, e.g. a run command still running) and 423 (locked).
 */
export function isRetryableStatus(status: number): boolean {
  return isTransientStatus(status) || status === 409 || status === 423;
}
