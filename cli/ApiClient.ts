import type { z } from 'zod';

import { isTransientStatus, parseRetryAfterInMs, retryDelayInMs, type RetrySettings } from '../shared/http/retryPolicy';
import { sleep as defaultSleep } from '../shared/http/sleep';
import {
  type AttachmentDocument,
  AttachmentDocumentSchema,
  type AttachmentList,
  AttachmentListSchema,
  ErrorBodySchema,
  type TenantDocument,
  TenantDocumentSchema,
  type TenantList,
  TenantListSchema,
} from './documents';
import { ApiError, ApiUnreachableError } from './errors';

export interface ApiClientOptions {
  /** The API's base URL, e.g. `http://127.0.0.1:7071/api`. */
  apiUrl: string;
  /** Sent as `x-functions-key`; never printed. */
  functionKey?: string;
  /** Sent as `Authorization: Bearer …` for App Service Authentication; never printed. */
  bearerToken?: string;
  /** Retries of one call on transient answers (429, 5xx) and lost connections; `Retry-After` wins. */
  retry?: RetrySettings;
  /** How long one HTTP call may take; default 30 s. */
  timeoutInMs?: number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export interface OperationOptions {
  signal?: AbortSignal;
}

/** An answer of the API: the parsed body, as sent, and the headers the CLI acts on. */
export interface ApiAnswer<T> {
  status: number;
  body: T;
  /** `Retry-After` (seconds or an HTTP date), in milliseconds. */
  retryAfterInMs?: number;
  location?: string;
  etag?: string;
}

const DEFAULT_RETRY: RetrySettings = { maxRetries: 3, retryDelayInMs: 500, maxRetryDelayInMs: 8_000 };
const DEFAULT_TIMEOUT_IN_MS = 30_000;
const SAFE_METHODS = new Set(['GET', 'PUT', 'DELETE']);

interface Call<T> {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  query?: Record<string, string | undefined>;
  body?: unknown;
  headers?: Record<string, string>;
  schema?: z.ZodType<T>;
}

/** The HTTP API (docs/api.md, docs/tenants.md) as typed calls; errors are ApiError or ApiUnreachableError. */
export class ApiClient {
  readonly #apiUrl: string;
  readonly #headers: Record<string, string>;
  readonly #retry: RetrySettings;
  readonly #timeoutInMs: number;
  readonly #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;

  constructor(options: ApiClientOptions) {
    this.#apiUrl = options.apiUrl.replace(/\/+$/, '');
    this.#headers = {
      accept: 'application/json',
      ...(options.functionKey ? { 'x-functions-key': options.functionKey } : {}),
      ...(options.bearerToken ? { authorization: `Bearer ${options.bearerToken}` } : {}),
    };
    this.#retry = options.retry ?? DEFAULT_RETRY;
    this.#timeoutInMs = options.timeoutInMs ?? DEFAULT_TIMEOUT_IN_MS;
    this.#sleep = options.sleep ?? defaultSleep;
  }

  submitAttachment(tenantId: string, request: unknown, options: OperationOptions = {}) {
    return this.#send(
      { method: 'POST', path: attachments(tenantId), body: request, schema: AttachmentDocumentSchema },
      options,
    );
  }

  getAttachment(
    tenantId: string,
    attachmentId: string,
    options: OperationOptions & { showHistory?: boolean } = {},
  ): Promise<ApiAnswer<AttachmentDocument>> {
    return this.#send(
      {
        method: 'GET',
        path: attachment(tenantId, attachmentId),
        query: { showHistory: options.showHistory ? 'true' : undefined },
        schema: AttachmentDocumentSchema,
      },
      options,
    );
  }

  listAttachments(
    tenantId: string,
    options: OperationOptions & { runtimeStatus?: readonly string[]; top?: number; continuationToken?: string } = {},
  ): Promise<ApiAnswer<AttachmentList>> {
    return this.#send(
      {
        method: 'GET',
        path: attachments(tenantId),
        query: {
          runtimeStatus: options.runtimeStatus?.length ? options.runtimeStatus.join(',') : undefined,
          top: options.top === undefined ? undefined : String(options.top),
          continuationToken: options.continuationToken,
        },
        schema: AttachmentListSchema,
      },
      options,
    );
  }

  retryAttachment(tenantId: string, attachmentId: string, options: OperationOptions = {}) {
    const path = `${attachment(tenantId, attachmentId)}/retry`;
    return this.#send({ method: 'POST', path, schema: AttachmentDocumentSchema }, options);
  }

  cancelAttachment(tenantId: string, attachmentId: string, options: OperationOptions = {}) {
    const path = `${attachment(tenantId, attachmentId)}/cancel`;
    return this.#send({ method: 'POST', path, schema: AttachmentDocumentSchema }, options);
  }

  detachAttachment(tenantId: string, attachmentId: string, options: OperationOptions = {}) {
    return this.#send(
      { method: 'DELETE', path: attachment(tenantId, attachmentId), schema: AttachmentDocumentSchema },
      options,
    );
  }

  putTenant(
    tenantId: string,
    entry: unknown,
    options: OperationOptions & { ifMatch?: string; ifNoneMatch?: '*' } = {},
  ): Promise<ApiAnswer<TenantDocument>> {
    const headers: Record<string, string> = {};
    if (options.ifMatch) headers['if-match'] = options.ifMatch;
    if (options.ifNoneMatch) headers['if-none-match'] = options.ifNoneMatch;
    return this.#send(
      { method: 'PUT', path: tenant(tenantId), body: entry, headers, schema: TenantDocumentSchema },
      options,
    );
  }

  getTenant(
    tenantId: string,
    options: OperationOptions & { showHistory?: boolean } = {},
  ): Promise<ApiAnswer<TenantDocument>> {
    return this.#send(
      {
        method: 'GET',
        path: tenant(tenantId),
        query: { showHistory: options.showHistory ? 'true' : undefined },
        schema: TenantDocumentSchema,
      },
      options,
    );
  }

  listTenants(
    options: OperationOptions & { top?: number; continuationToken?: string } = {},
  ): Promise<ApiAnswer<TenantList>> {
    return this.#send(
      {
        method: 'GET',
        path: '/admin/tenants',
        query: {
          top: options.top === undefined ? undefined : String(options.top),
          continuationToken: options.continuationToken,
        },
        schema: TenantListSchema,
      },
      options,
    );
  }

  deleteTenant(tenantId: string, options: OperationOptions & { ifMatch?: string } = {}): Promise<ApiAnswer<unknown>> {
    const headers: Record<string, string> = options.ifMatch ? { 'if-match': options.ifMatch } : {};
    return this.#send({ method: 'DELETE', path: tenant(tenantId), headers }, options);
  }

  async #send<T>(call: Call<T>, options: OperationOptions): Promise<ApiAnswer<T>> {
    const url = new URL(`${this.#apiUrl}${call.path}`);
    for (const [name, value] of Object.entries(call.query ?? {}))
      if (value !== undefined) url.searchParams.set(name, value);
    const headers = { ...this.#headers, ...call.headers };
    if (call.body !== undefined) headers['content-type'] = 'application/json';
    const body = call.body === undefined ? undefined : JSON.stringify(call.body);
    // A lost connection before any answer never ran the request; a POST is retried only then, or on 429.
    for (let attempt = 0; ; attempt++) {
      let response: Response;
      try {
        response = await fetch(url, {
          method: call.method,
          headers,
          body,
          signal: options.signal
            ? AbortSignal.any([options.signal, AbortSignal.timeout(this.#timeoutInMs)])
            : AbortSignal.timeout(this.#timeoutInMs),
        });
      } catch (error) {
        if (options.signal?.aborted) throw error;
        const unreachable = new ApiUnreachableError(
          `Cannot reach the API at ${this.#apiUrl}: ${networkReason(error)}`,
          {
            cause: error,
          },
        );
        const retryable = SAFE_METHODS.has(call.method) || networkReason(error).includes('ECONNREFUSED');
        if (!retryable || attempt >= this.#retry.maxRetries) throw unreachable;
        await this.#sleep(retryDelayInMs(attempt, this.#retry), options.signal);
        continue;
      }
      const retryAfterInMs = parseRetryAfterInMs({ 'retry-after': response.headers.get('retry-after') ?? undefined });
      const text = await response.text();
      if (response.status >= 400) {
        const retryable =
          isTransientStatus(response.status) && (SAFE_METHODS.has(call.method) || response.status === 429);
        if (retryable && attempt < this.#retry.maxRetries) {
          // The server's own wait wins, however long: the backoff's cap is for guesses, not for what it asked.
          await this.#sleep(retryAfterInMs ?? retryDelayInMs(attempt, this.#retry), options.signal);
          continue;
        }
        throw errorFrom(response.status, text);
      }
      return {
        status: response.status,
        body: parseBody(text, call.schema, response.status),
        ...(retryAfterInMs !== undefined ? { retryAfterInMs } : {}),
        ...(response.headers.get('location') ? { location: response.headers.get('location') ?? undefined } : {}),
        ...(response.headers.get('etag') ? { etag: response.headers.get('etag') ?? undefined } : {}),
      };
    }
  }
}

const attachments = (tenantId: string) => `/tenants/${encodeURIComponent(tenantId)}/attachments`;
const attachment = (tenantId: string, attachmentId: string) =>
  `${attachments(tenantId)}/${encodeURIComponent(attachmentId)}`;
const tenant = (tenantId: string) => `/admin/tenants/${encodeURIComponent(tenantId)}`;

/** The reason fetch failed, from its cause (`ECONNREFUSED`, `ENOTFOUND`…); it never carries the request's headers. */
function networkReason(error: unknown): string {
  if (error instanceof Error && error.name === 'TimeoutError') return 'no answer in time';
  const cause = error instanceof Error ? (error.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  if (typeof cause?.code === 'string') return cause.code;
  if (typeof cause?.message === 'string') return cause.message;
  return error instanceof Error ? error.message : String(error);
}

function parseJson(text: string): unknown {
  try {
    return text === '' ? undefined : (JSON.parse(text) as unknown);
  } catch {
    return undefined;
  }
}

function errorFrom(status: number, text: string): ApiError | ApiUnreachableError {
  const parsed = ErrorBodySchema.safeParse(parseJson(text));
  if (parsed.success) {
    const { code, message, details } = parsed.data.error;
    return new ApiError(status, code, message, details ?? []);
  }
  // Not the API's error shape: a proxy, a platform page (App Service's 401), or something else at that address.
  return status >= 500
    ? new ApiUnreachableError(`The API answered ${status} without its error document.`)
    : new ApiError(status, `Http${status}`, `The API answered ${status} without its error document.`);
}

function parseBody<T>(text: string, schema: z.ZodType<T> | undefined, status: number): T {
  if (!schema) return parseJson(text) as T;
  const parsed = schema.safeParse(parseJson(text));
  if (!parsed.success)
    throw new ApiUnreachableError(`The API answered ${status} with a body that is not the document expected.`);
  return parsed.data;
}
