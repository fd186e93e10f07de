import { HttpRequest, InvocationContext } from '@azure/functions';

import { makeAcceptAttachRequestHandler } from '../../../shared/functionsHost/acceptHandler';
import { makeCancelAttachmentHandler } from '../../../shared/functionsHost/controlHandlers';
import { makeRetryAttachmentHandler } from '../../../shared/functionsHost/controlHandlers';
import { makeGetAttachmentHandler } from '../../../shared/functionsHost/getHandler';
import { makeListAttachmentsHandler } from '../../../shared/functionsHost/listHandler';
import { stepQueueOutput } from '../../../shared/functionsHost/stepFunction';
import { makeSubmitAttachmentHandler } from '../../../shared/functionsHost/submitHandler';
import { STEPS } from '../../../shared/model/steps';
import { InMemoryStateStore } from '../../fakes/InMemoryStateStore';

export const BASE = 'http://127.0.0.1:7071/api/tenants';
export const NOW = Date.parse('2026-11-28T10:00:00Z');
const ALL_STEP_OUTPUTS = STEPS.map((step) => stepQueueOutput(step.name));

/** An InvocationContext that records every output binding the handler sets and every line it logs. */
export function recordingContext(functionName: string, triggerMetadata?: Record<string, unknown>) {
  const logs: string[] = [];
  const context = new InvocationContext({
    functionName,
    invocationId: `inv-${functionName}`,
    triggerMetadata,
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

export function attachmentRequest(method: 'GET' | 'POST', tenantId: string, id: string, suffix = '', query = '') {
  return new HttpRequest({
    method,
    url: `${BASE}/${encodeURIComponent(tenantId)}/attachments/${encodeURIComponent(id)}${suffix}${query}`,
    params: { tenantId, id },
  });
}

export function listRequest(tenantId: string, query = '') {
  return new HttpRequest({
    method: 'GET',
    url: `${BASE}/${encodeURIComponent(tenantId)}/attachments${query}`,
    params: { tenantId },
  });
}

export interface ErrorBody {
  error: { code: string; message: string; details?: { code: string; target: string; message: string }[] };
}

export function errorOf(jsonBody: unknown): ErrorBody['error'] {
  return (jsonBody as ErrorBody).error;
}

export function targetsOf(jsonBody: unknown): string[] {
  return (errorOf(jsonBody).details ?? []).map((d) => d.target);
}

/** Every HTTP and entry-queue handler over one in-memory store, with a counter for generated ids. */
export const ARC_DEFAULTS = { subscriptionId: '00000000-0000-0000-0000-000000000000', resourceGroup: 'sdn-lab' };

export function handlerSet(
  options: {
    newAttachmentId?: () => string;
    controllers?: string[];
    arcDefaults?: { subscriptionId?: string; resourceGroup?: string };
  } = {},
) {
  const store = new InMemoryStateStore();
  let generated = 0;
  const newAttachmentId = options.newAttachmentId ?? (() => `generated-${++generated}`);
  const knownControllers = new Set(options.controllers ?? ['default']);
  const poisoned: unknown[] = [];
  const submitDeps = () => ({
    store,
    knownControllers,
    arcDefaults: options.arcDefaults ?? ARC_DEFAULTS,
    newAttachmentId,
    nowInMs: () => NOW,
    retryAfterInSeconds: 2,
  });
  const controlDeps = () => ({ store, nowInMs: () => NOW, retryAfterInSeconds: 2 });
  return {
    store,
    poisoned,
    submit: makeSubmitAttachmentHandler(submitDeps),
    get: makeGetAttachmentHandler(() => ({ store, retryAfterInSeconds: 2 })),
    list: makeListAttachmentsHandler(() => ({ store, pageSizeMax: 100 })),
    cancel: makeCancelAttachmentHandler(controlDeps),
    retry: makeRetryAttachmentHandler(controlDeps),
    accept: makeAcceptAttachRequestHandler(() => ({
      ...submitDeps(),
      sendToPoison: (message) => {
        poisoned.push(message);
        return Promise.resolve();
      },
    })),
  };
}
