import { request } from 'node:https';

import { startNetworkControllerEmulator } from '../../dev/networkController/emulator';
import { testCa } from './tls';

/**
 * A JSON request to an emulator (its admin routes included) over HTTPS with the test CA. An error status resolves
 * like any other answer unless `failOnErrorStatus`, for callers that must not mistake a refused set-up for done.
 */
export function emulatorRequest(
  url: string,
  method: string,
  body?: unknown,
  options: { failOnErrorStatus?: boolean } = {},
): Promise<unknown> {
  return new Promise((resolveBody, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      url,
      { method, ca: testCa().caCertPem, headers: data ? { 'content-type': 'application/json' } : {} },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (options.failOnErrorStatus && (res.statusCode ?? 500) >= 400) {
            const { pathname, search } = new URL(url);
            reject(new Error(`${method} ${pathname}${search}: ${res.statusCode} ${text}`));
            return;
          }
          resolveBody(text ? (JSON.parse(text) as unknown) : undefined);
        });
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

export async function startTestNetworkController(
  options: { clientCertificateThumbprints?: string[]; provisioningDelayInMs?: number } = {},
) {
  const ca = testCa();
  const emulator = await startNetworkControllerEmulator({
    port: 0,
    tls: { ...ca.issueServerCertificate(['127.0.0.1']), caCertPem: ca.caCertPem },
    provisioningDelayInMs: options.provisioningDelayInMs ?? 50,
    clientCertificateThumbprints: options.clientCertificateThumbprints,
  });
  const admin = (method: string, path: string, body?: unknown): Promise<unknown> =>
    emulatorRequest(`${emulator.origin}${path}`, method, body);
  return { ...emulator, ca, admin };
}
