import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TLSSocket } from 'node:tls';

import { listenHttps } from '../listen';
import { routeAdmin } from './admin';
import { defaultErrorCode, FaultRegistry } from './faults';
import { type ApiResponse, errorBody, headerValue, NcError, newGuid, notFound } from './http';
import { OperationTracker } from './operations';
import { RequestLog } from './requestLog';
import { routeNetworking } from './routes';
import { seedScenario } from './seed';
import type { EmulatorState } from './state';
import { ResourceStore } from './store';

export interface NetworkControllerEmulatorOptions {
  host?: string;
  port?: number;
  /** Server certificate issued by the dev CA, the key, and the CA that also signs accepted client certificates. */
  tls: { certPem: string; keyPem: string; caCertPem: string };
  /** x509 mode: require a client certificate signed by tls.caCertPem whose SHA-1 thumbprint is listed. */
  clientCertificateThumbprints?: string[];
  /** Updating -> Succeeded delay. */
  provisioningDelayInMs?: number;
  /** Load the README scenario (VNet1, AllowAll, ContainerHostVM1_Net0 on 192.168.1.9, ...). */
  seed?: boolean;
}

export interface RunningNetworkControllerEmulator {
  origin: string;
  baseUrl: string;
  close(): Promise<void>;
}

interface PreparedResponse {
  status: number;
  headers: Record<string, string>;
  text?: string;
}

const BASE_PATH = /^\/networking\/v1(?=\/|$)/i;
const ADMIN_PATH = /^\/_emulator(?=\/|$)/i;
const WRITE_METHODS = new Set(['PUT', 'DELETE', 'POST', 'PATCH']);
const MAX_BODY_BYTES = 256 * 1024 * 1024;
const REPLAY_CAPACITY = 50_000;

function prepare(response: ApiResponse): PreparedResponse {
  return {
    status: response.status,
    headers: { ...response.headers },
    ...(response.body === undefined ? {} : { text: JSON.stringify(response.body) }),
  };
}

function failure(error: unknown): PreparedResponse {
  if (error instanceof NcError) return prepare(error.toResponse());
  return prepare({ status: 500, body: errorBody('InternalServerError', (error as Error)?.message ?? String(error)) });
}

function splitPath(path: string): string[] {
  try {
    return path
      .split('/')
      .filter((s) => s !== '')
      .map((s) => decodeURIComponent(s));
  } catch {
    throw new NcError(400, 'InvalidRequestFormat', `The path '${path}' is not correctly percent-encoded.`);
  }
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new NcError(413, 'RequestEntityTooLarge', 'The request body is too large.');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function normalizeThumbprint(thumbprint: string): string {
  return thumbprint.replace(/[^0-9a-f]/gi, '').toUpperCase();
}

/**
 * An HTTPS emulator of the Network Controller northbound API under `/networking/v1`, following the protocol fact
 * sheet (shared/reference/network-controller-rest.md §1-§5, §11). Control routes outside the NC API, never behind
 * the client-certificate check and never in the request log:
 *   POST /_emulator/reset {seed?}            POST /_emulator/resources {resources: [{resourceRef, body}]}
 *   GET|POST|DELETE /_emulator/faults, DELETE /_emulator/faults/{id}
 *   GET|DELETE /_emulator/requests           GET|PUT /_emulator/settings
 *   PUT /_emulator/networkInterfaces/{nic}/ipConfigurations/{ipc}/loadBalancerReferences
 *     {backendAddressPools?: string[], inboundNatRules?: string[]}
 */
export async function startNetworkControllerEmulator(
  options: NetworkControllerEmulatorOptions,
): Promise<RunningNetworkControllerEmulator> {
  const host = options.host ?? '127.0.0.1';
  const allowedThumbprints =
    options.clientCertificateThumbprints === undefined
      ? undefined
      : new Set(options.clientCertificateThumbprints.map(normalizeThumbprint));
  const state: EmulatorState = {
    store: new ResourceStore(),
    operations: new OperationTracker(),
    faults: new FaultRegistry(),
    settings: {
      provisioningDelayInMs: options.provisioningDelayInMs ?? 150,
      validationStatus: 400,
      cancelInProgressOnPut: false,
    },
    origin: '',
  };
  const requestLog = new RequestLog();
  const replays = new Map<string, PreparedResponse>();

  const reset = (seed: boolean): void => {
    state.operations.clear();
    state.store.clear();
    state.faults.clear();
    requestLog.clear();
    replays.clear();
    if (seed) seedScenario(state.store);
  };
  reset(options.seed ?? true);

  function hasAuthorizedCertificate(request: IncomingMessage): boolean {
    if (allowedThumbprints === undefined) return true;
    const socket = request.socket as TLSSocket;
    // `authorized` is true only when the client sent a certificate that chains to our CA.
    if (!socket.authorized) return false;
    const raw = socket.getPeerCertificate()?.raw;
    if (raw === undefined) return false;
    return allowedThumbprints.has(createHash('sha1').update(raw).digest('hex').toUpperCase());
  }

  async function handleNetworking(request: IncomingMessage, subPath: string, body: Buffer): Promise<PreparedResponse> {
    const method = (request.method ?? 'GET').toUpperCase();
    if (!hasAuthorizedCertificate(request)) {
      throw new NcError(403, 'Forbidden', 'The client did not present a certificate whose thumbprint is authorized.');
    }
    const fault = state.faults.take(method, subPath);
    if (fault?.latencyInMs !== undefined) await sleep(fault.latencyInMs);
    if (fault?.status !== undefined) {
      const headers: Record<string, string> =
        fault.retryAfterInSeconds === undefined ? {} : { 'Retry-After': String(fault.retryAfterInSeconds) };
      const code = fault.error?.code ?? defaultErrorCode(fault.status);
      return prepare({
        status: fault.status,
        headers,
        body: errorBody(code, fault.error?.message ?? `Injected ${code}.`),
      });
    }
    const clientRequestId = headerValue(request.headers, 'x-ms-client-request-id');
    const replayKey =
      clientRequestId !== undefined && WRITE_METHODS.has(method)
        ? `${method} ${subPath.toLowerCase()} ${clientRequestId}`
        : undefined;
    const replay = replayKey === undefined ? undefined : replays.get(replayKey);
    if (replay !== undefined) return replay;
    const response = prepare(
      routeNetworking(state, { method, segments: splitPath(subPath), headers: request.headers, body, fault }),
    );
    if (fault?.retryAfterInSeconds !== undefined) response.headers['Retry-After'] = String(fault.retryAfterInSeconds);
    // Only applied writes are remembered: a retry of a rejected write must be evaluated again (the 409's lock may be gone).
    if (replayKey !== undefined && response.status >= 200 && response.status < 300) {
      if (replays.size >= REPLAY_CAPACITY) replays.delete(replays.keys().next().value as string);
      response.headers['x-ms-request-id'] ??= newGuid();
      replays.set(replayKey, response);
    }
    return response;
  }

  function send(request: IncomingMessage, response: ServerResponse, prepared: PreparedResponse): number {
    const headers: Record<string, string> = {
      Server: 'Microsoft-HTTPAPI/2.0',
      'x-ms-request-id': newGuid(),
      ...prepared.headers,
    };
    const clientRequestId = headerValue(request.headers, 'x-ms-client-request-id');
    const returnId = headerValue(request.headers, 'x-ms-return-client-request-id');
    if (clientRequestId !== undefined && returnId?.trim().toLowerCase() !== 'false') {
      headers['x-ms-client-request-id'] = clientRequestId;
    }
    const bytes = prepared.text === undefined ? undefined : Buffer.from(prepared.text, 'utf8');
    if (bytes !== undefined) headers['Content-Type'] = 'application/json; charset=utf-8';
    if (prepared.status !== 204) headers['Content-Length'] = String(bytes?.length ?? 0);
    response.writeHead(prepared.status, headers);
    response.end(bytes);
    return bytes?.length ?? 0;
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const started = Date.now();
    const url = new URL(request.url ?? '/', 'https://emulator.invalid');
    const method = (request.method ?? 'GET').toUpperCase();
    let body: Buffer = Buffer.alloc(0);
    let prepared: PreparedResponse;
    const base = BASE_PATH.exec(url.pathname);
    const admin = ADMIN_PATH.exec(url.pathname);
    try {
      body = await readBody(request);
      if (admin !== null) {
        const segments = splitPath(url.pathname.slice(admin[0].length));
        prepared = prepare(routeAdmin({ state, requestLog, reset }, method, segments, body));
      } else if (base !== null) {
        prepared = await handleNetworking(request, url.pathname.slice(base[0].length) || '/', body);
      } else {
        throw notFound(url.pathname);
      }
    } catch (error) {
      prepared = failure(error);
    }
    const responseBytes = send(request, response, prepared);
    if (admin !== null) return;
    requestLog.add({
      time: new Date(started).toISOString(),
      method,
      path: url.pathname,
      query: url.search.replace(/^\?/, ''),
      status: prepared.status,
      clientRequestId: headerValue(request.headers, 'x-ms-client-request-id') ?? null,
      ifMatch: headerValue(request.headers, 'if-match') ?? null,
      requestBytes: body.length,
      responseBytes,
      durationInMs: Date.now() - started,
    });
  }

  const server = createServer(
    {
      cert: options.tls.certPem,
      key: options.tls.keyPem,
      ca: [options.tls.caCertPem],
      requestCert: allowedThumbprints !== undefined,
      // Unauthorized clients still complete the handshake so they get NC's 403 body instead of a TLS alert.
      rejectUnauthorized: false,
    },
    (request, response) => {
      void handle(request, response).catch(() => {
        if (!response.headersSent) response.writeHead(500);
        response.end();
      });
    },
  );
  const listening = await listenHttps(server, options.port ?? 0, host);
  state.origin = listening.origin;

  return {
    origin: state.origin,
    baseUrl: `${state.origin}/networking/v1`,
    close: () => {
      state.operations.clear();
      return listening.close();
    },
  };
}
