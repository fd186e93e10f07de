import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';

import { ApiClient } from '../../cli/ApiClient';
import { ApiError, ApiUnreachableError, ExitCode } from '../../cli/errors';

async function fakeApi(status: number, body: string, headers: Record<string, string> = {}) {
  const requests: { method?: string; url?: string; headers: IncomingMessage['headers']; body: string }[] = [];
  const server: Server = createServer((request, response) => {
    let text = '';
    request.on('data', (c: Buffer) => (text += c.toString('utf8')));
    request.on('end', () => {
      requests.push({ method: request.method, url: request.url, headers: request.headers, body: text });
      response.writeHead(status, { 'content-type': 'application/json', ...headers });
      response.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { apiUrl: `http://127.0.0.1:${port}/api`, requests, close: () => new Promise((r) => server.close(r)) };
}

const noWait = () => Promise.resolve();

describe('ApiClient', () => {
  let close: (() => Promise<unknown>) | undefined;
  afterEach(async () => {
    await close?.();
    close = undefined;
  });

  it('sends the function key and the bearer token as headers, never in the URL, and encodes the route', async () => {
    const api = await fakeApi(200, JSON.stringify({ value: [], nextLink: null }));
    close = api.close;
    const client = new ApiClient({ apiUrl: `${api.apiUrl}/`, functionKey: 'the-key', bearerToken: 'the-token' });
    await client.listAttachments('t1', { runtimeStatus: ['Failed', 'Running'], top: 5 });
    const [request] = api.requests;
    expect(request?.method).toBe('GET');
    expect(request?.url).toBe('/api/tenants/t1/attachments?runtimeStatus=Failed%2CRunning&top=5');
    expect(request?.headers['x-functions-key']).toBe('the-key');
    expect(request?.headers.authorization).toBe('Bearer the-token');
  });

  it('turns an error answer into ApiError with the code, message and every field detail (exit 2)', async () => {
    const details = [{ code: 'InvalidField', target: 'containerIps.count', message: 'must be at most 256' }];
    const api = await fakeApi(400, JSON.stringify({ error: { code: 'InvalidRequest', message: 'bad', details } }));
    close = api.close;
    const error = await new ApiClient({ apiUrl: api.apiUrl })
      .submitAttachment('t1', { containerIps: { count: 300 } })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 400, code: 'InvalidRequest', message: 'bad', details });
    expect((error as ApiError).exitCode).toBe(ExitCode.Usage);
    expect(api.requests[0]?.body).toBe('{"containerIps":{"count":300}}');
  });

  it('does not resend a POST after a 503 (it may have run), but does after a 429', async () => {
    const api = await fakeApi(503, JSON.stringify({ error: { code: 'ServerBusy', message: 'busy' } }));
    close = api.close;
    const error = await new ApiClient({ apiUrl: api.apiUrl, sleep: noWait })
      .cancelAttachment('t1', 'a1')
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 503, code: 'ServerBusy' });
    expect((error as ApiError).exitCode).toBe(ExitCode.Unreachable);
    expect(api.requests).toHaveLength(1);

    const throttled = await fakeApi(429, JSON.stringify({ error: { code: 'TooManyRequests', message: 'slow' } }));
    const closeFirst = close;
    close = async () => {
      await closeFirst();
      await throttled.close();
    };
    const waits: number[] = [];
    await new ApiClient({
      apiUrl: throttled.apiUrl,
      sleep: (ms) => {
        waits.push(ms);
        return Promise.resolve();
      },
    })
      .cancelAttachment('t1', 'a1')
      .catch(() => undefined);
    expect(throttled.requests).toHaveLength(4);
    expect(waits).toHaveLength(3);
  });

  it('says the API cannot be reached (exit 4) when nothing listens, after its retries', async () => {
    const api = await fakeApi(200, '{}');
    await api.close();
    const waits: number[] = [];
    const error = await new ApiClient({
      apiUrl: api.apiUrl,
      functionKey: 'secret-key-1',
      sleep: (ms) => {
        waits.push(ms);
        return Promise.resolve();
      },
    })
      .getAttachment('t1', 'a1')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiUnreachableError);
    expect((error as Error).message).toBe(`Cannot reach the API at ${api.apiUrl}: ECONNREFUSED`);
    expect((error as ApiUnreachableError).exitCode).toBe(ExitCode.Unreachable);
    expect(waits).toHaveLength(3);
  });

  it('refuses an answer that is not the API’s (a proxy page, another server) instead of misreading it', async () => {
    const api = await fakeApi(200, '<html>sign in</html>');
    close = api.close;
    await expect(new ApiClient({ apiUrl: api.apiUrl }).getAttachment('t1', 'a1')).rejects.toBeInstanceOf(
      ApiUnreachableError,
    );
    const html = await fakeApi(401, '<html>401</html>');
    const closeFirst = close;
    close = async () => {
      await closeFirst();
      await html.close();
    };
    await expect(new ApiClient({ apiUrl: html.apiUrl }).getAttachment('t1', 'a1')).rejects.toMatchObject({
      status: 401,
      code: 'Http401',
    });
  });
});
