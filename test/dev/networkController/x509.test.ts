import { Agent, request } from 'node:https';
import type { TLSSocket } from 'node:tls';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createDevCertificateAuthority, type IssuedCertificate } from '../../../dev/tls';
import { type Harness, type NicBody, SEED_NIC, startHarness } from './harness';

describe('NC emulator: x509 client authentication', () => {
  const ca = createDevCertificateAuthority('x509 test CA');
  const allowed: IssuedCertificate = ca.issueClientCertificate('sdn-attach-function');
  const unlisted: IssuedCertificate = ca.issueClientCertificate('someone-else');
  // Listed, but issued by a CA the controller does not trust.
  const foreign: IssuedCertificate =
    createDevCertificateAuthority('rogue CA').issueClientCertificate('sdn-attach-function');
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness(
      { clientCertificateThumbprints: [allowed.thumbprint, foreign.thumbprint.toLowerCase()] },
      ca,
    );
  });
  afterAll(async () => {
    await h.close();
  });

  it('answers 403 Forbidden without a client certificate', async () => {
    const res = await h.api('GET', `/networkInterfaces/${SEED_NIC}`);
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('Forbidden');
  });

  it('answers 403 to a trusted certificate whose thumbprint is not listed', async () => {
    const res = await h.api('GET', '/networkInterfaces', { clientCertificate: unlisted });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('Forbidden');
  });

  it('answers 403 to a listed thumbprint from an untrusted issuer', async () => {
    expect((await h.api('GET', '/networkInterfaces', { clientCertificate: foreign })).status).toBe(403);
  });

  it('serves a request that presents the listed certificate', async () => {
    const res = await h.api<NicBody>('GET', `/networkInterfaces/${SEED_NIC}`, { clientCertificate: allowed });
    expect(res.status).toBe(200);
    expect(res.body.resourceId).toBe(SEED_NIC);
  });

  it('keeps the client identity on resumed TLS sessions (what keep-alive HTTP clients do)', async () => {
    const agent = new Agent({ ca: ca.caCertPem, cert: allowed.certPem, key: allowed.keyPem, maxCachedSessions: 10 });
    const results: { status: number; resumed: boolean }[] = [];
    for (let i = 0; i < 3; i++) {
      results.push(
        await new Promise((resolve, reject) => {
          const req = request(
            `${h.emulator.baseUrl}/networkInterfaces`,
            { agent, headers: { Connection: 'close' } },
            (res) => {
              res.resume();
              res.on('end', () =>
                resolve({ status: res.statusCode ?? 0, resumed: (req.socket as TLSSocket).isSessionReused() }),
              );
            },
          );
          req.on('error', reject);
          req.end();
        }),
      );
    }
    agent.destroy();
    expect(results.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(results.some((r) => r.resumed)).toBe(true);
  });

  it('rejects writes without the certificate before looking at them', async () => {
    const res = await h.api('PUT', `/networkInterfaces/${SEED_NIC}`, { body: {} });
    expect(res.status).toBe(403);
  });

  it('leaves /_emulator routes open so tests can drive the emulator', async () => {
    const res = await h.admin<{ status: number }[]>('GET', '/requests');
    expect(res.status).toBe(200);
    expect(res.body.map((r) => r.status)).toEqual([403, 403, 403, 200, 200, 200, 200, 403]);
  });
});
