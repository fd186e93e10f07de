import { randomBytes } from 'node:crypto';

import { z } from 'zod';

/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/), version 00 only: the one version the spec defines and
 * the one we send. A value that comes from outside (a message, a header) is parsed strictly; anything else is
 * dropped, never passed on.
 */
const TRACEPARENT = /^00-(?<traceId>[0-9a-f]{32})-(?<spanId>[0-9a-f]{16})-(?<traceFlags>[0-9a-f]{2})$/;
const ALL_ZEROS = /^0+$/;
// A member is `key=value`; a key is a simple or a multi-tenant (`tenant@system`) name, a value printable ASCII
// without `,` and `=`, not ending in a space.
const TRACESTATE_MEMBER =
  /^(?<key>[a-z][_0-9a-z*/-]{0,255}|[a-z0-9][_0-9a-z*/-]{0,240}@[a-z][_0-9a-z*/-]{0,13})=[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;
const TRACESTATE_MAX_MEMBERS = 32;
const TRACESTATE_MAX_LENGTH = 512;

export const TraceparentSchema = z
  .string({ error: 'must be a string' })
  .max(55, { error: 'must be a W3C traceparent (55 characters)' })
  .regex(TRACEPARENT, {
    error: 'must be a W3C traceparent: 00-<32 hex trace id>-<16 hex span id>-<2 hex flags>, in lower case',
  })
  .refine((value) => !ALL_ZEROS.test(value.slice(3, 35)) && !ALL_ZEROS.test(value.slice(36, 52)), {
    error: 'must not have an all-zero trace id or span id',
  });

export const TracestateSchema = z
  .string({ error: 'must be a string' })
  .max(TRACESTATE_MAX_LENGTH, { error: `must be at most ${TRACESTATE_MAX_LENGTH} characters` })
  .refine(isTracestate, {
    error: `must be a W3C tracestate: 1-${TRACESTATE_MAX_MEMBERS} comma-separated key=value members, keys unique`,
  });

function isTracestate(value: string): boolean {
  const members = value
    .split(',')
    .map((member) => member.trim())
    .filter((member) => member !== '');
  if (members.length === 0 || members.length > TRACESTATE_MAX_MEMBERS) return false;
  const keys = new Set<string>();
  for (const member of members) {
    const key = TRACESTATE_MEMBER.exec(member)?.groups?.key;
    if (key === undefined || keys.has(key)) return false;
    keys.add(key);
  }
  return true;
}

/** The trace context one hop hands to the next: its own span as the parent of whatever it starts. */
export interface TraceContext {
  traceparent: string;
  tracestate?: string;
}

export interface SpanIds {
  traceId: string;
  spanId: string;
  /** Two hex digits; bit 0 is "sampled". */
  traceFlags: string;
}

/** The ids in a traceparent that already passed `TraceparentSchema`. */
export function spanIdsOf(context: TraceContext): SpanIds {
  const groups = TRACEPARENT.exec(context.traceparent)?.groups;
  if (!groups?.traceId || !groups.spanId || !groups.traceFlags) {
    throw new TypeError('Not a valid traceparent; parse it with readTraceContext first.');
  }
  return { traceId: groups.traceId, spanId: groups.spanId, traceFlags: groups.traceFlags };
}

export function formatTraceparent(ids: SpanIds): string {
  return `00-${ids.traceId}-${ids.spanId}-${ids.traceFlags}`;
}

/**
 * A trace context from untrusted fields (a message's, a request header's). `problem` says, naming the field, why
 * a value that was there is not used; a bad tracestate alone drops only the tracestate, as the spec allows.
 */
export function readTraceContext(
  traceparent: unknown,
  tracestate: unknown,
  names: { traceparent: string; tracestate: string } = { traceparent: 'traceparent', tracestate: 'tracestate' },
): { context?: TraceContext; problem?: string } {
  if (traceparent === undefined || traceparent === null || traceparent === '') {
    return tracestate === undefined || tracestate === null || tracestate === ''
      ? {}
      : { problem: `${names.tracestate}: ignored without a ${names.traceparent}` };
  }
  const parent = TraceparentSchema.safeParse(traceparent);
  if (!parent.success) return { problem: `${names.traceparent}: ${parent.error.issues[0]?.message ?? 'invalid'}` };
  if (tracestate === undefined || tracestate === null || tracestate === '') {
    return { context: { traceparent: parent.data } };
  }
  const state = TracestateSchema.safeParse(tracestate);
  if (!state.success) {
    return {
      context: { traceparent: parent.data },
      problem: `${names.tracestate}: ${state.error.issues[0]?.message ?? 'invalid'}`,
    };
  }
  return { context: { traceparent: parent.data, tracestate: state.data } };
}

export function newTraceId(): string {
  return nonZeroHex(16);
}

export function newSpanId(): string {
  return nonZeroHex(8);
}

function nonZeroHex(bytes: number): string {
  for (;;) {
    const hex = randomBytes(bytes).toString('hex');
    if (!ALL_ZEROS.test(hex)) return hex;
  }
}

/**
 * A new span under `parent`: the same trace, flags and tracestate, a new span id. Without a parent, a new trace,
 * sampled (nothing upstream decided otherwise).
 */
export function childSpanOf(parent: TraceContext | undefined, spanId: string = newSpanId()): TraceContext {
  if (!parent) return { traceparent: formatTraceparent({ traceId: newTraceId(), spanId, traceFlags: '01' }) };
  const ids = spanIdsOf(parent);
  return {
    traceparent: formatTraceparent({ ...ids, spanId }),
    ...(parent.tracestate === undefined ? {} : { tracestate: parent.tracestate }),
  };
}
