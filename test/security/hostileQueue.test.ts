import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { makeFailPoisonedStepHandler } from '../../shared/functionsHost/poisonHandler';
import { makeStepHandler, stepQueueOutput } from '../../shared/functionsHost/stepFunction';
import { stepMessage } from '../../shared/model/messages';
import { type AttachmentRecord, newAttachmentRecord } from '../../shared/model/records';
import { STEP_NAMES } from '../../shared/model/steps';
import type { StepExecutorDeps } from '../../shared/workflow/executeStep';
import type { StepImplementation } from '../../shared/workflow/stepTypes';
import { recordingContext } from '../support/functionsHost';
import { InMemoryStateStore } from '../support/InMemoryStateStore';
import { withPath } from '../support/requests';
import { acceptedSeedRequest, seedRequest } from '../support/seed';
import { handlerSet } from './support/handlers';
import { HOSTILE_STRINGS } from './support/hostile';

/** Number of attachment rows in the in-memory store, whatever their tenant. */
function rowCount(store: InMemoryStateStore): number {
  return (store as unknown as { rows: Map<string, unknown> }).rows.size;
}

describe('entry queue (attach-requests): broken messages', () => {
  async function accept(message: unknown) {
    const h = handlerSet();
    const { context, logs, outputs } = recordingContext('acceptAttachRequest', { dequeueCount: 1 });
    await h.accept(message, context);
    return { h, logs, outputs };
  }

  function expectPoisoned(result: Awaited<ReturnType<typeof accept>>, message: unknown, reasonIncludes: string): void {
    expect(result.h.poisoned).toEqual([message]);
    expect(result.h.store.writes).toBe(0);
    expect(rowCount(result.h.store)).toBe(0);
    expect(result.outputs).toEqual([]);
    const errors = result.logs.filter((l) => l.startsWith('error:'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('attach-requests-poison');
    expect(errors[0]).toContain(reasonIncludes);
  }

  const queued = (overrides: Record<string, unknown> = {}) => ({
    schemaVersion: 1,
    tenantId: 'contoso',
    ...seedRequest(),
    ...overrides,
  });

  it.each<{ name: string; message: unknown; reason: string }>([
    { name: 'a string (undecodable JSON)', message: '{"tenantId":"contoso",', reason: 'must be a JSON object' },
    { name: 'null', message: null, reason: 'must be a JSON object' },
    { name: 'a number', message: 42, reason: 'must be a JSON object' },
    { name: 'an array', message: [queued()], reason: 'must be a JSON object' },
    { name: 'no tenantId', message: { ...seedRequest() }, reason: 'tenantId' },
    { name: 'tenantId as a number', message: queued({ tenantId: 7 }), reason: 'tenantId' },
    { name: 'OData in tenantId', message: queued({ tenantId: "' or PartitionKey ne '" }), reason: 'tenantId' },
    { name: 'traversal in tenantId', message: queued({ tenantId: '../fabrikam' }), reason: 'tenantId' },
    { name: 'schemaVersion 2', message: queued({ schemaVersion: 2 }), reason: 'schemaVersion' },
    { name: 'schemaVersion "1"', message: queued({ schemaVersion: '1' }), reason: 'schemaVersion' },
    { name: 'an unknown field', message: queued({ priority: 'high' }), reason: 'priority' },
    {
      name: 'IPv6 addresses',
      message: queued({ containerIps: { addresses: ['::1'] } }),
      reason: 'containerIps.addresses[0]',
    },
    {
      name: 'PowerShell in network.name',
      message: queued({ network: { name: '$(Stop-Computer)', driver: 'l2bridge' } }),
      reason: 'network.name',
    },
    { name: 'an unknown controller', message: queued({ networkController: 'lab' }), reason: 'networkController' },
  ])('$name → poison queue with the reason logged, nothing stored or enqueued', async ({ message, reason }) => {
    expectPoisoned(await accept(message), message, reason);
  });

  it('moves a different request under a used attachmentId to poison, starting nothing twice', async () => {
    const h = handlerSet();
    await h.accept(queued(), recordingContext('acceptAttachRequest').context);
    expect(h.store.writes).toBe(1);
    const { context, logs, outputs } = recordingContext('acceptAttachRequest');
    const other = queued({ subnetId: 'Subnet2' });
    await h.accept(other, context);
    expect(h.poisoned).toEqual([other]);
    expect(h.store.writes).toBe(1);
    expect(outputs).toEqual([]);
    expect(logs.some((l) => l.startsWith('error:') && l.includes('attachmentId'))).toBe(true);
  });

  it('property: any JSON message is either accepted once or poisoned with a logged reason; never throws', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.jsonValue({ maxDepth: 4 }),
          fc.record({ tenantId: fc.oneof(fc.string(), fc.constantFrom(...HOSTILE_STRINGS)) }),
          fc
            .tuple(
              fc.constantFrom('tenantId', 'schemaVersion', 'virtualNetworkId', 'nic', 'containerIps', 'network.name'),
              fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom(...HOSTILE_STRINGS), fc.constant(undefined)),
            )
            .map(([path, value]) => withPath(path, value, queued())),
        ),
        async (message) => {
          const h = handlerSet();
          const { context, logs, outputs } = recordingContext('acceptAttachRequest');
          await h.accept(message, context);
          if (h.poisoned.length > 0) {
            expect(h.poisoned).toEqual([message]);
            expect(h.store.writes).toBe(0);
            expect(outputs).toEqual([]);
            expect(logs.filter((l) => l.startsWith('error:'))).toHaveLength(1);
          } else {
            expect(h.store.writes).toBe(1);
            expect(outputs).toHaveLength(1);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('step queue: broken messages', () => {
  const TENANT = 'contoso';
  const ID = 'seed-1';

  async function setup(status: 'Pending' | 'Running' | 'Completed' = 'Pending') {
    const store = new InMemoryStateStore();
    await store.createAttachment(newAttachmentRecord(TENANT, acceptedSeedRequest(), '2026-11-28T10:00:00.000Z'), [
      { type: 'Submitted' },
    ]);
    if (status !== 'Pending') {
      await store.updateAttachment(TENANT, ID, (r) => ({
        record: {
          ...r,
          runtimeStatus: status,
          steps: {
            ...r.steps,
            addIpConfigurations:
              status === 'Running'
                ? { status: 'Running', attempts: 1, leaseOwner: 'live', leaseExpiresAtInMs: Date.now() + 60_000 }
                : { status: 'Succeeded', attempts: 1 },
          },
        },
      }));
    }
    const ran: string[] = [];
    const succeed: StepImplementation = (run) => {
      ran.push(`${run.tenantId}/${run.attachmentId}`);
      return Promise.resolve({ kind: 'succeeded', result: {}, detail: {} });
    };
    const deps: StepExecutorDeps = {
      store,
      sendDelayed: () => Promise.resolve(),
      steps: Object.fromEntries(STEP_NAMES.map((name) => [name, succeed])),
      maxDequeueCount: 5,
      inlineWaitInMs: 0,
      leaseInMs: 60_000,
      busyRecheckInMs: 15_000,
      nowInMs: () => Date.now(),
      sleep: () => Promise.resolve(),
    };
    const handler = makeStepHandler('addIpConfigurations', () => deps);
    const before = await store.getAttachment(TENANT, ID);
    return { store, handler, ran, before: before as AttachmentRecord };
  }

  async function deliver(t: Awaited<ReturnType<typeof setup>>, message: unknown) {
    const { context, logs, outputs } = recordingContext('addIpConfigurations', { dequeueCount: 1 });
    await t.handler(message, context);
    return { logs, outputs };
  }

  const valid = stepMessage(TENANT, ID, 'addIpConfigurations');

  it.each<{ name: string; message: unknown }>([
    { name: 'a string', message: 'not json' },
    { name: 'null', message: null },
    { name: 'an array', message: [valid] },
    { name: 'OData in tenantId', message: { ...valid, tenantId: "' or PartitionKey ne '" } },
    { name: 'traversal in attachmentId', message: { ...valid, attachmentId: '../seed-1' } },
    { name: 'a prototype key', message: JSON.parse('{"__proto__":{"step":"addIpConfigurations"}}') as unknown },
  ])('$name: logged and dropped, no step runs, no row written', async ({ message }) => {
    const t = await setup();
    const writes = t.store.writes;
    const { logs, outputs } = await deliver(t, message);
    expect(logs.some((l) => l.startsWith('error:') && l.includes('invalid step message'))).toBe(true);
    expect(t.ran).toEqual([]);
    expect(outputs).toEqual([]);
    expect(rowCount(t.store)).toBe(1);
    expect(t.store.writes).toBe(writes);
  });

  it.each<{ name: string; message: unknown; reason: string }>([
    { name: 'no schemaVersion', message: { ...valid, schemaVersion: undefined }, reason: 'schemaVersion' },
    { name: 'an unknown step', message: { ...valid, step: 'formatDisk' }, reason: 'step' },
    { name: 'another step on this queue', message: { ...valid, step: 'createContainerNetwork' }, reason: 'step' },
    { name: 'a negative recheck', message: { ...valid, recheck: -1 }, reason: 'recheck' },
    { name: 'an extra field', message: { ...valid, command: 'Stop-Computer' }, reason: 'command' },
  ])(
    '$name, naming a Pending attachment: the attachment ends Failed with InvalidMessage and the reason; no step runs',
    async ({ message, reason }) => {
      const t = await setup();
      const { logs, outputs } = await deliver(t, message);
      const record = await t.store.getAttachment(TENANT, ID);
      expect(record).toMatchObject({
        runtimeStatus: 'Failed',
        lastError: { code: 'InvalidMessage', retryable: false },
      });
      expect(record?.lastError?.message).toContain(reason);
      expect(logs.some((l) => l.startsWith('error:') && l.includes(reason))).toBe(true);
      expect(t.ran).toEqual([]);
      expect(outputs).toEqual([]);
      expect(rowCount(t.store)).toBe(1);
      // The request and the other steps are left as they were: nothing half-rewritten.
      expect(record?.request).toEqual(t.before.request);
      expect(record?.steps.enableNetworkProxy).toEqual(t.before.steps.enableNetworkProxy);
    },
  );

  it('a valid message for an unknown attachment writes no row', async () => {
    const t = await setup();
    const { logs, outputs } = await deliver(t, stepMessage(TENANT, 'no-such-attachment', 'addIpConfigurations'));
    expect(logs.some((l) => l.includes('no such attachment'))).toBe(true);
    expect(await t.store.getAttachment(TENANT, 'no-such-attachment')).toBeUndefined();
    expect(rowCount(t.store)).toBe(1);
    expect(t.ran).toEqual([]);
    expect(outputs).toEqual([]);
  });

  it('a broken message naming an attachment of another tenant does not touch the real one', async () => {
    const t = await setup();
    await deliver(t, { ...valid, tenantId: 'fabrikam', extra: 1 });
    expect(await t.store.getAttachment(TENANT, ID)).toEqual(t.before);
    expect(rowCount(t.store)).toBe(1);
  });

  it('a broken message naming an ended attachment changes nothing', async () => {
    const t = await setup('Completed');
    const writes = t.store.writes;
    await deliver(t, { ...valid, recheck: 'soon' });
    expect(t.store.writes).toBe(writes);
    expect(await t.store.getAttachment(TENANT, ID)).toEqual(t.before);
  });

  it('a broken message that fails a Running attachment ends its current step too, unleased and with an end time', async () => {
    const t = await setup('Running');
    await deliver(t, { ...valid, step: 'createContainerNetwork' });
    const record = await t.store.getAttachment(TENANT, ID);
    expect(record?.runtimeStatus).toBe('Failed');
    expect(record?.steps.addIpConfigurations).toMatchObject({
      status: 'Failed',
      lastError: { code: 'InvalidMessage' },
    });
    expect(record?.steps.addIpConfigurations.endedTime).toBeDefined();
    expect(record?.steps.addIpConfigurations.leaseOwner).toBeUndefined();
  });

  it('property: any JSON message never throws, never creates a row, and runs a step only for the exact valid message', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.jsonValue({ maxDepth: 3 }),
          fc.record(
            {
              schemaVersion: fc.oneof(fc.constant(1), fc.jsonValue({ maxDepth: 1 })),
              tenantId: fc.oneof(fc.constant(TENANT), fc.constantFrom(...HOSTILE_STRINGS), fc.string()),
              attachmentId: fc.oneof(fc.constant(ID), fc.constantFrom(...HOSTILE_STRINGS), fc.string()),
              step: fc.oneof(fc.constantFrom(...STEP_NAMES), fc.string()),
              recheck: fc.oneof(fc.integer({ min: -2, max: 3 }), fc.double(), fc.string()),
              extra: fc.jsonValue({ maxDepth: 1 }),
            },
            { requiredKeys: [] },
          ),
        ),
        async (message) => {
          const t = await setup();
          const { outputs } = await deliver(t, message);
          expect(rowCount(t.store)).toBe(1);
          const record = await t.store.getAttachment(TENANT, ID);
          if (t.ran.length > 0) {
            // Only a well-formed message for this queue's step and this attachment reaches the step.
            expect(message).toMatchObject({
              schemaVersion: 1,
              tenantId: TENANT,
              attachmentId: ID,
              step: 'addIpConfigurations',
            });
            expect(record?.steps.addIpConfigurations.status).toBe('Succeeded');
            expect(outputs.map((o) => o.name)).toEqual([stepQueueOutput('enableNetworkProxy').name]);
          } else {
            expect(outputs).toEqual([]);
            expect(['Pending', 'Failed']).toContain(record?.runtimeStatus);
            if (record?.runtimeStatus === 'Failed') expect(record.lastError?.code).toBe('InvalidMessage');
          }
        },
      ),
      { numRuns: 400 },
    );
  });
});

describe('step poison queue: broken messages', () => {
  it('property: any JSON message never throws and never creates a row', async () => {
    const store = new InMemoryStateStore();
    await store.createAttachment(newAttachmentRecord('contoso', acceptedSeedRequest(), '2026-11-28T10:00:00.000Z'), []);
    const handler = makeFailPoisonedStepHandler(() => ({ store, nowInMs: () => Date.now() }));
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.jsonValue({ maxDepth: 3 }),
          fc.record({
            schemaVersion: fc.constant(1),
            tenantId: fc.oneof(fc.constant('contoso'), fc.constantFrom(...HOSTILE_STRINGS)),
            attachmentId: fc.oneof(fc.constant('other'), fc.constantFrom(...HOSTILE_STRINGS)),
            step: fc.constantFrom(...STEP_NAMES),
          }),
        ),
        async (message) => {
          const { context } = recordingContext('addIpConfigurationsPoison');
          await handler(message, context);
          expect(rowCount(store)).toBe(1);
          expect((await store.getAttachment('contoso', 'seed-1'))?.runtimeStatus).toBe('Pending');
        },
      ),
      { numRuns: 300 },
    );
  });

  it('logs a poisoned non-step message for an operator, escaped onto one line', async () => {
    const store = new InMemoryStateStore();
    const handler = makeFailPoisonedStepHandler(() => ({ store, nowInMs: () => Date.now() }));
    const { context, logs } = recordingContext('addIpConfigurationsPoison');
    await handler({ injected: 'line\n[Information] forged log line' }, context);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toContain('not a step message');
    expect(logs[0]).not.toContain('\n');
  });
});
