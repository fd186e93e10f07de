import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';

import { listenHttps } from '../listen';
import { GUEST_SEED, guestSecretValue } from './seed';

export interface KeyVaultEmulatorOptions {
  /** A loopback address only. Default 127.0.0.1. */
  host?: string;
  /** 0 picks a free port. Default 8445, the port `npm start` uses. */
  port?: number;
  /** Server certificate and key, e.g. from dev/tls.ts. */
  tls: { certPem: string; keyPem: string };
  /** Seed the lab's guest credentials (`contoso-guest`, `fabrikam-guest`). Default true. */
  seed?: boolean;
}

export interface RunningKeyVaultEmulator {
  /** The vault URL, as `KEY_VAULT_URL` takes it. */
  origin: string;
  close(): Promise<void>;
}

export const DEFAULT_KEY_VAULT_EMULATOR_PORT = 8445;

interface StoredSecret {
  name: string;
  version: string;
  value: string;
  contentType?: string;
  enabled: boolean;
  created: number;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost']);
const SECRET_NAME = /^[0-9a-zA-Z-]{1,127}$/;
const SECRET_PATH = /^\/secrets\/([^/]+)(?:\/([0-9a-f]{32}))?\/?$/i;
const ADMIN_PATH = /^\/_emulator\/secrets\/([^/]+)\/?$/i;

/**
 * The Azure Key Vault secrets API, as the app uses it: `GET /secrets/{name}[/{version}]?api-version=7.4`, over HTTPS
 * on loopback, with Key Vault's bearer challenge (401 and `WWW-Authenticate` without a token; any well-formed token
 * is accepted) and its error shape. Under `/_emulator/secrets/{name}`, routes real Key Vault does not have: PUT
 * `{value, contentType?, enabled?}` sets a secret (a new version), DELETE removes it, GET says how often it was read
 * (never its value).
 */
export async function startKeyVaultEmulator(options: KeyVaultEmulatorOptions): Promise<RunningKeyVaultEmulator> {
  const host = options.host ?? '127.0.0.1';
  if (!LOOPBACK_HOSTS.has(host))
    throw new RangeError(`The Key Vault emulator listens on loopback only, not on ${host}`);
  const secrets = new Map<string, StoredSecret>();
  const reads = new Map<string, number>();
  const put = (name: string, value: string, contentType?: string, enabled = true) =>
    secrets.set(name.toLowerCase(), {
      name,
      version: randomUUID().replaceAll('-', ''),
      value,
      enabled,
      created: Math.floor(Date.now() / 1000),
      ...(contentType === undefined ? {} : { contentType }),
    });
  if (options.seed ?? true) {
    for (const account of Object.values(GUEST_SEED))
      put(account.secretName, guestSecretValue(account), 'application/json');
  }
  let origin = '';

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', origin);
    const method = (request.method ?? 'GET').toUpperCase();
    const body = await readBody(request);
    const admin = ADMIN_PATH.exec(url.pathname);
    if (admin) {
      const name = decodeURIComponent(admin[1] ?? '');
      if (!SECRET_NAME.test(name)) return write(response, 400, error('BadParameter', 'Invalid secret name.'));
      if (method === 'PUT') {
        const parsed = parseAdminBody(body);
        if (!parsed)
          return write(response, 400, error('BadParameter', 'Body must be {value, contentType?, enabled?}.'));
        put(name, parsed.value, parsed.contentType, parsed.enabled ?? true);
        return write(response, 200, { name, reads: reads.get(name.toLowerCase()) ?? 0 });
      }
      if (method === 'DELETE') {
        secrets.delete(name.toLowerCase());
        return write(response, 204);
      }
      if (method === 'GET') return write(response, 200, { name, reads: reads.get(name.toLowerCase()) ?? 0 });
      return write(response, 405, error('MethodNotAllowed', `${method} is not allowed here.`));
    }
    const authorization = request.headers.authorization;
    if (authorization === undefined || !/^Bearer \S+$/.test(authorization)) {
      return write(response, 401, error('Unauthorized', 'AKV10000: Request is missing a Bearer or PoP token.'), {
        'WWW-Authenticate':
          'Bearer authorization="https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000", resource="https://vault.azure.net"',
      });
    }
    const match = SECRET_PATH.exec(url.pathname);
    if (!match) return write(response, 404, error('NotFound', `No route for ${method} ${url.pathname}.`));
    if (method !== 'GET') return write(response, 405, error('MethodNotAllowed', `${method} is not allowed here.`));
    const apiVersion = url.searchParams.get('api-version');
    if (apiVersion === null)
      return write(response, 400, error('BadParameter', 'The api-version query parameter is missing.'));
    if (!/^7\.[0-9]+(-preview)?$/.test(apiVersion))
      return write(response, 400, error('BadParameter', `The specified version (${apiVersion}) is not supported.`));
    const name = decodeURIComponent(match[1] ?? '');
    const secret = SECRET_NAME.test(name) ? secrets.get(name.toLowerCase()) : undefined;
    if (!secret || (match[2] !== undefined && match[2].toLowerCase() !== secret.version)) {
      return write(
        response,
        404,
        error('SecretNotFound', `A secret with (name/id) ${name} was not found in this key vault.`),
      );
    }
    if (!secret.enabled)
      return write(response, 403, error('Forbidden', 'Operation get is not allowed on a disabled secret.'));
    reads.set(name.toLowerCase(), (reads.get(name.toLowerCase()) ?? 0) + 1);
    return write(response, 200, {
      value: secret.value,
      id: `${origin}/secrets/${secret.name}/${secret.version}`,
      ...(secret.contentType === undefined ? {} : { contentType: secret.contentType }),
      attributes: {
        enabled: secret.enabled,
        created: secret.created,
        updated: secret.created,
        recoveryLevel: 'Recoverable+Purgeable',
        recoverableDays: 90,
      },
      tags: {},
    });
  };

  const server = createServer({ cert: options.tls.certPem, key: options.tls.keyPem }, (request, response) => {
    handle(request, response).catch((cause: unknown) =>
      write(response, 500, error('InternalServerError', cause instanceof Error ? cause.message : 'unknown error')),
    );
  });
  const listening = await listenHttps(server, options.port ?? DEFAULT_KEY_VAULT_EMULATOR_PORT, host);
  origin = listening.origin;
  return listening;
}

function error(code: string, message: string) {
  return { error: { code, message } };
}

function parseAdminBody(text: string): { value: string; contentType?: string; enabled?: boolean } | undefined {
  try {
    const body = JSON.parse(text) as { value?: unknown; contentType?: unknown; enabled?: unknown };
    if (typeof body.value !== 'string') return undefined;
    if (body.contentType !== undefined && typeof body.contentType !== 'string') return undefined;
    if (body.enabled !== undefined && typeof body.enabled !== 'boolean') return undefined;
    return body as { value: string; contentType?: string; enabled?: boolean };
  } catch {
    return undefined;
  }
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > 64 * 1024) break;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function write(response: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
  if (response.headersSent) return;
  const text = body === undefined ? undefined : JSON.stringify(body);
  response.writeHead(status, {
    'x-ms-request-id': randomUUID(),
    ...headers,
    ...(text === undefined ? {} : { 'Content-Type': 'application/json; charset=utf-8' }),
  });
  response.end(text);
}
