import { HttpRequest, InvocationContext } from '@azure/functions';
import { describe, expect, it } from 'vitest';

import type { AppDeps } from '../../../shared/functionsHost/deps';
import { machineTaskDeps } from '../../../shared/functionsHost/machineTaskDeps';
import { makeStepHandler, stepQueueOutput } from '../../../shared/functionsHost/stepFunction';
import { makeSubmitAttachmentHandler } from '../../../shared/functionsHost/submitHandler';
import { telemetryOf, traced } from '../../../shared/functionsHost/telemetry';
import { type StepMessage, stepMessage } from '../../../shared/model/messages';
import { newAttachmentRecord } from '../../../shared/model/records';
import { spanIdsOf } from '../../../shared/model/traceContext';
import type { StepExecutorDeps } from '../../../shared/workflow/executeStep';
import { BASE, TRACEPARENT } from '../../support/functionsHost';
import { InMemoryStateStore } from '../../support/InMemoryStateStore';
import { InMemoryTenantStore } from '../../support/InMemoryTenantStore';
import { acceptedSeedRequest, seedRequest } from '../../support/seed';
import { labTenant } from '../../support/tenants';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const UPSTREAM = `00-${TRACE_ID}-00f067aa0ba902b7-01`;
const HOST_TRACE_ID = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const HOST = `00-${HOST_TRACE_ID}-bbbbbbbbbbbbbbbb-01`;

/** An invocation context as the host makes one, with its own trace context, recording log lines and outputs. */
function hostContext(functionName: string, options: { dequeueCount?: number; traceParent?: string } = {}) {
  const lines: string[] = [];
  const context = new InvocationContext({
    functionName,
    invocationId: `inv-${functionName}`,
    triggerMetadata: options.dequeueCount === undefined ? undefined : { dequeueCount: options.dequeueCount },
    traceContext: options.traceParent === undefined ? undefined : { traceParent: options.traceParent, traceState: '' },
    options: { extraOutputs: [stepQueueOutput('enableNetworkProxy'), stepQueueOutput('addIpConfigurations')] },
    logHandler: (level, ...args) => lines.push(`${level}: ${args.map(String).join(' ')}`),
  });
  return { context, lines };
}

async function stepOne() {
  const store = new InMemoryStateStore();
  await store.createAttachment(newAttachmentRecord('contoso', acceptedSeedRequest(), '2026-11-28T10:00:00.000Z'), []);
  const deps: StepExecutorDeps = {
    store,
    sendDelayed: () => Promise.resolve(),
    steps: {
      addIpConfigurations: (run) => {
        run.log('NIC written');
        return Promise.resolve({ kind: 'succeeded', result: run.result, detail: {} });
      },
    },
    maxDequeueCount: 5,
    inlineWaitInMs: 0,
    leaseInMs: 60_000,
    busyRecheckInMs: 15_000,
    nowInMs: () => Date.now(),
    sleep: () => Promise.resolve(),
  };
  return {
    store,
    handler: traced(
      'queue',
      makeStepHandler('addIpConfigurations', () => deps),
    ),
  };
}

describe('a step’s trace context', () => {
  it('continues the message’s trace: the next message has the same trace id under this delivery’s new span', async () => {
    const { handler } = await stepOne();
    const { context } = hostContext('addIpConfigurations', { dequeueCount: 1, traceParent: HOST });
    await handler({ ...stepMessage('contoso', 'seed-1', 'addIpConfigurations'), traceparent: UPSTREAM }, context);
    const next = context.extraOutputs.get(stepQueueOutput('enableNetworkProxy')) as StepMessage;
    expect(next.step).toBe('enableNetworkProxy');
    expect(next.traceparent).toMatch(TRACEPARENT);
    const ids = spanIdsOf({ traceparent: next.traceparent ?? '' });
    expect(ids.traceId).toBe(TRACE_ID);
    expect(ids.spanId).not.toBe('00f067aa0ba902b7');
    expect(next.traceparent).toBe(telemetryOf(context).traceContext.traceparent);
  });

  it('falls back to the host’s trace context for a message without one', async () => {
    const { handler } = await stepOne();
    const { context } = hostContext('addIpConfigurations', { dequeueCount: 1, traceParent: HOST });
    await handler(stepMessage('contoso', 'seed-1', 'addIpConfigurations'), context);
    const next = context.extraOutputs.get(stepQueueOutput('enableNetworkProxy')) as StepMessage;
    expect(spanIdsOf({ traceparent: next.traceparent ?? '' }).traceId).toBe(HOST_TRACE_ID);
  });

  it('ignores a malformed traceparent with a warning naming the attachment; the step still runs', async () => {
    const { handler, store } = await stepOne();
    const { context, lines } = hostContext('addIpConfigurations', { dequeueCount: 1 });
    const hostile = `${UPSTREAM}\r\nx-injected: 1`;
    await handler({ ...stepMessage('contoso', 'seed-1', 'addIpConfigurations'), traceparent: hostile }, context);
    expect(lines[0]).toBe(
      'warning: [contoso/seed-1 addIpConfigurations delivery 1] trace context ignored, the step runs anyway: ' +
        'traceparent: must be a W3C traceparent (55 characters)',
    );
    expect(lines.join('\n')).not.toContain('x-injected');
    expect((await store.getAttachment('contoso', 'seed-1'))?.steps.addIpConfigurations.status).toBe('Succeeded');
    const next = context.extraOutputs.get(stepQueueOutput('enableNetworkProxy')) as StepMessage;
    expect(spanIdsOf({ traceparent: next.traceparent ?? '' }).traceId).not.toBe(TRACE_ID);
  });
});

describe('a parked step’s wake-up', () => {
  it('continues the waiter’s trace, not the waker’s', async () => {
    const sent: { queueName: string; message: unknown }[] = [];
    const app = {
      queues: {
        send: (queueName: string, message: unknown) => {
          sent.push({ queueName, message });
          return Promise.resolve({ messageId: 'm', popReceipt: 'p' });
        },
      },
      config: { machineTasks: { reuseForInMs: 0 }, arm: { pollIntervalInMs: 1 } },
    } as unknown as AppDeps;
    const trace = { traceparent: UPSTREAM, tracestate: 'rojo=1' };
    await machineTaskDeps(app).wake({
      tenantId: 'contoso',
      attachmentId: 'seed-2',
      step: 'enableNetworkProxy',
      recheck: 3,
      trace,
    });
    expect(sent).toEqual([
      {
        queueName: 'step-enable-network-proxy-rechecks',
        message: { ...stepMessage('contoso', 'seed-2', 'enableNetworkProxy', 3), ...trace },
      },
    ]);
  });
});

describe('the submit’s trace context', () => {
  function submitHandler() {
    const store = new InMemoryStateStore();
    return traced(
      'http',
      makeSubmitAttachmentHandler(() => ({
        store,
        tenants: new InMemoryTenantStore({ lab: () => labTenant() }),
        knownControllers: new Set(['default']),
        arcDefaults: { subscriptionId: '00000000-0000-0000-0000-000000000000', resourceGroup: 'sdn-lab' },
        newAttachmentId: () => 'generated',
        nowInMs: () => Date.parse('2026-11-28T10:00:00Z'),
        retryAfterInSeconds: 2,
      })),
    );
  }
  const post = (headers: Record<string, string>) =>
    new HttpRequest({
      method: 'POST',
      url: `${BASE}/contoso/attachments`,
      params: { tenantId: 'contoso' },
      headers: { 'content-type': 'application/json', ...headers },
      body: { string: JSON.stringify(seedRequest()) },
    });
  const firstMessage = (context: InvocationContext) =>
    context.extraOutputs.get(stepQueueOutput('addIpConfigurations')) as StepMessage;

  it('honours the caller’s traceparent header when the host gives none', async () => {
    const { context } = hostContext('submitAttachment');
    const response = await submitHandler()(post({ traceparent: UPSTREAM, tracestate: 'rojo=1' }), context);
    expect(response.status).toBe(202);
    const message = firstMessage(context);
    expect(spanIdsOf({ traceparent: message.traceparent ?? '' }).traceId).toBe(TRACE_ID);
    expect(message.traceparent).not.toBe(UPSTREAM);
    expect(message.tracestate).toBe('rojo=1');
  });

  it('prefers the host’s trace context (which already continues the header) to the header', async () => {
    const { context } = hostContext('submitAttachment', { traceParent: HOST });
    await submitHandler()(post({ traceparent: UPSTREAM }), context);
    expect(spanIdsOf({ traceparent: firstMessage(context).traceparent ?? '' }).traceId).toBe(HOST_TRACE_ID);
  });

  it('ignores a malformed header with a warning, and starts a trace of its own', async () => {
    const { context, lines } = hostContext('submitAttachment');
    const response = await submitHandler()(post({ traceparent: `00-${TRACE_ID}-0000000000000000-01` }), context);
    expect(response.status).toBe(202);
    expect(lines).toContainEqual(
      'warning: trace context ignored: traceparent header: must not have an all-zero trace id or span id',
    );
    expect(spanIdsOf({ traceparent: firstMessage(context).traceparent ?? '' }).traceId).not.toBe(TRACE_ID);
  });
});
