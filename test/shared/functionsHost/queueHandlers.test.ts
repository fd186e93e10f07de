import { describe, expect, it } from 'vitest';

import { RemoteServiceError } from '../../../shared/errors';
import { makeAcceptAttachRequestHandler } from '../../../shared/functionsHost/acceptHandler';
import { makeFailPoisonedStepHandler } from '../../../shared/functionsHost/poisonHandler';
import { makeStepHandler, stepQueueOutput } from '../../../shared/functionsHost/stepFunction';
import { makeWatchMachineTaskHandler } from '../../../shared/functionsHost/watchHandler';
import type { MachineTaskRecord, MachineTaskStore, TaskWaiter } from '../../../shared/model/MachineTaskStore';
import type { MachineTaskWatchMessage } from '../../../shared/model/messages';
import { stepMessage } from '../../../shared/model/messages';
import { newAttachmentRecord } from '../../../shared/model/records';
import type { StepExecutorDeps } from '../../../shared/workflow/executeStep';
import { recordingContext, sent } from '../../support/functionsHost';
import { InMemoryStateStore } from '../../support/InMemoryStateStore';
import { InMemoryTenantStore } from '../../support/InMemoryTenantStore';
import { acceptedSeedRequest, seedRequest } from '../../support/seed';
import { labTenant } from '../../support/tenants';

const firstQueue = stepQueueOutput('addIpConfigurations');

describe('acceptAttachRequest handler', () => {
  function setup() {
    const store = new InMemoryStateStore();
    const poisoned: unknown[] = [];
    const handler = makeAcceptAttachRequestHandler(() => ({
      store,
      tenants: new InMemoryTenantStore({ lab: () => labTenant() }),
      knownControllers: new Set(['default']),
      arcDefaults: { subscriptionId: '00000000-0000-0000-0000-000000000000', resourceGroup: 'sdn-lab' },
      newAttachmentId: () => 'generated',
      nowInMs: () => Date.parse('2026-11-28T10:00:00Z'),
      sendToPoison: (message) => {
        poisoned.push(message);
        return Promise.resolve();
      },
    }));
    return { store, poisoned, handler };
  }

  it('stores a valid request and starts its first step through the output binding', async () => {
    const t = setup();
    const { context } = recordingContext('acceptAttachRequest', { dequeueCount: 1 });
    await t.handler({ schemaVersion: 1, tenantId: 'contoso', ...seedRequest() }, context);
    expect(context.extraOutputs.get(firstQueue)).toEqual(sent(stepMessage('contoso', 'seed-1', 'addIpConfigurations')));
    expect((await t.store.getAttachment('contoso', 'seed-1'))?.runtimeStatus).toBe('Pending');
    expect(t.poisoned).toEqual([]);
  });

  it('does not start a known attachment again once it started', async () => {
    const t = setup();
    await t.handler(
      { tenantId: 'contoso', ...seedRequest() },
      recordingContext('acceptAttachRequest', { dequeueCount: 1 }).context,
    );
    await t.store.updateAttachment('contoso', 'seed-1', (r) => ({
      record: {
        ...r,
        runtimeStatus: 'Running',
        steps: { ...r.steps, addIpConfigurations: { status: 'Running', attempts: 1 } },
      },
    }));
    const { context } = recordingContext('acceptAttachRequest', { dequeueCount: 2 });
    await t.handler({ tenantId: 'contoso', ...seedRequest() }, context);
    expect(context.extraOutputs.get(firstQueue)).toBeUndefined();
  });

  it('sends the first step again when a redelivered request finds its attachment not started', async () => {
    const t = setup();
    // The first delivery stored the row and died before its output binding wrote step 1.
    await t.handler(
      { tenantId: 'contoso', ...seedRequest() },
      recordingContext('acceptAttachRequest', { dequeueCount: 1 }).context,
    );
    const { context } = recordingContext('acceptAttachRequest', { dequeueCount: 2 });
    await t.handler({ tenantId: 'contoso', ...seedRequest() }, context);
    expect(context.extraOutputs.get(firstQueue)).toEqual(sent(stepMessage('contoso', 'seed-1', 'addIpConfigurations')));
  });

  it.each([
    { name: 'a string', message: 'attach please', reason: 'must be a JSON object' },
    { name: 'no tenant', message: { ...seedRequest() }, reason: 'tenantId' },
    {
      name: 'a bad field',
      message: { tenantId: 'contoso', ...seedRequest(), network: { name: 'x;rm -rf', driver: 'l2bridge' } },
      reason: 'network.name',
    },
    {
      name: 'a future schema',
      message: { schemaVersion: 2, tenantId: 'contoso', ...seedRequest() },
      reason: 'schemaVersion',
    },
  ])('moves $name to the poison queue with its reason, storing nothing', async ({ message, reason }) => {
    const t = setup();
    const { context, logs } = recordingContext('acceptAttachRequest', { dequeueCount: 1 });
    await t.handler(message, context);
    expect(t.poisoned).toEqual([message]);
    expect(t.store.writes).toBe(0);
    expect(context.extraOutputs.get(firstQueue)).toBeUndefined();
    expect(logs.some((l) => l.startsWith('error:') && l.includes(reason))).toBe(true);
  });
});

describe('step handler', () => {
  async function setup(fail: Error) {
    const store = new InMemoryStateStore();
    await store.createAttachment(newAttachmentRecord('contoso', acceptedSeedRequest(), '2026-11-28T10:00:00.000Z'), []);
    const deps: StepExecutorDeps = {
      store,
      sendDelayed: () => Promise.resolve(),
      steps: { addIpConfigurations: () => Promise.reject(fail) },
      maxDequeueCount: 5,
      inlineWaitInMs: 0,
      leaseInMs: 60_000,
      busyRecheckInMs: 15_000,
      nowInMs: () => Date.now(),
      sleep: () => Promise.resolve(),
    };
    return { store, handler: makeStepHandler('addIpConfigurations', () => deps) };
  }

  it('reads dequeueCount from the trigger metadata: retried before the last delivery, Failed on it', async () => {
    const error = new RemoteServiceError('unavailable', {
      source: 'NetworkController',
      code: 'ServiceUnavailable',
      statusCode: 503,
      retryable: true,
    });
    const t = await setup(error);
    const message = stepMessage('contoso', 'seed-1', 'addIpConfigurations');
    await expect(t.handler(message, recordingContext('addIpConfigurations', { dequeueCount: 4 }).context)).rejects.toBe(
      error,
    );
    expect((await t.store.getAttachment('contoso', 'seed-1'))?.runtimeStatus).toBe('Running');
    await expect(
      t.handler(message, recordingContext('addIpConfigurations', { dequeueCount: 5 }).context),
    ).resolves.toBeUndefined();
    const record = await t.store.getAttachment('contoso', 'seed-1');
    expect(record).toMatchObject({
      runtimeStatus: 'Failed',
      lastError: { code: 'ServiceUnavailable', statusCode: 503 },
    });
  });

  it('refuses a message for another step on this queue', async () => {
    const t = await setup(new Error('not reached'));
    const { context, logs } = recordingContext('addIpConfigurations', { dequeueCount: 1 });
    await t.handler(
      { schemaVersion: 1, tenantId: 'contoso', attachmentId: 'seed-1', step: 'createContainerNetwork' },
      context,
    );
    expect(logs.some((l) => l.startsWith('error: invalid step message'))).toBe(true);
  });
});

describe('poison handler', () => {
  it('marks the attachment Failed with the step’s last error, once', async () => {
    const store = new InMemoryStateStore();
    await store.createAttachment(newAttachmentRecord('contoso', acceptedSeedRequest(), '2026-11-28T10:00:00.000Z'), []);
    const lastError = {
      source: 'NetworkController' as const,
      code: 'ServiceUnavailable',
      message: 'down',
      retryable: true,
    };
    await store.updateAttachment('contoso', 'seed-1', (r) => ({
      record: {
        ...r,
        runtimeStatus: 'Running',
        steps: { ...r.steps, addIpConfigurations: { status: 'Running', attempts: 5, lastError } },
      },
    }));
    const handler = makeFailPoisonedStepHandler(() => ({ store, nowInMs: () => Date.now() }));
    await handler(
      stepMessage('contoso', 'seed-1', 'addIpConfigurations'),
      recordingContext('addIpConfigurationsPoison', { dequeueCount: 1 }).context,
    );
    const record = await store.getAttachment('contoso', 'seed-1');
    expect(record).toMatchObject({
      runtimeStatus: 'Failed',
      lastError: { code: 'ServiceUnavailable', retryable: false },
    });
    const writes = store.writes;
    await handler(
      stepMessage('contoso', 'seed-1', 'addIpConfigurations'),
      recordingContext('addIpConfigurationsPoison', { dequeueCount: 1 }).context,
    );
    expect(store.writes).toBe(writes);
  });
});

describe('poison handler and detach', () => {
  const lastError = {
    source: 'NetworkController' as const,
    code: 'ServiceUnavailable',
    message: 'down',
    retryable: true,
  };

  async function poisoned(fields: Record<string, unknown>, step: 'enableNetworkProxy' | 'removeIpConfigurations') {
    const store = new InMemoryStateStore();
    await store.createAttachment(newAttachmentRecord('contoso', acceptedSeedRequest(), '2026-11-28T10:00:00.000Z'), []);
    await store.updateAttachment('contoso', 'seed-1', (r) => ({
      record: {
        ...r,
        ...fields,
        currentStep: step,
        steps: { ...r.steps, [step]: { status: 'Running', attempts: 5, lastError } },
      },
    }));
    const handler = makeFailPoisonedStepHandler(() => ({ store, nowInMs: () => Date.now() }));
    const { context, outputs } = recordingContext(`${step}Poison`, { dequeueCount: 1 });
    await handler(stepMessage('contoso', 'seed-1', step), context);
    return { record: await store.getAttachment('contoso', 'seed-1'), outputs };
  }

  it('an attach step poisoned on an attachment asked to detach goes on to detach, sending its first step', async () => {
    const { record, outputs } = await poisoned(
      { runtimeStatus: 'Running', cancelRequested: true, detachRequested: true },
      'enableNetworkProxy',
    );
    expect(record).toMatchObject({ runtimeStatus: 'Detaching', currentStep: 'removeContainerNetwork' });
    expect(outputs).toEqual([
      {
        name: stepQueueOutput('removeContainerNetwork').name,
        value: sent(stepMessage('contoso', 'seed-1', 'removeContainerNetwork')),
      },
    ]);
  });

  it('a detach step poisoned ends the attachment Failed there, sending nothing', async () => {
    const { record, outputs } = await poisoned(
      { runtimeStatus: 'Detaching', detachRequested: true },
      'removeIpConfigurations',
    );
    expect(record).toMatchObject({
      runtimeStatus: 'Failed',
      currentStep: 'removeIpConfigurations',
      lastError: { code: 'ServiceUnavailable', retryable: false },
    });
    expect(outputs).toEqual([]);
  });
});

describe('machine task watch handler', () => {
  const watch: MachineTaskWatchMessage = {
    schemaVersion: 1,
    tenantId: 'contoso',
    attachmentId: 'seed-1',
    step: 'enableNetworkProxy',
    machine: { subscriptionId: '00000000-0000-4000-8000-000000000001', resourceGroup: 'rg', machineName: 'HV01' },
    subject: '',
  };

  /** One task row and its waiters, as the table holds them. */
  function setup(task: Partial<MachineTaskRecord>) {
    const waiters: TaskWaiter[] = [
      { tenantId: 'fabrikam', attachmentId: 'a2', step: 'enableNetworkProxy', recheck: 1 },
    ];
    const woken: TaskWaiter[] = [];
    const watched: number[] = [];
    const tasks: Pick<MachineTaskStore, 'getTask' | 'listWaiters' | 'removeWaiters'> = {
      getTask: () => Promise.resolve({ ...task } as MachineTaskRecord),
      listWaiters: () => Promise.resolve([...waiters]),
      removeWaiters: (_m, _t, _s, gone) => {
        for (const w of gone) waiters.splice(waiters.indexOf(w), 1);
        return Promise.resolve();
      },
    };
    const handler = makeWatchMachineTaskHandler(() => ({
      tasks: tasks as MachineTaskStore,
      wake: (waiter) => {
        woken.push(waiter);
        return Promise.resolve();
      },
      watch: (_message, delayInMs) => {
        watched.push(delayInMs);
        return Promise.resolve({ messageId: 'm', popReceipt: 'p' });
      },
      nowInMs: () => 1_000_000,
    }));
    return { handler, waiters, woken, watched };
  }

  it('drops a message that is not a watch, naming what is wrong, and touches nothing', async () => {
    const t = setup({ status: 'Running' });
    const { context, logs } = recordingContext('watchMachineTask', { dequeueCount: 1 });
    await t.handler({ ...watch, machine: { machineName: 'HV01' } }, context);
    expect(logs.filter((l) => l.startsWith('error:'))).toHaveLength(1);
    expect(logs[0]).toContain(
      'Not a machine task watch message (machine.resourceGroup: is required; machine.subscriptionId: is required)',
    );
    expect(t.woken).toEqual([]);
    expect(t.watched).toEqual([]);
  });

  it('looks again later while the owner’s lease is live', async () => {
    const t = setup({
      status: 'Running',
      owner: { tenantId: 'contoso', attachmentId: 'seed-1' },
      leaseExpiresAtInMs: 2_000_000,
    });
    const { context, logs } = recordingContext('watchMachineTask', { dequeueCount: 1 });
    await t.handler(watch, context);
    expect(t.watched).toEqual([60_000]);
    expect(t.woken).toEqual([]);
    expect(logs.at(-1)).toContain('watching');
  });

  it('wakes the parked steps once the lease has run out', async () => {
    const t = setup({
      status: 'Running',
      owner: { tenantId: 'contoso', attachmentId: 'seed-1' },
      leaseExpiresAtInMs: 999_999,
    });
    const { context } = recordingContext('watchMachineTask', { dequeueCount: 1 });
    await t.handler(watch, context);
    expect(t.woken.map((w) => w.attachmentId)).toEqual(['a2']);
    expect(t.waiters).toEqual([]);
    expect(t.watched).toEqual([]);
  });
});
