import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';

import { listenHttps } from '../listen';
import { routeAdmin } from './adminRoutes';
import { routeArm } from './armRoutes';
import { ArmState } from './ArmState';
import { defaultErrorCode, type FaultRule } from './faults';
import { ArmHttpError, type JsonResponse, readBody } from './http';

export interface ArmEmulatorOptions {
  /** A loopback address only. Default 127.0.0.1. */
  host?: string;
  /** 0 picks a free port. Default 8444, the port `npm start` uses. */
  port?: number;
  /** Server certificate and key, e.g. from dev/tls.ts. */
  tls: { certPem: string; keyPem: string };
  /** Seed the lab machines (HV01, ContainerHostVM1, ContainerHostVM2, HV02). Default true. */
  seed?: boolean;
  /** Time a run takes from PUT to its end (Pending, then Running, then terminal). Default 300 ms. */
  runDurationInMs?: number;
}

export interface RunningArmEmulator {
  origin: string;
  close(): Promise<void>;
}

export const DEFAULT_ARM_EMULATOR_PORT = 8444;

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost']);
const ADMIN_PATH = /^\/_emulator(?=\/|$)/i;

/**
 * Azure Resource Manager for Arc-enabled machines and their run commands, over HTTPS on loopback, backed by
 * simulated Windows machines. See `GET /_emulator/machines/{name}` for what the product's scripts did to a machine.
 */
export async function startArmEmulator(options: ArmEmulatorOptions): Promise<RunningArmEmulator> {
  const host = options.host ?? '127.0.0.1';
  if (!LOOPBACK_HOSTS.has(host)) throw new RangeError(`The ARM emulator listens on loopback only, not on ${host}`);
  const state = new ArmState({ seed: options.seed ?? true, runDurationInMs: options.runDurationInMs ?? 300 });
  let origin = '';

  const server = createServer({ cert: options.tls.certPem, key: options.tls.keyPem }, (request, response) => {
    handle(state, origin, request, response).catch((error: unknown) => {
      write(response, { status: 500, body: { error: { code: 'InternalServerError', message: String(error) } } });
    });
  });
  const listening = await listenHttps(server, options.port ?? DEFAULT_ARM_EMULATOR_PORT, host);
  origin = listening.origin;
  return listening;
}

async function handle(
  state: ArmState,
  origin: string,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const url = new URL(request.url ?? '/', origin);
  const method = (request.method ?? 'GET').toUpperCase();
  let result: JsonResponse;
  try {
    const bodyText = await readBody(request);
    if (ADMIN_PATH.test(url.pathname)) {
      result = routeAdmin(state, method, url.pathname, bodyText);
    } else {
      const fault = state.faults.take(method, url.pathname);
      if (fault?.latencyInMs) await sleep(fault.latencyInMs);
      const authorization = request.headers.authorization;
      if (fault?.status !== undefined) {
        result = faultResponse(fault, fault.status);
      } else if (authorization !== undefined && !/^Bearer \S+$/.test(authorization)) {
        throw new ArmHttpError(401, 'InvalidAuthenticationToken', 'The access token is invalid.');
      } else {
        result = routeArm(state, { method, path: url.pathname, query: url.searchParams, bodyText, origin });
      }
    }
  } catch (error) {
    if (!(error instanceof ArmHttpError)) throw error;
    result = error.toResponse();
  }
  const requestId = randomUUID();
  write(response, {
    ...result,
    headers: {
      'x-ms-request-id': requestId,
      'x-ms-correlation-request-id': request.headers['x-ms-client-request-id']?.toString() ?? requestId,
      ...result.headers,
    },
  });
}

function faultResponse(fault: FaultRule, status: number): JsonResponse {
  const error = fault.error ?? { code: defaultErrorCode(status), message: `Injected fault: HTTP ${status}.` };
  return {
    status,
    headers: fault.retryAfterInSeconds === undefined ? {} : { 'Retry-After': String(fault.retryAfterInSeconds) },
    body: { error },
  };
}

function write(response: ServerResponse, result: JsonResponse): void {
  if (response.headersSent) return;
  const text = result.body === undefined ? undefined : JSON.stringify(result.body);
  response.writeHead(result.status, {
    ...result.headers,
    ...(text === undefined ? {} : { 'Content-Type': 'application/json; charset=utf-8' }),
  });
  response.end(text);
}
