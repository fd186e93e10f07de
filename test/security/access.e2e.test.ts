import { randomBytes } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { seedRequest } from '../support/seed';
import { type Stack, startStack } from '../support/stack';

const FUNCTION_KEY = `fk-${randomBytes(24).toString('base64url')}`;
const BEARER = `eyJ${randomBytes(48).toString('base64url')}`;
const KEYED = { 'x-functions-key': FUNCTION_KEY };
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('access end to end: function key, tenant isolation, unguessable ids', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({
      runnerArgs: ['--function-key', FUNCTION_KEY],
      defaultHeaders: KEYED,
      waitForEndTimeoutInMs: 40_000,
    });
    for (const id of ['c-0', 'c-1', 'c-2']) {
      const response = await stack.api('POST', '/tenants/contoso/attachments', {
        ...seedRequest(),
        attachmentId: id,
        containerIps: { count: 1 },
      });
      expect(response.status).toBe(202);
    }
    for (const id of ['c-0', 'c-1', 'c-2']) await stack.waitForEnd('contoso', id);
  });
  afterAll(() => stack.stop());

  const routes: { method: string; path: string; body?: unknown }[] = [
    { method: 'POST', path: '/tenants/keyless/attachments', body: { ...seedRequest(), attachmentId: 'keyless-1' } },
    { method: 'GET', path: '/tenants/contoso/attachments/c-0' },
    { method: 'GET', path: '/tenants/contoso/attachments' },
    { method: 'POST', path: '/tenants/contoso/attachments/c-0/cancel' },
    { method: 'POST', path: '/tenants/contoso/attachments/c-0/retry' },
    { method: 'DELETE', path: '/tenants/contoso/attachments/c-0' },
    { method: 'GET', path: '/admin/tenants' },
    { method: 'POST', path: '/admin/machines/ContainerHostVM1/private-cloud-plugin/remove' },
  ];

  const wrongKeys: Record<string, string>[] = [
    {},
    { 'x-functions-key': '' },
    { 'x-functions-key': FUNCTION_KEY.slice(0, -1) },
    { 'x-functions-key': `${FUNCTION_KEY}x` },
    { 'x-functions-key': FUNCTION_KEY.toUpperCase() },
    { 'x-functions-key': `${FUNCTION_KEY.slice(0, -1)}${FUNCTION_KEY.endsWith('A') ? 'B' : 'A'}` },
    { 'x-functions-key': `${FUNCTION_KEY},${FUNCTION_KEY}` },
    { authorization: `Bearer ${FUNCTION_KEY}` },
    { 'x-functions-clientid': FUNCTION_KEY },
  ];

  it('answers 401 to every route without the right key, before reading or storing anything', async () => {
    for (const route of routes) {
      for (const headers of wrongKeys) {
        const response = await stack.api(route.method, route.path, route.body, headers);
        expect(response.status, `${route.method} ${route.path} ${JSON.stringify(headers)}`).toBe(401);
        expect(response.text).not.toContain(FUNCTION_KEY);
        expect(response.text).not.toMatch(/c-0"|runtimeStatus/);
      }
      for (const code of ['', 'wrong', encodeURIComponent(FUNCTION_KEY.slice(1))]) {
        const sep = route.path.includes('?') ? '&' : '?';
        const response = await stack.api(route.method, `${route.path}${sep}code=${code}`, route.body, {});
        expect(response.status).toBe(401);
      }
    }
    expect((await stack.tableRows('attachments')).filter((r) => r.partitionKey === 'keyless')).toEqual([]);
    const contoso = await stack.api('GET', '/tenants/contoso/attachments/c-0');
    expect(contoso.body).toMatchObject({ runtimeStatus: 'Completed' });
  });

  it('serves requests that carry the key in x-functions-key or in ?code=', async () => {
    const viaHeader = await stack.api('POST', '/tenants/keyed/attachments', {
      ...seedRequest(),
      attachmentId: 'keyed-h',
      containerIps: { count: 1 },
    });
    expect(viaHeader.status).toBe(202);
    const viaQuery = await stack.api(
      'POST',
      `/tenants/keyed/attachments?code=${encodeURIComponent(FUNCTION_KEY)}`,
      { ...seedRequest(), attachmentId: 'keyed-q', containerIps: { count: 1 } },
      {},
    );
    expect(viaQuery.status).toBe(202);
    // statusQueryGetUri and Location never carry the key.
    expect(viaQuery.text).not.toContain(FUNCTION_KEY);
    expect(viaQuery.headers.get('location')).not.toContain(FUNCTION_KEY);

    const getQ = await stack.api(
      'GET',
      `/tenants/keyed/attachments/keyed-q?code=${encodeURIComponent(FUNCTION_KEY)}`,
      undefined,
      {},
    );
    expect([200, 202]).toContain(getQ.status);
    const listH = await stack.api('GET', '/tenants/keyed/attachments');
    expect(listH.status).toBe(200);
    expect((listH.body.value as { id: string }[]).map((v) => v.id).sort()).toEqual(['keyed-h', 'keyed-q']);
    await stack.waitForEnd('keyed', 'keyed-h');
    await stack.waitForEnd('keyed', 'keyed-q');
  });

  it('never prints the function key in the runner’s output', () => {
    expect(stack.output.join('\n')).not.toContain(FUNCTION_KEY);
  });

  it('keeps tenants apart: GET, list, cancel, retry and DELETE under another tenant see nothing', async () => {
    for (const id of ['c-0', 'c-1']) {
      const get = await stack.api('GET', `/tenants/fabrikam/attachments/${id}?showHistory=true`);
      expect(get.status).toBe(404);
      expect(get.text).not.toMatch(/contoso|192\.168/);
      for (const action of ['cancel', 'retry']) {
        expect((await stack.api('POST', `/tenants/fabrikam/attachments/${id}/${action}`)).status).toBe(404);
      }
      const detach = await stack.api('DELETE', `/tenants/fabrikam/attachments/${id}`);
      expect(detach.status).toBe(404);
      expect(detach.text.replaceAll(id, 'ID')).toBe(
        (await stack.api('DELETE', '/tenants/fabrikam/attachments/none-such')).text.replaceAll('none-such', 'ID'),
      );
    }
    const list = await stack.api(
      'GET',
      '/tenants/fabrikam/attachments?runtimeStatus=Completed,Failed,Pending,Running,Canceled',
    );
    expect(list.status).toBe(200);
    expect(list.body.value).toEqual([]);
    const contoso = await stack.api('GET', '/tenants/contoso/attachments/c-1');
    expect(contoso.body).toMatchObject({ runtimeStatus: 'Completed' });
  });

  it('a continuation token from one tenant’s list does not open another tenant’s rows', async () => {
    const first = await stack.api('GET', '/tenants/contoso/attachments?top=1');
    expect(first.status).toBe(200);
    const nextLink = first.body.nextLink as string;
    expect(nextLink).toBeTruthy();
    const token = new URL(nextLink).searchParams.get('continuationToken') ?? '';
    expect(token).not.toBe('');
    const foreign = await stack.api(
      'GET',
      `/tenants/fabrikam/attachments?top=100&continuationToken=${encodeURIComponent(token)}`,
    );
    expect([200, 400]).toContain(foreign.status);
    if (foreign.status === 200) expect(foreign.body.value).toEqual([]);
    // A forged token that names contoso's partition does not help either.
    const forged = Buffer.from(JSON.stringify({ nextPartitionKey: 'contoso', nextRowKey: '' })).toString('base64');
    const forgedAnswer = await stack.api(
      'GET',
      `/tenants/fabrikam/attachments?continuationToken=${encodeURIComponent(forged)}`,
    );
    expect([200, 400]).toContain(forgedAnswer.status);
    if (forgedAnswer.status === 200) expect(forgedAnswer.body.value).toEqual([]);
    expect(forgedAnswer.text).not.toContain('c-0');
  });

  it('refuses a tenantId in the body instead of filing the attachment under it', async () => {
    const response = await stack.api('POST', '/tenants/fabrikam/attachments', {
      ...seedRequest(),
      attachmentId: 'sneaky',
      tenantId: 'contoso',
    });
    expect(response.status).toBe(400);
    expect((response.body.error as { details: { target: string; message: string }[] }).details).toEqual([
      expect.objectContaining({ target: '(body)', message: expect.stringContaining('tenantId') as unknown }),
    ]);
    expect((await stack.tableRows('attachments')).filter((r) => String(r.rowKey).startsWith('sneaky'))).toEqual([]);
  });

  it('generates a random UUID for a request without attachmentId, and uses it everywhere', async () => {
    const { attachmentId: _omit, ...withoutId } = seedRequest();
    const seen: string[] = [];
    for (let i = 0; i < 3; i++) {
      const response = await stack.api('POST', '/tenants/uuids/attachments', {
        ...withoutId,
        containerIps: { count: 1 },
      });
      expect(response.status).toBe(202);
      const id = response.body.id as string;
      expect(id).toMatch(UUID_V4);
      expect(response.headers.get('location')).toBe(`${stack.apiUrl}/tenants/uuids/attachments/${id}`);
      seen.push(id);
    }
    expect(new Set(seen).size).toBe(3);
    const rows = (await stack.tableRows('attachments')).filter(
      (r) => r.partitionKey === 'uuids' && r.kind === 'attachment',
    );
    expect(rows.map((r) => r.rowKey).sort()).toEqual([...seen].sort());
    for (const id of seen) await stack.waitForEnd('uuids', id);
  });
  it('a DELETE carrying the key (header and ?code=) and a bearer token never echoes either, in its answers or the runner’s output', async () => {
    const headers = { ...KEYED, authorization: `Bearer ${BEARER}` };
    const path = `/tenants/contoso/attachments/c-2?code=${encodeURIComponent(FUNCTION_KEY)}`;
    const accepted = await stack.api('DELETE', path, undefined, headers);
    expect(accepted.status, accepted.text).toBe(202);
    const answers = [accepted.text, accepted.headers.get('location') ?? ''];
    expect(await stack.waitForEnd('contoso', 'c-2')).toMatchObject({ runtimeStatus: 'Detached' });
    const again = await stack.api('DELETE', path, undefined, headers);
    expect(again.status).toBe(200);
    answers.push(again.text, JSON.stringify([...again.headers]));
    for (const refused of [
      await stack.api('DELETE', '/tenants/contoso/attachments/none-such', undefined, headers),
      await stack.api('DELETE', '/tenants/contoso/attachments/c-0', undefined, { authorization: `Bearer ${BEARER}` }),
    ])
      answers.push(refused.text, JSON.stringify([...refused.headers]));
    const everything = [...answers, stack.output.join('\n')].join('\n');
    expect(everything).not.toContain(FUNCTION_KEY);
    expect(everything).not.toContain(BEARER);
    expect(everything).not.toContain(BEARER.slice(3, 27));
  });
});
