import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';

import { ApiClient } from '../../cli/ApiClient';
import type { AttachmentDocument } from '../../cli/documents';
import { hasEnded, watchAttachment } from '../../cli/watchAttachment';

type Answer = { status: number; headers?: Record<string, string>; body: unknown };

/** A stand-in for the API that answers each request with the next scripted answer and records what it got. */
async function fakeApi(answers: Answer[]) {
  const requests: IncomingMessage[] = [];
  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    requests.push(request);
    const answer = answers.shift() ?? { status: 500, body: { error: { code: 'OutOfScript', message: 'no more' } } };
    response.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
    response.end(JSON.stringify(answer.body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { apiUrl: `http://127.0.0.1:${port}/api`, requests, close: () => new Promise((r) => server.close(r)) };
}

function document(runtimeStatus: AttachmentDocument['runtimeStatus'], extra: Partial<AttachmentDocument> = {}) {
  return {
    id: 'a1',
    tenantId: 't1',
    runtimeStatus,
    currentStep: 'addIpConfigurations',
    createdTime: '2026-12-06T00:00:00.000Z',
    lastUpdatedTime: '2026-12-06T00:00:01.000Z',
    statusQueryGetUri: 'http://127.0.0.1/api/tenants/t1/attachments/a1',
    steps: [],
    ...extra,
  };
}

describe('watchAttachment', () => {
  let close: (() => Promise<unknown>) | undefined;
  afterEach(async () => {
    await close?.();
    close = undefined;
  });

  it('waits as long as each answer’s Retry-After says, in seconds or as an HTTP date, until the attachment ends', async () => {
    const inNineSeconds = new Date(Date.now() + 9_000).toUTCString();
    const api = await fakeApi([
      { status: 202, headers: { 'Retry-After': '7' }, body: document('Pending') },
      { status: 202, headers: { 'Retry-After': inNineSeconds }, body: document('Running') },
      { status: 202, headers: { 'Retry-After': '1' }, body: document('Running') },
      { status: 200, body: document('Completed') },
    ]);
    close = api.close;
    const waits: number[] = [];
    const sleep = (ms: number) => {
      waits.push(ms);
      return Promise.resolve();
    };
    const seen: string[] = [];
    const last = await watchAttachment(new ApiClient({ apiUrl: api.apiUrl, sleep }), 't1', 'a1', {
      sleep,
      onDocument: (d) => seen.push(d.runtimeStatus),
    });

    expect(last.runtimeStatus).toBe('Completed');
    expect(seen).toEqual(['Pending', 'Running', 'Running', 'Completed']);
    expect(waits[0]).toBe(7_000);
    // An HTTP date is a moment, not a length: what is left of it when the answer is read.
    expect(waits[1]).toBeGreaterThan(7_000);
    expect(waits[1]).toBeLessThanOrEqual(9_000);
    expect(waits[2]).toBe(1_000);
    expect(waits).toHaveLength(3);
    expect(api.requests.map((r) => `${r.method} ${r.url}`)).toEqual(
      Array(4).fill('GET /api/tenants/t1/attachments/a1'),
    );
  });

  it('honours Retry-After on a 503 or 429 before asking again, and uses the default wait when there is none', async () => {
    const api = await fakeApi([
      { status: 503, headers: { 'Retry-After': '30' }, body: { error: { code: 'ServerBusy', message: 'busy' } } },
      { status: 429, headers: { 'Retry-After': '3' }, body: { error: { code: 'TooManyRequests', message: 'slow' } } },
      // An attach that ended but has a detach asked for goes on; without Retry-After the default wait applies.
      { status: 200, body: document('Canceled', { detachSteps: [] }) },
      { status: 200, body: document('Detached', { detachSteps: [] }) },
    ]);
    close = api.close;
    const waits: number[] = [];
    const sleep = (ms: number) => {
      waits.push(ms);
      return Promise.resolve();
    };
    const last = await watchAttachment(new ApiClient({ apiUrl: api.apiUrl, sleep }), 't1', 'a1', {
      sleep,
      defaultPollInMs: 1_234,
      onDocument: () => undefined,
    });
    expect(last.runtimeStatus).toBe('Detached');
    // 30 s is longer than the backoff's own cap (8 s): what the server asked for wins.
    expect(waits).toEqual([30_000, 3_000, 1_234]);
  });

  it('stops at once on Ctrl-C (the signal), without another request', async () => {
    const api = await fakeApi([{ status: 202, headers: { 'Retry-After': '60' }, body: document('Running') }]);
    close = api.close;
    const interrupt = new AbortController();
    const watching = watchAttachment(new ApiClient({ apiUrl: api.apiUrl }), 't1', 'a1', {
      signal: interrupt.signal,
      onDocument: () => interrupt.abort(new Error('Ctrl-C')),
    });
    await expect(watching).rejects.toThrow('Ctrl-C');
    expect(api.requests).toHaveLength(1);
  });
});

describe('hasEnded', () => {
  it.each([
    ['Pending', {}, false],
    ['Running', {}, false],
    ['Completed', {}, true],
    ['Failed', {}, true],
    ['Canceled', {}, true],
    ['Detaching', { detachSteps: [] }, false],
    ['Canceled', { detachSteps: [] }, false],
    ['Failed', { detachSteps: [], currentStep: 'addIpConfigurations' }, false],
    ['Failed', { detachSteps: [], currentStep: 'removeIpConfigurations' }, true],
    ['Detached', { detachSteps: [] }, true],
  ] as const)('%s %j → %s', (status, extra, ended) => {
    expect(hasEnded(document(status, extra as Partial<AttachmentDocument>) as AttachmentDocument)).toBe(ended);
  });
});
