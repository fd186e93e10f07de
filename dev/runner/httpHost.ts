import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { type FunctionOutput, type FunctionTrigger, HttpRequest, type InvocationContext } from '@azure/functions';

import { hostTraceContext } from './hostTraceContext';
import { type ResponseParts, toResponseParts } from './httpResponse';
import { describeError, type LineWriter } from './invocationLog';
import { invokeFunction } from './invoke';
import { applyPlatformAuth, type PlatformAuthSettings } from './platformAuth';
import type { QueueOutputTarget, QueueOutputWriter } from './queueOutputs';
import { comparePrecedence, type CompiledRoute } from './routes';
import { TaskSet } from './taskSet';

export const MAX_REQUEST_BODY_IN_BYTES = 1024 * 1024;
// Bodies over the limit are read and discarded so the client sees the 413 instead of a reset; past this, give up.
const MAX_DISCARDED_BODY_IN_BYTES = 64 * 1024 * 1024;

/** An HTTP-triggered function with everything resolved at start. */
export interface HttpFunction {
  functionName: string;
  route: CompiledRoute;
  /** Upper case. */
  methods: string[];
  authLevel: 'anonymous' | 'function' | 'admin';
  handler: (request: HttpRequest, context: InvocationContext) => unknown;
  trigger: FunctionTrigger;
  returnBinding: FunctionOutput | undefined;
  extraOutputs: FunctionOutput[];
  outputTargets: QueueOutputTarget[];
}

export interface HttpHostOptions {
  functions: readonly HttpFunction[];
  host: string;
  port: number;
  functionKey: string | undefined;
  /** Whether a test header stands for the caller; the caller headers a client sends are always removed. */
  platformAuth: PlatformAuthSettings;
  outputs: QueueOutputWriter;
  write: LineWriter;
}

type BodyResult = { tooLarge: false; body: Buffer } | { tooLarge: true };

function sendJson(
  response: ServerResponse,
  status: number,
  payload: unknown,
  headers: Record<string, string> = {},
): void {
  const body = Buffer.from(JSON.stringify(payload));
  response.writeHead(status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': body.length,
  });
  response.end(body);
}

function sendError(
  response: ServerResponse,
  status: number,
  code: string,
  message: string,
  headers?: Record<string, string>,
): void {
  sendJson(response, status, { error: { code, message } }, headers);
}

function readBody(request: IncomingMessage): Promise<BodyResult> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    request.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received <= MAX_REQUEST_BODY_IN_BYTES) chunks.push(chunk);
      else if (received > MAX_DISCARDED_BODY_IN_BYTES) request.destroy();
    });
    request.on('end', () =>
      resolve(
        received > MAX_REQUEST_BODY_IN_BYTES ? { tooLarge: true } : { tooLarge: false, body: Buffer.concat(chunks) },
      ),
    );
    request.on('error', reject);
  });
}

function headerRecord(request: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined || name.startsWith(':')) continue;
    headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}

// The host exposes each query key once; repeated keys come through comma-joined, like ASP.NET's StringValues.
function queryRecord(searchParams: URLSearchParams): Record<string, string> {
  const query: Record<string, string> = {};
  for (const key of new Set(searchParams.keys())) query[key] = searchParams.getAll(key).join(',');
  return query;
}

function keysMatch(expected: string, given: string | null | undefined): boolean {
  if (!given) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

function writeResponse(response: ServerResponse, method: string, parts: ResponseParts): void {
  const grouped = new Map<string, string[]>();
  for (const [name, value] of parts.headers) grouped.set(name, [...(grouped.get(name) ?? []), value]);
  for (const [name, values] of grouped) response.setHeader(name, values.length === 1 ? (values[0] ?? '') : values);
  const bodyless = method === 'HEAD' || parts.status === 204 || parts.status === 304;
  if (!bodyless) response.setHeader('content-length', parts.body.length);
  response.writeHead(parts.status);
  response.end(bodyless ? undefined : parts.body);
}

/** Serves the HTTP functions under /<routePrefix>/, as the host does on port 7071. */
export class HttpHost {
  readonly #options: HttpHostOptions;
  readonly #functions: HttpFunction[];
  readonly #inFlight = new TaskSet();
  readonly #server: Server;
  #stopping = false;

  constructor(options: HttpHostOptions) {
    this.#options = options;
    this.#functions = [...options.functions].sort((a, b) => comparePrecedence(a.route, b.route));
    this.#server = createServer((request, response) => {
      this.#inFlight.add(this.#serve(request, response));
    });
  }

  get inFlightCount(): number {
    return this.#inFlight.size;
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.#options.port, this.#options.host, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    return (this.#server.address() as AddressInfo).port;
  }

  /** Refuses new requests (503), waits for running ones up to the timeout, then closes every connection. */
  async stop(timeoutInMs: number): Promise<boolean> {
    this.#stopping = true;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    const drained = await this.#inFlight.drain(timeoutInMs);
    this.#server.closeAllConnections();
    await closed;
    return drained;
  }

  async #serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    try {
      await this.#route(request, response);
    } catch (error) {
      this.#options.write(`HTTP ${request.method} ${request.url} failed in the runner: ${describeError(error)}`);
      if (!response.headersSent)
        sendError(response, 500, 'InternalError', 'The local runner failed to handle the request.');
      else response.destroy();
    }
  }

  async #route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const method = (request.method ?? 'GET').toUpperCase();
    const url = new URL(
      request.url ?? '/',
      `http://${request.headers.host ?? `${this.#options.host}:${this.#options.port}`}`,
    );
    if (this.#stopping) {
      sendError(response, 503, 'ShuttingDown', 'The local runner is stopping.', { connection: 'close' });
      return;
    }
    // The platform's authentication runs before the host: a client never gets its own caller headers through.
    const authenticated = applyPlatformAuth(headerRecord(request), this.#options.platformAuth);
    if (!authenticated.ok) {
      sendError(response, 401, 'Unauthorized', authenticated.message);
      return;
    }
    const matches = this.#functions.flatMap((fn) => {
      const params = fn.route.match(url.pathname);
      return params ? [{ fn, params }] : [];
    });
    if (matches.length === 0) {
      sendError(response, 404, 'NotFound', `No function matches ${method} ${url.pathname}.`);
      return;
    }
    const chosen = matches.find(({ fn }) => fn.methods.includes(method));
    if (!chosen) {
      const allowed = [...new Set(matches.flatMap(({ fn }) => fn.methods))].join(', ');
      sendError(response, 405, 'MethodNotAllowed', `${method} is not allowed for ${url.pathname}.`, { allow: allowed });
      return;
    }
    const { fn, params } = chosen;
    const { functionKey } = this.#options;
    if (functionKey !== undefined && fn.authLevel !== 'anonymous') {
      const given = url.searchParams.get('code') ?? request.headers['x-functions-key'];
      if (!keysMatch(functionKey, typeof given === 'string' ? given : undefined)) {
        sendError(response, 401, 'Unauthorized', `Function '${fn.functionName}' requires a function key.`);
        return;
      }
    }

    const body = await readBody(request);
    if (body.tooLarge) {
      sendError(response, 413, 'PayloadTooLarge', `Request bodies are limited to ${MAX_REQUEST_BODY_IN_BYTES} bytes.`);
      return;
    }
    const hasBody = method !== 'GET' && method !== 'HEAD' && body.body.length > 0;
    const httpRequest = new HttpRequest({
      method,
      url: url.toString(),
      headers: authenticated.headers,
      query: queryRecord(url.searchParams),
      params,
      // Bytes rather than a string keep binary uploads intact; .text()/.json() decode them the same way.
      body: hasBody ? { bytes: body.body } : undefined,
    });

    let parts: ResponseParts | undefined;
    const outcome = await invokeFunction({
      functionName: fn.functionName,
      handler: (input, context) => fn.handler(input as HttpRequest, context),
      input: httpRequest,
      traceContext: hostTraceContext({
        traceparent: httpRequest.headers.get('traceparent'),
        tracestate: httpRequest.headers.get('tracestate'),
      }),
      trigger: fn.trigger,
      returnBinding: fn.returnBinding,
      extraOutputs: fn.extraOutputs,
      reason: `This function was programmatically called via the host APIs.`,
      details: `${method} ${url.pathname}`,
      write: this.#options.write,
      completeOutputs: async (context, result) => {
        // The worker converts the response together with the outputs; a bad response fails the invocation.
        parts = await toResponseParts(result);
        await this.#options.outputs.writeOutputs(fn.outputTargets, context, result);
      },
    });
    if (!outcome.succeeded || !parts) {
      const message = outcome.succeeded
        ? 'No response.'
        : outcome.error instanceof Error
          ? outcome.error.message
          : String(outcome.error);
      sendError(response, 500, 'InternalError', message);
      return;
    }
    writeResponse(response, method, parts);
  }
}
