import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { devAccessToken } from './accessToken';

/** One managed identity the endpoint hands out tokens for. */
export interface DevManagedIdentity {
  clientId: string;
  principalId?: string;
  /** `/subscriptions/.../providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}`, for `mi_res_id`. */
  resourceId?: string;
}

export interface ManagedIdentityEndpointOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** User-assigned identities attached to the "app". */
  userAssigned?: readonly DevManagedIdentity[];
  /** The system-assigned identity, if the "app" has one. */
  systemAssigned?: DevManagedIdentity;
  tenantId?: string;
  /** Default 3600 s. */
  tokenLifetimeInSeconds?: number;
}

export interface IssuedToken {
  resource: string;
  clientId: string;
}

export interface RunningManagedIdentityEndpoint {
  /** What App Service sets for the app: the two variables Azure SDKs read to find the endpoint. */
  environment: { IDENTITY_ENDPOINT: string; IDENTITY_HEADER: string };
  /** Every token handed out, in order (the identity it was for and its resource). */
  readonly issued: readonly IssuedToken[];
  close(): Promise<void>;
}

const API_VERSION = '2019-08-01';
const TOKEN_PATH = '/msi/token';

/**
 * The managed identity endpoint App Service and Azure Functions give an app (`IDENTITY_ENDPOINT`, guarded by the
 * `X-IDENTITY-HEADER` secret in `IDENTITY_HEADER`), on loopback over HTTP as on the platform:
 * `GET /msi/token?api-version=2019-08-01&resource=...[&client_id=...|&mi_res_id=...|&principal_id=...]` answers
 * `{access_token, expires_on, resource, token_type, client_id}`. The tokens are development tokens (see
 * accessToken.ts): they let the app's real ManagedIdentityCredential path run against Azurite's OAuth mode, with no
 * test switch in the app.
 */
export async function startManagedIdentityEndpoint(
  options: ManagedIdentityEndpointOptions = {},
): Promise<RunningManagedIdentityEndpoint> {
  const secret = randomBytes(24).toString('hex');
  const issued: IssuedToken[] = [];
  const userAssigned = options.userAssigned ?? [];

  const pick = (query: URLSearchParams): DevManagedIdentity | undefined => {
    const clientId = query.get('client_id');
    const resourceId = query.get('mi_res_id');
    const principalId = query.get('principal_id');
    if (clientId) return userAssigned.find((id) => id.clientId.toLowerCase() === clientId.toLowerCase());
    if (resourceId) return userAssigned.find((id) => id.resourceId?.toLowerCase() === resourceId.toLowerCase());
    if (principalId) return userAssigned.find((id) => id.principalId?.toLowerCase() === principalId.toLowerCase());
    return options.systemAssigned;
  };

  const handle = (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const reply = (status: number, body: object) => {
      response.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
      response.end(JSON.stringify(body));
    };
    const refuse = (status: number, message: string) =>
      reply(status, { statusCode: status, message, correlationId: randomUUID() });
    if (request.method !== 'GET' || url.pathname.replace(/\/+$/, '') !== TOKEN_PATH) {
      refuse(404, 'Not found.');
      return;
    }
    if (request.headers['x-identity-header'] !== secret) {
      refuse(401, 'The X-IDENTITY-HEADER header is missing or wrong.');
      return;
    }
    if (url.searchParams.get('api-version') !== API_VERSION) {
      refuse(400, `Unsupported api-version; this endpoint speaks ${API_VERSION}.`);
      return;
    }
    const resource = url.searchParams.get('resource');
    if (!resource) {
      refuse(400, 'The resource parameter is required.');
      return;
    }
    const identity = pick(url.searchParams);
    if (!identity) {
      refuse(
        400,
        'No User Assigned or Delegated Managed Identity found for specified ClientId/ResourceId/PrincipalId.',
      );
      return;
    }
    const { token, expiresOnInSeconds } = devAccessToken({
      audience: resource,
      clientId: identity.clientId,
      principalId: identity.principalId,
      tenantId: options.tenantId,
      lifetimeInSeconds: options.tokenLifetimeInSeconds,
    });
    issued.push({ resource, clientId: identity.clientId });
    reply(200, {
      access_token: token,
      expires_on: String(expiresOnInSeconds),
      resource,
      token_type: 'Bearer',
      client_id: identity.clientId,
    });
  };

  const server = createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    environment: { IDENTITY_ENDPOINT: `http://127.0.0.1:${port}${TOKEN_PATH}`, IDENTITY_HEADER: secret },
    issued,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((cause) => (cause ? reject(cause) : resolve()));
        server.closeAllConnections();
      }),
  };
}
