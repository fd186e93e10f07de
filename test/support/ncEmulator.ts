import { request } from 'node:https';

import { startNetworkControllerEmulator } from '../../dev/networkController/emulator';
import { createDevCertificateAuthority, type DevCertificateAuthority } from '../../dev/tls';

let sharedCa: DevCertificateAuthority | undefined;

/** One dev CA per test process: key generation is the slow part of starting an emulator. */
export function testCa(): DevCertificateAuthority {
  sharedCa ??= createDevCertificateAuthority('test CA');
  return sharedCa;
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
  const admin = async (method: string, path: string, body?: unknown): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const data = body === undefined ? undefined : JSON.stringify(body);
      const req = request(
        `${emulator.origin}${path}`,
        { method, ca: ca.caCertPem, headers: data ? { 'content-type': 'application/json' } : {} },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            resolve(text ? (JSON.parse(text) as unknown) : undefined);
          });
        },
      );
      req.on('error', reject);
      req.end(data);
    });
  return { ...emulator, ca, admin };
}
