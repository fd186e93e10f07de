import { QueueClient } from '@azure/storage-queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type RunningAzurite, startAzurite } from '../../../dev/azurite';
import { type RunningLocalRunner, startLocalRunner } from '../../../dev/runner';
import { assertBuilt, FIXTURE_ROOT, loadProbe, REGISTRY_MODULE_PATH, waitFor } from './helpers';

const FUNCTION_KEY = 'test-function-key';
const probe = loadProbe();
const logLines: string[] = [];
let azurite: RunningAzurite;
let runner: RunningLocalRunner;

function api(pathAndQuery: string): string {
  return `${runner.httpUrl}/${pathAndQuery}`;
}

beforeAll(async () => {
  assertBuilt();
  azurite = await startAzurite({ blobPort: 0, queuePort: 0, tablePort: 0 });
  process.env.AzureWebJobsStorage = azurite.connectionString;
  runner = await startLocalRunner({
    appRoot: FIXTURE_ROOT,
    httpPort: 0,
    functionKey: FUNCTION_KEY,
    registryModulePath: REGISTRY_MODULE_PATH,
    log: (line) => logLines.push(line),
  });
});

afterAll(async () => {
  await runner?.stop();
  await azurite?.stop();
});

describe('HTTP triggers', () => {
  it('serves under http://127.0.0.1:<port>/api', () => {
    expect(runner.httpUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api$/);
  });

  it('matches route parameters (decoded) and passes the query', async () => {
    const response = await fetch(api('tenants/t-1/attachments/a%201?q=x'));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.json()).toEqual({ params: { tenantId: 't-1', id: 'a 1' }, q: 'x', method: 'GET' });
  });

  it('matches case-insensitively and treats {id?} as optional', async () => {
    const response = await fetch(api('TENANTS/t-2/Attachments'));
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ params: { tenantId: 't-2' } });
  });

  it('joins a repeated query key with commas, as the host does', async () => {
    const response = await fetch(api('tenants/t/attachments/a?q=x&q=y'));
    expect(await response.json()).toMatchObject({ q: 'x,y' });
  });

  it('passes the body and returns an HttpResponse with status and headers', async () => {
    const response = await fetch(api('echo/42'), { method: 'POST', body: 'hello body' });
    expect(response.status).toBe(201);
    expect(response.headers.get('x-echo')).toBe('42');
    expect(await response.text()).toBe('hello body');
  });

  it('returns Headers objects, cookies and byte bodies from an HttpResponse', async () => {
    const response = await fetch(api('raw'));
    expect(response.status).toBe(200);
    expect(response.headers.get('x-kind')).toBe('headers-object');
    expect(response.headers.get('set-cookie')).toBe('session=abc; Path=/; HttpOnly');
    expect([...new Uint8Array(await response.arrayBuffer())]).toEqual([1, 2, 3]);
  });

  it('serves a function without a route under its name with the default methods', async () => {
    for (const method of ['GET', 'POST']) {
      const response = await fetch(api('ping'), { method });
      expect(await response.text()).toBe('pong');
    }
  });

  it('answers 204 when the handler returns nothing', async () => {
    const response = await fetch(api('nothing'));
    expect(response.status).toBe(204);
  });

  it('answers 404 JSON for no matching route, including a failed {n:int} constraint', async () => {
    for (const path of ['nope', 'echo/abc']) {
      const response = await fetch(api(path), { method: 'POST' });
      expect(response.status).toBe(404);
      expect(await response.json()).toMatchObject({ error: { code: 'NotFound' } });
    }
    const outsidePrefix = await fetch(runner.httpUrl.replace(/\/api$/, '/ping'));
    expect(outsidePrefix.status).toBe(404);
  });

  it('answers 405 with Allow for a wrong method', async () => {
    const response = await fetch(api('echo/1'));
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
    expect(await response.json()).toMatchObject({ error: { code: 'MethodNotAllowed' } });
  });

  it('requires the function key for authLevel function, as ?code= or x-functions-key', async () => {
    expect((await fetch(api('secure'))).status).toBe(401);
    expect((await fetch(api('secure?code=wrong'))).status).toBe(401);
    const byQuery = await fetch(api(`secure?code=${FUNCTION_KEY}`));
    expect(byQuery.status).toBe(200);
    expect(await byQuery.text()).toBe('secret');
    const byHeader = await fetch(api('secure'), { headers: { 'x-functions-key': FUNCTION_KEY } });
    expect(byHeader.status).toBe(200);
    // Anonymous functions stay open.
    expect((await fetch(api('ping'))).status).toBe(200);
  });

  it('writes queue outputs after success, and the listener of that queue picks them up', async () => {
    const response = await fetch(api('enqueue'), { method: 'POST', body: JSON.stringify({ runId: 'from-http' }) });
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({ accepted: true });

    const step2 = await waitFor('the chain started over HTTP to reach step 2', () =>
      probe.eventsOf('chainStep2').find((e) => (e.input as { runId?: string }).runId === 'from-http'),
    );
    expect(step2.metadata?.dequeueCount).toBe(1);
  });

  it('answers 500 JSON for a throwing handler and writes none of its outputs', async () => {
    const response = await fetch(api('boom'), { method: 'POST' });
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ error: { code: 'InternalError', message: 'boom failed on purpose' } });
    expect(await new QueueClient(azurite.connectionString, 'runner-boom-out').exists()).toBe(false);
    expect(logLines.some((line) => line.includes("Executed 'boom' (Failed"))).toBe(true);
  });

  it('answers 500 when the handler returns something that is not a response', async () => {
    const response = await fetch(api('bad-return'));
    expect(response.status).toBe(500);
    expect(await response.json()).toMatchObject({
      error: { message: expect.stringContaining('HTTP response must be an object') as unknown },
    });
  });

  it('rejects bodies over 1 MiB with 413', async () => {
    const response = await fetch(api('echo/1'), { method: 'POST', body: Buffer.alloc(1024 * 1024 + 1, 97) });
    expect(response.status).toBe(413);
    const atLimit = await fetch(api('echo/1'), { method: 'POST', body: Buffer.alloc(1024 * 1024, 97) });
    expect(atLimit.status).toBe(201);
    expect((await atLimit.text()).length).toBe(1024 * 1024);
  });
});
