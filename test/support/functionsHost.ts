import { HttpRequest, InvocationContext } from '@azure/functions';
import { expect } from 'vitest';

import { allStepQueueOutputs } from '../../shared/functionsHost/stepFunction';

/** Builders of what the Functions host hands a handler: HTTP requests and invocation contexts. */
export const BASE = 'http://127.0.0.1:7071/api/tenants';
export const NOW = Date.parse('2026-11-28T10:00:00Z');
const ALL_STEP_OUTPUTS = allStepQueueOutputs();

/**
 * An InvocationContext that records every output binding the handler sets and every line it logs. A queue
 * delivery's `dequeueCount` goes into the trigger metadata (and the invocation id), as the host puts it.
 */
export function recordingContext(functionName: string, delivery: { dequeueCount?: number } = {}) {
  const logs: string[] = [];
  const context = new InvocationContext({
    functionName,
    invocationId: `inv-${functionName}-${delivery.dequeueCount ?? 1}`,
    triggerMetadata: delivery.dequeueCount === undefined ? undefined : { dequeueCount: delivery.dequeueCount },
    options: { extraOutputs: ALL_STEP_OUTPUTS },
    logHandler: (level, ...args) => logs.push(`${level}: ${args.map(String).join(' ')}`),
  });
  const outputs: { name: string; value: unknown }[] = [];
  const original = context.extraOutputs.set.bind(context.extraOutputs);
  context.extraOutputs.set = (output, value) => {
    outputs.push({ name: typeof output === 'string' ? output : output.name, value });
    original(output, value);
  };
  return { context, logs, outputs };
}

/** A W3C traceparent (version 00, lower-case hex). */
export const TRACEPARENT = /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** A step message as a function sends it: carrying its invocation's span as the next hop's parent. */
export function sent<M extends object>(message: M): M & { traceparent: unknown } {
  return { ...message, traceparent: expect.stringMatching(TRACEPARENT) as unknown };
}

export function postRequest(
  tenantId: string,
  body: string | undefined,
  headers: Record<string, string> = { 'content-type': 'application/json' },
) {
  return new HttpRequest({
    method: 'POST',
    url: `${BASE}/${encodeURIComponent(tenantId)}/attachments`,
    params: { tenantId },
    headers,
    body: body === undefined ? undefined : { string: body },
  });
}

export function attachmentRequest(
  method: 'GET' | 'POST' | 'DELETE',
  tenantId: string,
  id: string,
  suffix = '',
  query = '',
  headers: Record<string, string> = {},
) {
  return new HttpRequest({
    method,
    url: `${BASE}/${encodeURIComponent(tenantId)}/attachments/${encodeURIComponent(id)}${suffix}${query}`,
    params: { tenantId, id },
    headers,
  });
}

export function listRequest(tenantId: string, query = '') {
  return new HttpRequest({
    method: 'GET',
    url: `${BASE}/${encodeURIComponent(tenantId)}/attachments${query}`,
    params: { tenantId },
  });
}
