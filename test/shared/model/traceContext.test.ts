import { describe, expect, it } from 'vitest';

import { parseStepMessage, stepMessage, withTraceContext } from '../../../shared/model/messages';
import { childSpanOf, readTraceContext, spanIdsOf } from '../../../shared/model/traceContext';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = '00f067aa0ba902b7';
const VALID = `00-${TRACE_ID}-${SPAN_ID}-01`;

describe('readTraceContext', () => {
  it('accepts a W3C traceparent and tracestate', () => {
    expect(readTraceContext(VALID, 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7')).toEqual({
      context: { traceparent: VALID, tracestate: 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7' },
    });
    expect(readTraceContext(VALID, 'tenant1@vendor=x')).toEqual({
      context: { traceparent: VALID, tracestate: 'tenant1@vendor=x' },
    });
    expect(readTraceContext(undefined, undefined)).toEqual({});
    expect(readTraceContext('', '')).toEqual({});
  });

  it.each([
    ['upper-case hex', VALID.toUpperCase(), 'lower case'],
    ['an all-zero trace id', `00-${'0'.repeat(32)}-${SPAN_ID}-01`, 'all-zero'],
    ['an all-zero span id', `00-${TRACE_ID}-${'0'.repeat(16)}-01`, 'all-zero'],
    ['version ff', `ff-${TRACE_ID}-${SPAN_ID}-01`, 'W3C traceparent'],
    ['another version', `01-${TRACE_ID}-${SPAN_ID}-01`, 'W3C traceparent'],
    ['a trailing field', `${VALID}-extra`, 'W3C traceparent'],
    ['a line break (header injection)', `${VALID}\r\nx-evil: 1`, 'W3C traceparent'],
    ['a short trace id', `00-${TRACE_ID.slice(1)}-${SPAN_ID}-01`, 'W3C traceparent'],
    ['a huge value', 'a'.repeat(100_000), 'W3C traceparent'],
    ['a number', 42, 'must be a string'],
    ['an object', { traceId: TRACE_ID }, 'must be a string'],
  ])('drops a traceparent with %s, saying why', (_what, value, reason) => {
    const read = readTraceContext(value, 'rojo=1');
    expect(read.context).toBeUndefined();
    expect(read.problem).toMatch(/^traceparent: /);
    expect(read.problem).toContain(reason);
  });

  it.each([
    ['no key', '=value'],
    ['an upper-case key', 'Rojo=1'],
    ['a duplicate key', 'rojo=1,rojo=2'],
    ['a value with "="', 'rojo=a=b'],
    ['a control character', 'rojo=a\u0007b'],
    ['more than 32 members', Array.from({ length: 33 }, (_, i) => `k${i}=v`).join(',')],
    ['more than 512 characters', `rojo=${'x'.repeat(256)},congo=${'y'.repeat(256)}`],
    ['a non-string', ['rojo=1']],
  ])('keeps the traceparent but drops a tracestate with %s', (_what, value) => {
    const read = readTraceContext(VALID, value);
    expect(read.context).toEqual({ traceparent: VALID });
    expect(read.problem).toMatch(/^tracestate: /);
  });

  it('ignores a tracestate without a traceparent', () => {
    expect(readTraceContext(undefined, 'rojo=1')).toEqual({ problem: 'tracestate: ignored without a traceparent' });
  });

  it('names the header a problem came from', () => {
    const names = { traceparent: 'traceparent header', tracestate: 'tracestate header' };
    expect(readTraceContext('nonsense', undefined, names).problem).toMatch(/^traceparent header: /);
  });
});

describe('childSpanOf', () => {
  it('keeps the trace, flags and tracestate, with a new span id', () => {
    const child = childSpanOf({ traceparent: VALID, tracestate: 'rojo=1' });
    const ids = spanIdsOf(child);
    expect(ids.traceId).toBe(TRACE_ID);
    expect(ids.traceFlags).toBe('01');
    expect(ids.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(ids.spanId).not.toBe(SPAN_ID);
    expect(child.tracestate).toBe('rojo=1');
  });

  it('starts a new, sampled trace without a parent', () => {
    const a = spanIdsOf(childSpanOf(undefined));
    const b = spanIdsOf(childSpanOf(undefined));
    expect(a.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(a.traceId).not.toBe(b.traceId);
    expect(a.traceFlags).toBe('01');
  });
});

describe('step messages and their trace context', () => {
  const message = stepMessage('contoso', 'seed-1', 'enableNetworkProxy');

  it('parses a message with a valid trace context as it is', () => {
    const parsed = parseStepMessage({ ...message, traceparent: VALID, tracestate: 'rojo=1' });
    expect(parsed).toEqual({ success: true, data: { ...message, traceparent: VALID, tracestate: 'rojo=1' } });
  });

  it('drops a malformed traceparent (and its tracestate) but keeps the message, with the reason', () => {
    const parsed = parseStepMessage({ ...message, traceparent: '00-zz', tracestate: 'rojo=1' });
    expect(parsed.success).toBe(true);
    if (!parsed.success) return;
    expect(parsed.data).toEqual(message);
    expect(parsed.traceProblem).toMatch(/^traceparent: must be a W3C traceparent/);
  });

  it('drops only a malformed tracestate', () => {
    const parsed = parseStepMessage({ ...message, traceparent: VALID, tracestate: 'Bad Key=1' });
    expect(parsed).toEqual({
      success: true,
      data: { ...message, traceparent: VALID },
      traceProblem: expect.stringMatching(/^tracestate: must be a W3C tracestate/) as unknown,
    });
  });

  it('still refuses a message that is bad apart from its trace context', () => {
    const parsed = parseStepMessage({ ...message, tenantId: '../x', traceparent: 'bad' });
    expect(parsed.success).toBe(false);
  });

  it('replaces the trace context with the sender’s own span', () => {
    const mine = { traceparent: `00-${TRACE_ID}-1111111111111111-01` };
    expect(withTraceContext({ ...message, traceparent: VALID, tracestate: 'rojo=1' }, mine)).toEqual({
      ...message,
      ...mine,
    });
    expect(withTraceContext({ ...message, traceparent: VALID }, undefined)).toEqual(message);
  });
});
