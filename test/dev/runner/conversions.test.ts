import { HttpResponse } from '@azure/functions';
import { describe, expect, it } from 'vitest';

import { RandomizedExponentialBackoff } from '../../../dev/runner/backoff';
import { toResponseParts } from '../../../dev/runner/httpResponse';
import {
  decodeMessageText,
  encodeMessageBody,
  parseLikeLibrary,
  queueMessageBodies,
} from '../../../dev/runner/messageEncoding';
import { comparePrecedence, compileRoute } from '../../../dev/runner/routes';

describe('message encoding', () => {
  it('decodes strict base64 only, like the host', () => {
    expect(decodeMessageText(Buffer.from('{"a":1}').toString('base64'), 'base64')).toBe('{"a":1}');
    expect(decodeMessageText('aGVs\nbG8=', 'base64')).toBe('hello');
    expect(decodeMessageText('', 'base64')).toBe('');
    expect(decodeMessageText('{"a":1}', 'base64')).toBeUndefined();
    expect(decodeMessageText('abc', 'base64')).toBeUndefined();
    expect(decodeMessageText('ab=c', 'base64')).toBeUndefined();
    expect(decodeMessageText('{"a":1}', 'none')).toBe('{"a":1}');
  });

  it('encodes strings and bytes', () => {
    expect(encodeMessageBody('héllo', 'base64')).toBe(Buffer.from('héllo').toString('base64'));
    expect(encodeMessageBody(new Uint8Array([104, 105]), 'base64')).toBe('aGk=');
    expect(encodeMessageBody('plain', 'none')).toBe('plain');
  });

  it('parses JSON where it can, as the library does', () => {
    expect(parseLikeLibrary('{"a":1}')).toEqual({ a: 1 });
    expect(parseLikeLibrary('42')).toBe(42);
    expect(parseLikeLibrary('true')).toBe(true);
    expect(parseLikeLibrary('hello')).toBe('hello');
  });

  it('turns output values into message bodies', () => {
    expect(queueMessageBodies(undefined)).toEqual([]);
    expect(queueMessageBodies(null)).toEqual([]);
    expect(queueMessageBodies('text')).toEqual(['text']);
    expect(queueMessageBodies({ a: 1 })).toEqual(['{"a":1}']);
    expect(queueMessageBodies(7)).toEqual(['7']);
    expect(queueMessageBodies(['m1', { b: 2 }, [3]])).toEqual(['m1', '{"b":2}', '[3]']);
    expect(queueMessageBodies(Buffer.from('hi'))).toEqual([new Uint8Array(Buffer.from('hi'))]);
  });
});

describe('routes', () => {
  it('matches literals case-insensitively and decodes parameters', () => {
    const route = compileRoute('tenants/{tenantId}/attachments/{id}', 'api');
    expect(route.match('/API/Tenants/t%2F1/attachments/x')).toEqual({ tenantId: 't/1', id: 'x' });
    expect(route.match('/api/tenants/t1/attachments/x/')).toEqual({ tenantId: 't1', id: 'x' });
    expect(route.match('/api/tenants/t1/attachments')).toBeUndefined();
    expect(route.match('/tenants/t1/attachments/x')).toBeUndefined();
  });

  it('supports optional parameters, defaults, catch-alls and mixed segments', () => {
    expect(compileRoute('items/{id?}', 'api').match('/api/items')).toEqual({});
    expect(compileRoute('items/{page=1}', 'api').match('/api/items')).toEqual({ page: '1' });
    expect(compileRoute('files/{*path}', 'api').match('/api/files/a/b/c.txt')).toEqual({ path: 'a/b/c.txt' });
    expect(compileRoute('files/{name}.{ext}', 'api').match('/api/files/report.final.pdf')).toEqual({
      name: 'report',
      ext: 'final.pdf',
    });
    expect(compileRoute('health', '').match('/health')).toEqual({});
  });

  it.each([
    ['{n:int}', '42', true],
    ['{n:int}', '4x', false],
    ['{n:alpha}', 'abc', true],
    ['{n:alpha}', 'ab1', false],
    ['{n:guid}', '3f2504e0-4f89-11d3-9a0c-0305e82c3301', true],
    ['{n:bool}', 'TRUE', true],
    ['{n:minlength(3)}', 'ab', false],
    ['{n:range(1,5)}', '5', true],
    ['{n:range(1,5)}', '6', false],
    ['{n:regex(^v\\d+$)}', 'V2', true],
    ['{n:int:min(10)}', '9', false],
  ])('constraint %s on %s → %s', (template, value, matches) => {
    expect(compileRoute(template, 'api').match(`/api/${value}`) !== undefined).toBe(matches);
  });

  it('rejects constraints it does not know instead of ignoring them', () => {
    expect(() => compileRoute('{n:unknown}', 'api')).toThrow(/not supported/);
  });

  it('orders literal segments before parameters', () => {
    const routes = [
      compileRoute('items/{id}', 'api'),
      compileRoute('items/{*rest}', 'api'),
      compileRoute('items/new', 'api'),
    ];
    expect(routes.sort(comparePrecedence).map((r) => r.template)).toEqual(['items/new', 'items/{id}', 'items/{*rest}']);
  });
});

describe('toResponseParts', () => {
  it('converts an init with jsonBody, defaulting to 200', async () => {
    const parts = await toResponseParts({ jsonBody: { ok: true } });
    expect(parts.status).toBe(200);
    expect(parts.headers).toContainEqual(['content-type', 'application/json']);
    expect(parts.body.toString()).toBe('{"ok":true}');
  });

  it('keeps an HttpResponse as is, including repeated headers', async () => {
    const headers = new Headers([['x-a', '1']]);
    headers.append('set-cookie', 'a=1');
    headers.append('set-cookie', 'b=2');
    const parts = await toResponseParts(new HttpResponse({ status: 418, headers, body: 'teapot' }));
    expect(parts.status).toBe(418);
    expect(parts.headers.filter(([name]) => name === 'set-cookie')).toEqual([
      ['set-cookie', 'a=1'],
      ['set-cookie', 'b=2'],
    ]);
    expect(parts.body.toString()).toBe('teapot');
  });

  it('gives 204 for no result and fails for a non-object', async () => {
    expect((await toResponseParts(undefined)).status).toBe(204);
    await expect(toResponseParts('text')).rejects.toThrow(/must be an object/);
  });
});

describe('RandomizedExponentialBackoff', () => {
  it('grows from the minimum to the cap while idle and resets when work is found', () => {
    const backoff = new RandomizedExponentialBackoff({ minimumInMs: 100, maximumInMs: 1_000, random: () => 0.5 });
    const idle = Array.from({ length: 6 }, () => backoff.nextDelayInMs(false));
    expect(idle).toEqual([200, 300, 500, 900, 1_000, 1_000]);
    expect(backoff.nextDelayInMs(true)).toBe(100);
    expect(backoff.nextDelayInMs(false)).toBe(200);
  });

  it('randomises each step by ±20 %', () => {
    const low = new RandomizedExponentialBackoff({ minimumInMs: 100, maximumInMs: 10_000, random: () => 0 });
    const high = new RandomizedExponentialBackoff({ minimumInMs: 100, maximumInMs: 10_000, random: () => 0.999_999 });
    expect(low.nextDelayInMs(false)).toBeCloseTo(180);
    expect(high.nextDelayInMs(false)).toBeCloseTo(220);
  });
});
