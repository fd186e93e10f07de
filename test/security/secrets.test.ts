import { randomBytes } from 'node:crypto';

import { HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { describe, expect, it } from 'vitest';

import { accessPolicy, forTenantCallers } from '../../shared/functionsHost/access';
import { attachmentRequest, listRequest, recordingContext } from '../support/functionsHost';
import { seedRequest } from '../support/seed';
import { testCa } from '../support/tls';
import { handlerSet } from './support/handlers';
import { leaks, pemBodyFragments, slices } from './support/secrets';

/**
 * What a caller's request may carry that must never come back: the function key (header and ?code=), a bearer
 * token, the client certificate App Service forwards (and, never sent, its private key). Each is in every request.
 */
const FUNCTION_KEY = `fk-${randomBytes(24).toString('base64url')}`;
const BEARER = `eyJ${randomBytes(48).toString('base64url')}`;
const client = testCa().issueClientCertificate('caller-with-secrets');
const CLIENT_CERT_B64 = Buffer.from(client.certPem).toString('base64');
const SECRETS: Record<string, string[]> = {
  'function key': [FUNCTION_KEY],
  'bearer token': slices(BEARER, 24),
  'client certificate': slices(CLIENT_CERT_B64, 24),
  'client key': pemBodyFragments(client.keyPem),
};
const CREDENTIALS = {
  'x-functions-key': FUNCTION_KEY,
  authorization: `Bearer ${BEARER}`,
  'x-arr-clientcert': CLIENT_CERT_B64,
};

type Handlers = ReturnType<typeof handlerSet>;

/** Every attachment route with the credentials planted; DELETE in each of its outcomes. */
async function everyAnswer(h: Handlers): Promise<string[]> {
  const texts: string[] = [];
  const call = async (
    handler: (request: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit>,
    request: HttpRequest,
  ): Promise<void> => {
    const { context, logs, outputs } = recordingContext('route');
    const response = await handler(request, context);
    texts.push(JSON.stringify(response), JSON.stringify(outputs), ...logs);
  };
  const withKeys = (method: 'GET' | 'POST' | 'DELETE', tenantId: string, id: string, suffix = '') =>
    attachmentRequest(method, tenantId, id, suffix, `?code=${encodeURIComponent(FUNCTION_KEY)}`, CREDENTIALS);
  for (const id of ['seed-1', 'nope', '..%2Fx']) {
    await call(h.detach, withKeys('DELETE', 'contoso', id));
    await call(h.cancel, withKeys('POST', 'contoso', id, '/cancel'));
    await call(h.retry, withKeys('POST', 'contoso', id, '/retry'));
    await call((request) => h.get(request), withKeys('GET', 'contoso', id));
  }
  // Detached by now: the 200 answer.
  await h.store.updateAttachment('contoso', 'seed-1', (r) => ({
    record: { ...r, runtimeStatus: 'Detached', currentStep: undefined },
  }));
  await call(h.detach, withKeys('DELETE', 'contoso', 'seed-1'));
  await call((request) => h.list(request), listRequest('contoso', `?code=${encodeURIComponent(FUNCTION_KEY)}`));
  return texts;
}

describe('no secret a caller sends comes back from DELETE (or any attachment route)', () => {
  it('the secrets under test are real, distinctive strings, and the search finds a planted one', () => {
    expect(SECRETS['client key']?.length).toBeGreaterThan(20);
    expect(SECRETS['client certificate']?.length).toBeGreaterThan(20);
    expect(leaks(`x ${SECRETS['bearer token']?.[1] ?? ''} y`, SECRETS)).toHaveLength(1);
  });

  it('in no answer, output binding or log line, whatever the outcome', async () => {
    const h = handlerSet();
    const { context } = recordingContext('submitAttachment');
    await h.submit(
      new HttpRequest({
        method: 'POST',
        url: 'http://127.0.0.1:7071/api/tenants/contoso/attachments',
        params: { tenantId: 'contoso' },
        headers: { 'content-type': 'application/json', ...CREDENTIALS },
        body: { string: JSON.stringify(seedRequest()) },
      }),
      context,
    );
    await h.store.updateAttachment('contoso', 'seed-1', (r) => ({ record: { ...r, runtimeStatus: 'Completed' } }));
    const texts = await everyAnswer(h);
    expect(texts.some((t) => t.includes('"status":202'))).toBe(true);
    expect(texts.some((t) => t.includes('"status":200'))).toBe(true);
    expect(texts.some((t) => t.includes('"status":400'))).toBe(true);
    expect(texts.some((t) => t.includes('"status":404'))).toBe(true);
    expect(leaks(texts.join('\n'), SECRETS)).toEqual([]);
    // Nor in what was stored.
    const stored = [
      JSON.stringify(await h.store.getAttachment('contoso', 'seed-1')),
      JSON.stringify(await h.store.listHistory('contoso', 'seed-1')),
    ];
    expect(leaks(stored.join('\n'), SECRETS)).toEqual([]);
  });

  it('nor in the refusals of the caller check in front of DELETE (401, 404 for another tenant)', async () => {
    const h = handlerSet();
    const guarded = forTenantCallers(
      () => ({
        access: accessPolicy({
          identity: { platformAuthEnabled: true, operatorRole: 'SdnAttach.Operator', tenantRole: 'SdnAttach.Tenant' },
        }),
        tenants: h.tenants,
      }),
      h.detach,
    );
    const principal = Buffer.from(
      JSON.stringify({
        auth_typ: 'aad',
        claims: [
          {
            typ: 'http://schemas.microsoft.com/identity/claims/objectidentifier',
            val: 'bbbbbbbb-0000-4000-8000-000000000002',
          },
          { typ: 'roles', val: 'SdnAttach.Tenant' },
        ],
      }),
    ).toString('base64');
    const texts: string[] = [];
    for (const headers of [CREDENTIALS, { ...CREDENTIALS, 'x-ms-client-principal': principal }]) {
      const { context, logs } = recordingContext('detachAttachment');
      const response = await guarded(
        attachmentRequest('DELETE', 'contoso', 'seed-1', '', `?code=${encodeURIComponent(FUNCTION_KEY)}`, headers),
        context,
      );
      expect([401, 404]).toContain(response.status);
      texts.push(JSON.stringify(response), ...logs);
    }
    expect(leaks(texts.join('\n'), SECRETS)).toEqual([]);
  });
});
