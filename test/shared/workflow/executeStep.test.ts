import { describe, expect, it } from 'vitest';

import { RemoteServiceError, StepError } from '../../../shared/errors';
import { stepMessage } from '../../../shared/model/messages';
import { newAttachmentRecord, type StepState } from '../../../shared/model/records';
import { executeStep, type StepExecutorDeps } from '../../../shared/workflow/executeStep';
import type { Delivery, StepImplementation, StepProbe } from '../../../shared/workflow/stepTypes';
import { InMemoryStateStore } from '../../support/InMemoryStateStore';
import { acceptedSeedRequest } from '../../support/seed';

const TENANT = 'contoso';
const ID = 'seed-1';
const STEP = 'addIpConfigurations';

function setup(implementation: StepImplementation, overrides: Partial<StepExecutorDeps> = {}) {
  const store = new InMemoryStateStore();
  let now = Date.parse('2026-11-28T10:00:00Z');
  const delayed: { queueName: string; message: unknown; delayInMs: number }[] = [];
  const deps: StepExecutorDeps = {
    store,
    sendDelayed: (queueName, message, delayInMs) => {
      delayed.push({ queueName, message, delayInMs });
      return Promise.resolve();
    },
    steps: { [STEP]: implementation },
    maxDequeueCount: 3,
    inlineWaitInMs: 0,
    leaseInMs: 60_000,
    busyRecheckInMs: 15_000,
    nowInMs: () => (now += 10),
    sleep: () => Promise.resolve(),
    ...overrides,
  };
  const logs: string[] = [];
  const delivery = (dequeueCount = 1, invocationId = 'inv-1'): Delivery => ({
    dequeueCount,
    invocationId,
    log: (level, message) => logs.push(`${level}: ${message}`),
  });
  const advance = (ms: number) => void (now += ms);
  return { store, deps, delayed, logs, delivery, advance };
}

async function seed(store: InMemoryStateStore) {
  await store.createAttachment(newAttachmentRecord(TENANT, acceptedSeedRequest(), '2026-11-28T09:59:00.000Z'), [
    { type: 'Submitted' },
  ]);
}

const succeed: StepImplementation = () =>
  Promise.resolve({ kind: 'succeeded', result: { ipConfigurations: [] }, detail: { done: true } });

describe('executeStep', () => {
  it('runs the step, records it and hands the next step its message', async () => {
    const t = setup(succeed);
    await seed(t.store);
    const result = await executeStep(t.deps, stepMessage(TENANT, ID, STEP), t.delivery());
    expect(result.next).toEqual(stepMessage(TENANT, ID, 'enableNetworkProxy'));
    const record = await t.store.getAttachment(TENANT, ID);
    expect(record).toMatchObject({ runtimeStatus: 'Running', currentStep: 'enableNetworkProxy' });
    expect(record?.steps[STEP]).toMatchObject({ status: 'Succeeded', attempts: 1, detail: { done: true } });
    expect(record?.steps[STEP].leaseOwner).toBeUndefined();
    const history = await t.store.listHistory(TENANT, ID);
    expect(history.map((e) => e.type)).toEqual(['Submitted', 'StepStarted', 'StepSucceeded']);
  });

  it('completes the attachment after its last step', async () => {
    const t = setup(succeed, { steps: { createContainerNetwork: succeed } });
    await seed(t.store);
    await t.store.updateAttachment(TENANT, ID, (r) => ({ record: { ...r, currentStep: 'createContainerNetwork' } }));
    const result = await executeStep(t.deps, stepMessage(TENANT, ID, 'createContainerNetwork'), t.delivery());
    expect(result.next).toBeUndefined();
    const record = await t.store.getAttachment(TENANT, ID);
    expect(record).toMatchObject({ runtimeStatus: 'Completed', currentStep: undefined });
    expect((await t.store.listHistory(TENANT, ID)).at(-1)?.type).toBe('Completed');
  });

  it('sends the next message again when a finished step is redelivered before the next one started', async () => {
    const t = setup(succeed);
    await seed(t.store);
    await executeStep(t.deps, stepMessage(TENANT, ID, STEP), t.delivery());
    // The host lost the output binding's write, then redelivered the trigger message.
    const again = await executeStep(t.deps, stepMessage(TENANT, ID, STEP), t.delivery(2, 'inv-2'));
    expect(again.next).toEqual(stepMessage(TENANT, ID, 'enableNetworkProxy'));
  });

  it('counts a failed re-check as an attempt, so retries of a running operation stay bounded', async () => {
    const error = new RemoteServiceError('timed out', {
      source: 'RunCommand',
      code: 'RunCommandTimedOut',
      retryable: true,
    });
    const t = setup((run) =>
      run.checkpoint
        ? Promise.reject(error)
        : Promise.resolve({ kind: 'waiting', checkpoint: { op: 1 }, checkAfterInMs: 10, message: 'op' }),
    );
    await seed(t.store);
    await executeStep(t.deps, stepMessage(TENANT, ID, STEP), t.delivery(1, 'a'));
    // Each re-check message arrives fresh (dequeueCount 1); when it fails, its redelivery is a new attempt.
    await expect(executeStep(t.deps, stepMessage(TENANT, ID, STEP, 1), t.delivery(1, 'b'))).rejects.toBe(error);
    await expect(executeStep(t.deps, stepMessage(TENANT, ID, STEP, 1), t.delivery(2, 'c'))).rejects.toBe(error);
    await expect(executeStep(t.deps, stepMessage(TENANT, ID, STEP, 2), t.delivery(2, 'd'))).resolves.toEqual({});
    const record = await t.store.getAttachment(TENANT, ID);
    expect(record).toMatchObject({ runtimeStatus: 'Failed', lastError: { code: 'RunCommandTimedOut' } });
    expect(record?.steps[STEP].attempts).toBe(3);
  });

  it('ignores a duplicate delivery of a finished step', async () => {
    let runs = 0;
    const t = setup(() => {
      runs++;
      return succeed({} as never);
    });
    await seed(t.store);
    await executeStep(t.deps, stepMessage(TENANT, ID, STEP), t.delivery());
    const writes = t.store.writes;
    await executeStep(t.deps, stepMessage(TENANT, ID, STEP), t.delivery(2, 'inv-2'));
    expect(runs).toBe(1);
    expect(t.store.writes).toBe(writes);
  });

  it.each([
    {
      name: 'transient remote error',
      error: new RemoteServiceError('busy', {
        source: 'NetworkController',
        code: 'ServiceUnavailable',
        statusCode: 503,
        retryable: true,
      }),
    },
    { name: 'unknown error', error: new Error('socket hang up') },
  ])('rethrows a $name for redelivery and records it, until the last delivery marks Failed', async ({ error }) => {
    const t = setup(() => Promise.reject(error));
    await seed(t.store);
    await expect(executeStep(t.deps, stepMessage(TENANT, ID, STEP), t.delivery(1))).rejects.toBe(error);
    let record = await t.store.getAttachment(TENANT, ID);
    expect(record?.runtimeStatus).toBe('Running');
    expect(record?.steps[STEP]).toMatchObject({ status: 'Running', attempts: 1 });
    expect(record?.steps[STEP].lastError?.message).toBe(error.message);
    expect(record?.steps[STEP].leaseOwner).toBeUndefined();

    await expect(executeStep(t.deps, stepMessage(TENANT, ID, STEP), t.delivery(2, 'inv-2'))).rejects.toBe(error);
    await expect(executeStep(t.deps, stepMessage(TENANT, ID, STEP), t.delivery(3, 'inv-3'))).resolves.toEqual({});
    record = await t.store.getAttachment(TENANT, ID);
    expect(record?.runtimeStatus).toBe('Failed');
    expect(record?.steps[STEP]).toMatchObject({ status: 'Failed', attempts: 3 });
    expect(record?.lastError?.message).toBe(error.message);
  });

  it('fails at once on an error that cannot succeed on retry, keeping the remote code', async () => {
    const t = setup(() =>
      Promise.reject(
        new StepError('held by NicB', { code: 'PrivateIPAddressInUse', source: 'NetworkController', retryable: false }),
      ),
    );
    await seed(t.store);
    await expect(executeStep(t.deps, stepMessage(TENANT, ID, STEP), t.delivery(1))).resolves.toEqual({});
    const record = await t.store.getAttachment(TENANT, ID);
    expect(record?.runtimeStatus).toBe('Failed');
    expect(record?.lastError).toMatchObject({
      source: 'NetworkController',
      code: 'PrivateIPAddressInUse',
      retryable: false,
    });
    const history = await t.store.listHistory(TENANT, ID);
    expect(history.at(-1)).toMatchObject({ type: 'Failed', error: { code: 'PrivateIPAddressInUse' } });
  });

  it('saves the checkpoint and schedules a re-check on its step’s re-check queue while an operation runs', async () => {
    let calls = 0;
    const t = setup((run) => {
      calls++;
      if (calls === 1)
        return Promise.resolve({ kind: 'waiting', checkpoint: { op: 'x' }, checkAfterInMs: 1500, message: 'op x' });
      expect(run.checkpoint).toEqual({ op: 'x' });
      return succeed(run);
    });
    await seed(t.store);
    await executeStep(t.deps, stepMessage(TENANT, ID, STEP), t.delivery());
    expect(t.delayed).toEqual([
      { queueName: 'step-add-ip-configurations-rechecks', message: stepMessage(TENANT, ID, STEP, 1), delayInMs: 1500 },
    ]);
    let record = await t.store.getAttachment(TENANT, ID);
    expect(record?.steps[STEP]).toMatchObject({ status: 'Running', attempts: 1, checkpoint: { op: 'x' } });
    await executeStep(t.deps, stepMessage(TENANT, ID, STEP, 1), t.delivery(1, 'inv-2'));
    record = await t.store.getAttachment(TENANT, ID);
    // A re-check is not a new attempt.
    expect(record?.steps[STEP]).toMatchObject({ status: 'Succeeded', attempts: 1 });
    expect(record?.steps[STEP].checkpoint).toBeUndefined();
  });

  it.each([
    ['parks it with no message of its own in a queue', true, []],
    ['re-checks at once when the wait ended before the step parked', false, [0]],
  ])(
    'a step waiting on another invocation’s work: %s, without waiting inline',
    async (_, parks, expectedDelaysInMs) => {
      let calls = 0;
      const parkedWith: { recheck: number; stored: unknown }[] = [];
      const t = setup(
        (run) => {
          calls++;
          if (run.checkpoint?.waitingFor) return succeed(run);
          return Promise.resolve({
            kind: 'waiting',
            checkpoint: { waitingFor: 'other' },
            checkAfterInMs: 60_000,
            message: 'HV01 is being configured for another attachment',
            park: async (recheck: number) => {
              // The waiting state is stored before the step parks: a wake-up sent now must find it.
              parkedWith.push({ recheck, stored: (await t.store.getAttachment(TENANT, ID))?.steps[STEP] });
              return parks;
            },
          });
        },
        { inlineWaitInMs: 300_000 },
      );
      await seed(t.store);
      await executeStep(t.deps, stepMessage(TENANT, ID, STEP), t.delivery());

      expect(calls).toBe(1);
      expect(parkedWith).toEqual([
        {
          recheck: 1,
          stored: expect.objectContaining({
            awaitingRecheck: 1,
            checkpoint: { waitingFor: 'other' },
          }) as unknown,
        },
      ]);
      expect((parkedWith[0]?.stored as { leaseOwner?: string }).leaseOwner).toBeUndefined();
      expect(t.delayed.map((d) => d.delayInMs)).toEqual(expectedDelaysInMs);
      for (const sent of t.delayed) expect(sent.message).toEqual(stepMessage(TENANT, ID, STEP, 1));

      // The wake-up (or the immediate re-check) continues the step.
      await executeStep(t.deps, stepMessage(TENANT, ID, STEP, 1), t.delivery(1, 'inv-2'));
      const record = await t.store.getAttachment(TENANT, ID);
      expect(record?.steps[STEP]).toMatchObject({ status: 'Succeeded' });
    },
  );

  it('leaves a step alone while another live invocation holds it, and looks again after the holder is done', async () => {
    let runs = 0;
    const t = setup(async (run) => {
      runs++;
      // While this invocation works, a duplicate of its message arrives.
      await expect(executeStep(t.deps, stepMessage(TENANT, ID, STEP), t.delivery(1, 'other'))).resolves.toEqual({});
      return succeed(run);
    });
    await seed(t.store);
    await executeStep(t.deps, stepMessage(TENANT, ID, STEP), t.delivery(1, 'first'));
    expect(runs).toBe(1);
    expect(t.logs.some((l) => l.includes('busy (held by first)'))).toBe(true);
    // Looked at again after the busy re-check interval (the lease is longer), marked with the holder it waits for.
    expect(t.delayed).toEqual([
      {
        queueName: 'step-add-ip-configurations-rechecks',
        message: { ...stepMessage(TENANT, ID, STEP), afterLeaseOf: 'first' },
        delayInMs: 15_500,
      },
    ]);
    // The holder finished in the meantime: the look-again is dropped.
    const again = t.delayed[0]?.message;
    await expect(executeStep(t.deps, again, t.delivery(1, 'third'))).resolves.toEqual({});
    expect(runs).toBe(1);
    expect(t.logs.some((l) => l.includes('nothing to do (superseded)'))).toBe(true);
  });

  it.each([
    ['the holder let go and waits for its re-check', 'waiting', 'superseded', 1],
    ['the holder died holding the step, and its lease ran out', 'dead', 'run', 2],
  ] as const)('a look-again after a busy delivery: %s', async (_, holderFate, verdict, expectedRuns) => {
    let runs = 0;
    const t = setup((run) => {
      runs++;
      if (holderFate === 'dead' && runs === 1) return new Promise(() => undefined);
      if (runs === 1)
        return Promise.resolve({ kind: 'waiting', checkpoint: { op: 1 }, checkAfterInMs: 60_000, message: 'op' });
      return succeed(run);
    });
    await seed(t.store);
    void executeStep(t.deps, stepMessage(TENANT, ID, STEP), t.delivery(1, 'holder'));
    await new Promise((resolve) => setImmediate(resolve));
    const lookAgain = { ...stepMessage(TENANT, ID, STEP), afterLeaseOf: 'holder' };
    if (holderFate === 'dead') {
      // Still inside the lease: busy again.
      await executeStep(t.deps, lookAgain, t.delivery(1, 'early'));
      expect(t.delayed.at(-1)?.message).toEqual(lookAgain);
      t.advance(120_000);
    }
    await executeStep(t.deps, lookAgain, t.delivery(1, 'late'));
    expect(runs).toBe(expectedRuns);
    const record = await t.store.getAttachment(TENANT, ID);
    if (verdict === 'run') {
      expect(record?.steps[STEP]).toMatchObject({ status: 'Succeeded', attempts: 2 });
    } else {
      expect(t.logs.some((l) => l.includes('nothing to do (superseded)'))).toBe(true);
      expect(record?.steps[STEP]).toMatchObject({ status: 'Running', attempts: 1, awaitingRecheck: 1 });
    }
  });

  it('drops a second first delivery while the step waits for its re-check, but not a redelivery', async () => {
    let runs = 0;
    const t = setup(() => {
      runs++;
      return Promise.resolve({ kind: 'waiting', checkpoint: { op: 1 }, checkAfterInMs: 60_000, message: 'op' });
    });
    await seed(t.store);
    await executeStep(t.deps, stepMessage(TENANT, ID, STEP), t.delivery(1, 'a'));
    // A resubmission sent step 1 again: the step is under way, so it is a duplicate.
    await executeStep(t.deps, stepMessage(TENANT, ID, STEP), t.delivery(1, 'b'));
    // A stale re-check from an earlier round is a duplicate too.
    await executeStep(t.deps, stepMessage(TENANT, ID, STEP, 7), t.delivery(1, 'c'));
    expect(runs).toBe(1);
    // The first delivery's own redelivery may mean its re-check was never sent: it runs.
    await executeStep(t.deps, stepMessage(TENANT, ID, STEP), t.delivery(2, 'd'));
    expect(runs).toBe(2);
    // And the re-check it sent is the one that continues the step.
    await executeStep(t.deps, stepMessage(TENANT, ID, STEP, 1), t.delivery(1, 'e'));
    expect(runs).toBe(3);
  });

  it('stops at the step boundary when cancellation was asked for', async () => {
    let runs = 0;
    const t = setup(() => {
      runs++;
      return succeed({} as never);
    });
    await seed(t.store);
    await t.store.updateAttachment(TENANT, ID, (r) => ({ record: { ...r, cancelRequested: true } }));
    await executeStep(t.deps, stepMessage(TENANT, ID, STEP), t.delivery());
    expect(runs).toBe(0);
    expect((await t.store.getAttachment(TENANT, ID))?.runtimeStatus).toBe('Canceled');
  });

  it('re-reads and re-applies its write when another writer changed the row in between', async () => {
    const t = setup(succeed);
    await seed(t.store);
    t.store.interleave = () => t.store.touch(TENANT, ID);
    await executeStep(t.deps, stepMessage(TENANT, ID, STEP), t.delivery());
    expect(t.store.conflicts).toBe(1);
    expect((await t.store.getAttachment(TENANT, ID))?.steps[STEP].status).toBe('Succeeded');
  });

  it.each([
    { name: 'not an object', raw: 'hello', marksFailed: false },
    {
      name: 'unknown step',
      raw: { schemaVersion: 1, tenantId: TENANT, attachmentId: ID, step: 'dropTables' },
      marksFailed: true,
    },
    {
      name: 'wrong schema version',
      raw: { schemaVersion: 2, tenantId: TENANT, attachmentId: ID, step: STEP },
      marksFailed: true,
    },
    {
      name: 'hostile tenant id',
      raw: { schemaVersion: 1, tenantId: "x' or 1 eq 1", attachmentId: ID, step: STEP },
      marksFailed: false,
    },
  ])('drops an invalid message ($name) without retrying it', async ({ raw, marksFailed }) => {
    const t = setup(succeed);
    await seed(t.store);
    await expect(executeStep(t.deps, raw, t.delivery())).resolves.toEqual({});
    const record = await t.store.getAttachment(TENANT, ID);
    expect(record?.runtimeStatus).toBe(marksFailed ? 'Failed' : 'Pending');
    if (marksFailed) expect(record?.lastError?.code).toBe('InvalidMessage');
    expect(t.logs.some((l) => l.startsWith('error: invalid step message'))).toBe(true);
  });

  it('drops a message for an attachment that does not exist', async () => {
    const t = setup(succeed);
    await expect(executeStep(t.deps, stepMessage(TENANT, 'nope', STEP), t.delivery())).resolves.toEqual({});
    expect(t.logs.some((l) => l.includes('no such attachment'))).toBe(true);
  });
});

describe('executeStep and detach', () => {
  const refused = () =>
    Promise.reject(
      new StepError('the tenant may no longer do this', { code: 'TenantNotAuthorized', retryable: false }),
    );

  it('a detach step that fails for good ends the attachment Failed and sends nothing: no second detach', async () => {
    const t = setup(succeed, { steps: { removeIpConfigurations: refused } });
    await seed(t.store);
    await t.store.updateAttachment(TENANT, ID, (r) => ({
      record: { ...r, runtimeStatus: 'Detaching', currentStep: 'removeIpConfigurations', detachRequested: true },
    }));
    const result = await executeStep(t.deps, stepMessage(TENANT, ID, 'removeIpConfigurations'), t.delivery());
    expect(result).toEqual({});
    expect(await t.store.getAttachment(TENANT, ID)).toMatchObject({
      runtimeStatus: 'Failed',
      currentStep: 'removeIpConfigurations',
      lastError: { code: 'TenantNotAuthorized' },
    });
    expect((await t.store.listHistory(TENANT, ID)).map((e) => e.type)).not.toContain('DetachStarted');
  });

  it('an attach step that fails for good on an attachment asked to detach hands over to the first detach step', async () => {
    const t = setup(refused);
    await seed(t.store);
    await t.store.updateAttachment(TENANT, ID, (r) => ({
      record: { ...r, cancelRequested: true, detachRequested: true },
    }));
    // The step was under way when the DELETE came: it ends, then the detach starts.
    await t.store.updateAttachment(TENANT, ID, (r) => ({
      record: { ...r, steps: { ...r.steps, [STEP]: { status: 'Running', attempts: 1 } } },
    }));
    const result = await executeStep(t.deps, stepMessage(TENANT, ID, STEP), t.delivery(2, 'inv-2'));
    expect(result.next).toEqual(stepMessage(TENANT, ID, 'removeContainerNetwork'));
    expect(await t.store.getAttachment(TENANT, ID)).toMatchObject({
      runtimeStatus: 'Detaching',
      currentStep: 'removeContainerNetwork',
    });
  });

  it('the last detach step’s success ends the attachment Detached with nothing to send', async () => {
    const t = setup(succeed, {
      steps: {
        removeIpConfigurations: () => Promise.resolve({ kind: 'succeeded', result: {}, detail: { released: [] } }),
      },
    });
    await seed(t.store);
    await t.store.updateAttachment(TENANT, ID, (r) => ({
      record: { ...r, runtimeStatus: 'Detaching', currentStep: 'removeIpConfigurations', detachRequested: true },
    }));
    expect(await executeStep(t.deps, stepMessage(TENANT, ID, 'removeIpConfigurations'), t.delivery())).toEqual({});
    expect(await t.store.getAttachment(TENANT, ID)).toMatchObject({
      runtimeStatus: 'Detached',
      currentStep: undefined,
    });
  });
});

describe('executeStep with a probe (a step that may need no work)', () => {
  const STEP2 = 'enableNetworkProxy';
  const reused: StepProbe = () => Promise.resolve({ kind: 'succeeded', result: {}, detail: { reused: true } } as const);

  /** An attachment at step 2 whose step has `probe`; `runs()` counts how often the step itself ran. */
  async function probedAtStep2(probe: StepProbe) {
    let runs = 0;
    const t = setup(() => {
      runs++;
      return succeed({} as never);
    });
    t.deps.steps = { [STEP2]: t.deps.steps[STEP] };
    t.deps.probes = { [STEP2]: probe };
    await atStep2(t);
    return { t, runs: () => runs };
  }

  /** Stores step 2's state as another delivery left it. */
  async function setStep2(t: ReturnType<typeof setup>, state: StepState) {
    await t.store.updateAttachment(TENANT, ID, (r) => ({ record: { ...r, steps: { ...r.steps, [STEP2]: state } } }));
  }

  async function atStep2(t: ReturnType<typeof setup>) {
    await seed(t.store);
    await t.store.updateAttachment(TENANT, ID, (r) => ({
      record: {
        ...r,
        runtimeStatus: 'Running',
        currentStep: STEP2,
        steps: { ...r.steps, [STEP]: { status: 'Succeeded', attempts: 1 } },
      },
    }));
  }

  it('finishes an untouched step in one state write, with its start and success in the history', async () => {
    const { t, runs } = await probedAtStep2(reused);
    const writes = t.store.writes;
    const result = await executeStep(t.deps, stepMessage(TENANT, ID, STEP2), t.delivery());
    expect(result.next).toEqual(stepMessage(TENANT, ID, 'installPrivateCloudPlugin'));
    expect(runs()).toBe(0);
    expect(t.store.writes - writes).toBe(1);
    const record = await t.store.getAttachment(TENANT, ID);
    expect(record?.steps[STEP2]).toMatchObject({ status: 'Succeeded', attempts: 1, detail: { reused: true } });
    expect(record?.steps[STEP2].leaseOwner).toBeUndefined();
    // Its start is when the delivery began, not when its one write happened, so its duration is measured.
    const { startedTime, endedTime } = record?.steps[STEP2] ?? {};
    expect(Date.parse(endedTime ?? '') - Date.parse(startedTime ?? '')).toBeGreaterThan(0);
    const events = await t.store.listHistory(TENANT, ID);
    expect(events.find((e) => e.type === 'StepStarted' && e.step === STEP2)?.time).toBe(startedTime);
    const history = events.map((e) => `${e.type} ${e.step ?? ''}`.trim());
    expect(history.slice(-2)).toEqual([`StepStarted ${STEP2}`, `StepSucceeded ${STEP2}`]);
  });

  it.each([
    ['the probe finds work to do', () => Promise.resolve(undefined), undefined, 1],
    ['the probe fails', () => Promise.reject(new Error('storage down')), undefined, 1],
    ['cancellation was asked for', reused, 'cancel', 0],
    ['another delivery holds the step', reused, 'leased', 0],
  ] as const)('runs the ordinary path when %s', async (_, probe, condition, expectedRuns) => {
    const { t, runs } = await probedAtStep2(probe);
    if (condition === 'cancel')
      await t.store.updateAttachment(TENANT, ID, (r) => ({ record: { ...r, cancelRequested: true } }));
    if (condition === 'leased')
      await setStep2(t, {
        status: 'Running',
        attempts: 1,
        leaseOwner: 'other',
        leaseExpiresAtInMs: Date.parse('2027-01-01'),
      });
    await executeStep(t.deps, stepMessage(TENANT, ID, STEP2), t.delivery());
    expect(runs()).toBe(expectedRuns);
    const status = (await t.store.getAttachment(TENANT, ID))?.runtimeStatus;
    expect(status).toBe(condition === 'cancel' ? 'Canceled' : 'Running');
    if (condition === 'leased') expect(t.logs.some((l) => l.includes('busy (held by other)'))).toBe(true);
  });

  /** Step 2 parked awaiting re-check 2, as the executor leaves a step that waits for another attachment's run. */
  async function parkedAtStep2(probe: StepProbe) {
    const probed = await probedAtStep2(probe);
    await setStep2(probed.t, {
      status: 'Running',
      attempts: 1,
      startedTime: '2026-11-28T10:00:00.000Z',
      awaitingRecheck: 2,
      checkpoint: { waitingFor: { tenantId: 'fabrikam', attachmentId: 'owner' } },
    });
    return probed;
  }

  it('finishes a parked step its wake-up finds reusable in one state write, keeping its start', async () => {
    const { t, runs } = await parkedAtStep2(reused);
    const writes = t.store.writes;
    const result = await executeStep(t.deps, stepMessage(TENANT, ID, STEP2, 2), t.delivery());
    expect(result.next).toEqual(stepMessage(TENANT, ID, 'installPrivateCloudPlugin'));
    expect(runs()).toBe(0);
    expect(t.store.writes - writes).toBe(1);
    const state = (await t.store.getAttachment(TENANT, ID))?.steps[STEP2];
    expect(state).toMatchObject({ status: 'Succeeded', attempts: 1, startedTime: '2026-11-28T10:00:00.000Z' });
    expect(state?.awaitingRecheck).toBeUndefined();
    expect(state?.checkpoint).toBeUndefined();
    const history = (await t.store.listHistory(TENANT, ID)).map((e) => `${e.type} ${e.step ?? ''}`.trim());
    expect(history.at(-1)).toBe(`StepSucceeded ${STEP2}`);
    expect(history).not.toContain(`StepStarted ${STEP2}`);
  });

  it.each([
    ['a re-check the step no longer waits for', 1, 1, 'superseded'],
    ['a redelivered wake-up (its last look failed)', 2, 2, 'ran'],
  ] as const)('leaves %s to the ordinary path', async (_, recheck, dequeueCount, expected) => {
    const { t, runs } = await parkedAtStep2(reused);
    await executeStep(t.deps, stepMessage(TENANT, ID, STEP2, recheck), t.delivery(dequeueCount));
    expect(runs()).toBe(expected === 'ran' ? 1 : 0);
    if (expected === 'superseded') {
      expect(t.logs.some((l) => l.includes('nothing to do (superseded)'))).toBe(true);
      expect((await t.store.getAttachment(TENANT, ID))?.steps[STEP2].awaitingRecheck).toBe(2);
    }
  });
});

describe('executeStep finishes the steps after its own that need no work, in the same write', () => {
  const reused: StepProbe = (run) =>
    Promise.resolve({ kind: 'succeeded', result: {}, detail: { reused: true, sawSubnet: run.result.subnet } } as const);
  const subnet = {
    resourceRef: '/virtualNetworks/VNet1/subnets/Subnet1',
    addressPrefix: '10.0.0.0/24',
    gateway: '10.0.0.1',
  };
  const step1: StepImplementation = () => Promise.resolve({ kind: 'succeeded', result: { subnet }, detail: {} });

  function withProbes(probes: StepExecutorDeps['probes'], implementation = step1) {
    return setup(implementation, { probes });
  }

  it('completes the attachment in step 1’s delivery when steps 2-4 are already applied: two writes, no message', async () => {
    const t = withProbes({
      enableNetworkProxy: reused,
      installPrivateCloudPlugin: reused,
      createContainerNetwork: reused,
    });
    await seed(t.store);
    const writes = t.store.writes;
    const result = await executeStep(t.deps, stepMessage(TENANT, ID, STEP), t.delivery());
    expect(result.next).toBeUndefined();
    // The claim, then one write for all four outcomes.
    expect(t.store.writes - writes).toBe(2);
    const record = await t.store.getAttachment(TENANT, ID);
    expect(record).toMatchObject({ runtimeStatus: 'Completed', currentStep: undefined, result: { subnet } });
    for (const step of ['enableNetworkProxy', 'installPrivateCloudPlugin', 'createContainerNetwork'] as const) {
      expect(record?.steps[step]).toMatchObject({ status: 'Succeeded', attempts: 1, detail: { reused: true } });
      expect(record?.steps[step].startedTime).toBeDefined();
    }
    // Step 4's probe saw what step 1 produced.
    expect(record?.steps.createContainerNetwork.detail).toMatchObject({ sawSubnet: subnet });
    const history = (await t.store.listHistory(TENANT, ID)).map((e) => `${e.type} ${e.step ?? ''}`.trim());
    expect(history).toEqual([
      'Submitted',
      `StepStarted ${STEP}`,
      `StepSucceeded ${STEP}`,
      'StepStarted enableNetworkProxy',
      'StepSucceeded enableNetworkProxy',
      'StepStarted installPrivateCloudPlugin',
      'StepSucceeded installPrivateCloudPlugin',
      'StepStarted createContainerNetwork',
      'StepSucceeded createContainerNetwork',
      'Completed',
    ]);
    const started = (await t.store.listHistory(TENANT, ID)).find(
      (e) => e.type === 'StepStarted' && e.step === 'installPrivateCloudPlugin',
    );
    expect(started?.message).toBe('right after enableNetworkProxy, in the same delivery');
  });

  it.each([
    ['finds work to do', () => Promise.resolve(undefined)],
    ['fails', () => Promise.reject(new StepError('no', { code: 'TenantNotAuthorized', retryable: false }))],
  ] as const)('stops at the first step whose probe %s, and sends that step its message', async (_, third) => {
    const t = withProbes({
      enableNetworkProxy: reused,
      installPrivateCloudPlugin: third,
      createContainerNetwork: reused,
    });
    await seed(t.store);
    const result = await executeStep(t.deps, stepMessage(TENANT, ID, STEP), t.delivery());
    expect(result.next).toEqual(stepMessage(TENANT, ID, 'installPrivateCloudPlugin'));
    const record = await t.store.getAttachment(TENANT, ID);
    expect(record).toMatchObject({ runtimeStatus: 'Running', currentStep: 'installPrivateCloudPlugin' });
    expect(record?.steps.enableNetworkProxy.status).toBe('Succeeded');
    expect(record?.steps.installPrivateCloudPlugin).toMatchObject({ status: 'Pending', attempts: 0 });
    expect(record?.steps.createContainerNetwork).toMatchObject({ status: 'Pending', attempts: 0 });
  });

  it('finishes no later step once a cancel arrived while step 1 ran: step 2’s message ends it at the boundary', async () => {
    const late: { store?: InMemoryStateStore } = {};
    const t = withProbes({ enableNetworkProxy: reused }, async () => {
      await late.store?.updateAttachment(TENANT, ID, (r) => ({ record: { ...r, cancelRequested: true } }));
      return step1({} as never);
    });
    late.store = t.store;
    await seed(t.store);
    const result = await executeStep(t.deps, stepMessage(TENANT, ID, STEP), t.delivery());
    expect(result.next).toEqual(stepMessage(TENANT, ID, 'enableNetworkProxy'));
    const record = await t.store.getAttachment(TENANT, ID);
    expect(record?.steps.enableNetworkProxy).toMatchObject({ status: 'Pending', attempts: 0 });
    await executeStep(t.deps, stepMessage(TENANT, ID, 'enableNetworkProxy'), t.delivery(1, 'inv-2'));
    expect((await t.store.getAttachment(TENANT, ID))?.runtimeStatus).toBe('Canceled');
  });

  it('a step finished by its probe finishes the ones after it too', async () => {
    const t = withProbes({
      enableNetworkProxy: reused,
      installPrivateCloudPlugin: reused,
      createContainerNetwork: reused,
    });
    await seed(t.store);
    await t.store.updateAttachment(TENANT, ID, (r) => ({
      record: {
        ...r,
        runtimeStatus: 'Running',
        currentStep: 'enableNetworkProxy',
        result: { subnet },
        steps: { ...r.steps, [STEP]: { status: 'Succeeded', attempts: 1 } },
      },
    }));
    const writes = t.store.writes;
    const result = await executeStep(t.deps, stepMessage(TENANT, ID, 'enableNetworkProxy'), t.delivery());
    expect(result.next).toBeUndefined();
    expect(t.store.writes - writes).toBe(1);
    expect((await t.store.getAttachment(TENANT, ID))?.runtimeStatus).toBe('Completed');
  });
});
