import { randomBytes } from 'node:crypto';

import type { TraceContext } from '@azure/functions';

// The host's parsing of an incoming W3C traceparent (System.Diagnostics.ActivityContext): lower-case hex, ids not
// all zeros; anything else starts a new trace, as if there were no header.
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

function randomHex(bytes: number): string {
  let hex: string;
  do hex = randomBytes(bytes).toString('hex');
  while (/^0+$/.test(hex));
  return hex;
}

/**
 * What the host hands a function as `context.traceContext`: its own activity for the invocation. A queue message
 * carries no trace context (Azure Storage queues have no message properties), so a queue trigger starts a new
 * trace; an HTTP trigger continues a valid incoming `traceparent` (and its `tracestate`) under a new span id.
 * `traceState` is empty, not absent, when there is none, as the host sends it.
 */
export function hostTraceContext(headers?: { traceparent?: string | null; tracestate?: string | null }): TraceContext {
  const incoming = TRACEPARENT.exec(headers?.traceparent ?? '');
  const traceId = incoming?.[1];
  const incomingSpanId = incoming?.[2];
  if (incoming && traceId && incomingSpanId && !/^0+$/.test(traceId) && !/^0+$/.test(incomingSpanId)) {
    return {
      traceParent: `00-${traceId}-${randomHex(8)}-${incoming[3] ?? '00'}`,
      traceState: headers?.tracestate ?? '',
      attributes: {},
    };
  }
  return { traceParent: `00-${randomHex(16)}-${randomHex(8)}-01`, traceState: '', attributes: {} };
}
