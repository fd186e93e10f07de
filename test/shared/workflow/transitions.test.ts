import { describe, expect, it } from 'vitest';

import type { ErrorInfo } from '../../../shared/errors';
import { stepMessage } from '../../../shared/model/messages';
import { type AttachmentRecord, isTerminal, newAttachmentRecord, type StepState } from '../../../shared/model/records';
import type { RecordMutation } from '../../../shared/model/StateStore';
import { type StepName, stepsOf } from '../../../shared/model/steps';
import {
  claimStep,
  failAttachment,
  failStep,
  followUp,
  iso,
  retryStep,
  startDetach,
  succeedStep,
  untouched,
} from '../../../shared/workflow/transitions';
import { acceptedSeedRequest } from '../../support/seed';

const TENANT = 'contoso';
const ID = 'seed-1';
const CREATED = '2026-11-28T10:00:00.000Z';
const NOW_MS = Date.parse('2026-11-28T10:05:00Z');
const NOW = iso(NOW_MS);
const LEASE_MS = 60_000;
const ATTACH = stepsOf('attach').map((s) => s.name);
const DETACH = stepsOf('detach').map((s) => s.name);

const succeeded = (detail: Record<string, unknown> = {}): StepState => ({
  status: 'Succeeded',
  attempts: 1,
  startedTime: CREATED,
  endedTime: CREATED,
  detail,
});
const running = (owner = 'inv-a'): StepState => ({
  status: 'Running',
  attempts: 1,
  startedTime: CREATED,
  leaseOwner: owner,
  leaseExpiresAtInMs: NOW_MS + LEASE_MS,
});
const fresh = (): StepState => ({ status: 'Pending', attempts: 0 });
const FAILURE: ErrorInfo = { source: 'NetworkController', code: 'Boom', message: 'it broke', retryable: true };

/** A stored record: the seed attachment with these fields and step states. */
function record(
  fields: Partial<AttachmentRecord> = {},
  steps: Partial<Record<StepName, StepState>> = {},
): AttachmentRecord {
  const base = newAttachmentRecord(TENANT, acceptedSeedRequest(), CREATED);
  return { ...base, etag: '"7"', ...fields, steps: { ...base.steps, ...steps } };
}

const allAttachDone = () => Object.fromEntries(ATTACH.map((name) => [name, succeeded()]));

/** An attach that finished every step. */
const completed = (fields: Partial<AttachmentRecord> = {}) =>
  record({ runtimeStatus: 'Completed', currentStep: undefined, ...fields }, allAttachDone());

/** An attachment working on (or about to start) `step`, every earlier step of its workflow done. */
function at(
  step: StepName,
  state: StepState,
  fields: Partial<AttachmentRecord> = {},
  steps: Partial<Record<StepName, StepState>> = {},
): AttachmentRecord {
  const detaching = DETACH.includes(step);
  const order = detaching ? DETACH : ATTACH;
  const before = Object.fromEntries(order.slice(0, order.indexOf(step)).map((name) => [name, succeeded()]));
  return record(
    {
      runtimeStatus: detaching ? 'Detaching' : 'Running',
      currentStep: step,
      ...(detaching ? { detachRequested: true } : {}),
      ...fields,
    },
    { ...(detaching ? allAttachDone() : {}), ...before, ...steps, [step]: state },
  );
}

/** The attach of a cancel that became a detach: canceled at step 4, which never started. */
const CANCELED_AT_STEP_4 = { createContainerNetwork: { status: 'Canceled', attempts: 0 } } as const;

const delivery = (invocationId = 'inv-b', dequeueCount = 1) => ({ invocationId, dequeueCount });

function written(mutation: RecordMutation): { record: AttachmentRecord; types: string[] } {
  if (!mutation) throw new Error('expected a write');
  return { record: mutation.record, types: (mutation.events ?? []).map((e) => e.type) };
}

function expectDetachingFromTheStart(next: AttachmentRecord): void {
  expect(next).toMatchObject({
    runtimeStatus: 'Detaching',
    currentStep: 'removeContainerNetwork',
    detachRequested: true,
    cancelRequested: false,
    lastError: undefined,
  });
  for (const name of DETACH) expect(next.steps[name]).toEqual(fresh());
  expect(followUp(next)).toEqual(stepMessage(TENANT, ID, 'removeContainerNetwork'));
}

describe('startDetach', () => {
  it('makes the first detach step current and fresh; the attach steps keep their states', () => {
    const before = completed();
    const next = startDetach(before, NOW);
    expectDetachingFromTheStart(next);
    for (const name of ATTACH) expect(next.steps[name]).toEqual(before.steps[name]);
    expect(next.lastUpdatedTime).toBe(NOW);
    expect(next.result).toEqual(before.result);
  });

  it('starts a detach afresh over an earlier one’s step states, and clears a cancel and the last error', () => {
    const before = record(
      { runtimeStatus: 'Canceled', currentStep: 'removeIpConfigurations', cancelRequested: true, lastError: FAILURE },
      {
        ...allAttachDone(),
        removeContainerNetwork: succeeded({ removed: true }),
        removeIpConfigurations: { status: 'Failed', attempts: 3, lastError: FAILURE, checkpoint: { nicId: 'x' } },
      },
    );
    expectDetachingFromTheStart(startDetach(before, NOW));
  });
});

describe('into Detaching: an attach that ends on an attachment asked to detach goes on to detach', () => {
  it('after its last step succeeds: Completed, then DetachStarted, with the attach’s result kept', () => {
    const before = at('createContainerNetwork', running('inv-b'), { detachRequested: true, cancelRequested: true });
    const { record: next, types } = written(
      succeedStep(
        before,
        'createContainerNetwork',
        { kind: 'succeeded', result: { containerNetwork: { name: 'n' } }, detail: { d: 1 } },
        NOW,
      ),
    );
    expectDetachingFromTheStart(next);
    expect(types).toEqual(['StepSucceeded', 'Completed', 'DetachStarted']);
    expect(next.steps.createContainerNetwork).toMatchObject({ status: 'Succeeded', detail: { d: 1 } });
    expect(next.steps.createContainerNetwork.leaseOwner).toBeUndefined();
    // The network step of the detach reads what step 4 made.
    expect(next.result.containerNetwork).toEqual({ name: 'n' });
  });

  it('after a step fails: the failure stays in the step and the history, the detach starts', () => {
    const before = at('enableNetworkProxy', running('inv-b'), { detachRequested: true, cancelRequested: true });
    const mutation = failStep(before, 'enableNetworkProxy', FAILURE, NOW, { attempt: 1 });
    const { record: next, types } = written(mutation);
    expectDetachingFromTheStart(next);
    expect(types).toEqual(['StepFailed', 'Failed', 'DetachStarted']);
    expect(mutation?.events?.at(-1)).toMatchObject({ message: 'after the attach ended Failed' });
    expect(next.steps.enableNetworkProxy).toMatchObject({
      status: 'Failed',
      lastError: { code: 'Boom', retryable: false },
    });
    expect(next.steps.installPrivateCloudPlugin).toEqual(fresh());
  });

  it('after an attachment at no step is failed (a broken message)', () => {
    const before = record({ runtimeStatus: 'Running', currentStep: undefined, detachRequested: true });
    const { record: next, types } = written(failAttachment(before, FAILURE, NOW));
    expectDetachingFromTheStart(next);
    expect(types).toEqual(['Failed', 'DetachStarted']);
  });

  it('at the step boundary after a cancel: the claim cancels the step and hands over to the first detach step', () => {
    const before = at('installPrivateCloudPlugin', fresh(), { detachRequested: true, cancelRequested: true });
    const decision = claimStep(
      before,
      stepMessage(TENANT, ID, 'installPrivateCloudPlugin'),
      delivery(),
      NOW_MS,
      LEASE_MS,
    );
    expect(decision.verdict).toBe('canceled');
    const { record: next, types } = written(decision.mutation);
    expectDetachingFromTheStart(next);
    expect(types).toEqual(['Canceled', 'DetachStarted']);
    expect(decision.mutation?.events?.at(-1)).toMatchObject({ message: 'after the attach ended Canceled' });
    expect(next.steps.installPrivateCloudPlugin).toMatchObject({ status: 'Canceled', attempts: 0 });
    expect(decision.reEmit).toEqual(stepMessage(TENANT, ID, 'removeContainerNetwork'));
  });

  it.each([
    ['a last step that succeeds', 'Completed'],
    ['a step that fails', 'Failed'],
    ['a canceled step', 'Canceled'],
  ] as const)('without a detach asked for, %s ends the attachment %s', (_, status) => {
    const mutation =
      status === 'Completed'
        ? succeedStep(
            at('createContainerNetwork', running('inv-b')),
            'createContainerNetwork',
            { kind: 'succeeded', result: {}, detail: {} },
            NOW,
          )
        : status === 'Failed'
          ? failStep(at('enableNetworkProxy', running('inv-b')), 'enableNetworkProxy', FAILURE, NOW)
          : claimStep(
              at('enableNetworkProxy', fresh(), { cancelRequested: true }),
              stepMessage(TENANT, ID, 'enableNetworkProxy'),
              delivery(),
              NOW_MS,
              LEASE_MS,
            ).mutation;
    const { record: next, types } = written(mutation);
    expect(next.runtimeStatus).toBe(status);
    expect(types).not.toContain('DetachStarted');
    expect(followUp(next)).toBeUndefined();
  });

  it.each<[string, StepName, StepState]>([
    ['a fresh one', 'removeContainerNetwork', fresh()],
    [
      'one a retry restarted, its checkpoint kept',
      'removeIpConfigurations',
      { ...fresh(), checkpoint: { nicId: 'n' } },
    ],
  ])('the claim of a detach step (%s) runs it with the attachment Detaching', (_, step, state) => {
    const before = at(step, state);
    const decision = claimStep(before, stepMessage(TENANT, ID, step), delivery(), NOW_MS, LEASE_MS);
    expect(decision.verdict).toBe('run');
    const { record: next, types } = written(decision.mutation);
    expect(next.runtimeStatus).toBe('Detaching');
    expect(next.steps[step]).toMatchObject({
      status: 'Running',
      attempts: 1,
      leaseOwner: 'inv-b',
      leaseExpiresAtInMs: NOW_MS + LEASE_MS,
    });
    expect(types).toEqual(['StepStarted']);
  });

  it('the claim of an attach step runs it with the attachment Running', () => {
    const decision = claimStep(record(), stepMessage(TENANT, ID, 'addIpConfigurations'), delivery(), NOW_MS, LEASE_MS);
    expect(written(decision.mutation).record.runtimeStatus).toBe('Running');
  });

  it('the first detach step’s success hands on to the second, still Detaching', () => {
    const before = at('removeContainerNetwork', running('inv-b'));
    const { record: next, types } = written(
      succeedStep(before, 'removeContainerNetwork', { kind: 'succeeded', result: {}, detail: { removed: true } }, NOW),
    );
    expect(next).toMatchObject({ runtimeStatus: 'Detaching', currentStep: 'removeIpConfigurations' });
    expect(types).toEqual(['StepSucceeded']);
    expect(followUp(next)).toEqual(stepMessage(TENANT, ID, 'removeIpConfigurations'));
  });
});

describe('out of Detaching', () => {
  it('the last detach step’s success ends the attachment Detached, at no step, with nothing to send', () => {
    const before = at('removeIpConfigurations', running('inv-b'), { lastError: FAILURE });
    const { record: next, types } = written(
      succeedStep(before, 'removeIpConfigurations', { kind: 'succeeded', result: {}, detail: { released: [] } }, NOW),
    );
    expect(next).toMatchObject({ runtimeStatus: 'Detached', currentStep: undefined, lastError: undefined });
    expect(isTerminal(next.runtimeStatus)).toBe(true);
    expect(types).toEqual(['StepSucceeded', 'Detached']);
    expect(followUp(next)).toBeUndefined();
  });

  it.each(DETACH)('a failed %s ends the attachment Failed at that step, and does not detach again', (step) => {
    const before = at(step, running('inv-b'));
    const { record: next, types } = written(failStep(before, step, FAILURE, NOW, { attempt: 1, dequeueCount: 5 }));
    expect(next).toMatchObject({
      runtimeStatus: 'Failed',
      currentStep: step,
      detachRequested: true,
      lastError: { code: 'Boom', retryable: false },
    });
    expect(next.steps[step]).toMatchObject({ status: 'Failed', attempts: 1 });
    expect(types).toEqual(['StepFailed', 'Failed']);
    expect(followUp(next)).toBeUndefined();
    // Whatever arrives for it afterwards: no write, nothing sent.
    expect(failStep(next, step, FAILURE, NOW)).toBeUndefined();
    expect(retryStep(next, step, FAILURE, 2, NOW)).toBeUndefined();
    for (const name of [...ATTACH, ...DETACH]) {
      const decision = claimStep(next, stepMessage(TENANT, ID, name), delivery('inv-c', 2), NOW_MS, LEASE_MS);
      expect(decision).toEqual({ verdict: 'stale' });
    }
  });

  it('a broken message for a Detaching attachment fails it without starting the detach again', () => {
    const before = at('removeIpConfigurations', running('inv-b'));
    const { record: next, types } = written(failAttachment(before, FAILURE, NOW));
    expect(next).toMatchObject({ runtimeStatus: 'Failed', currentStep: 'removeIpConfigurations' });
    expect(types).toEqual(['Failed']);
    expect(followUp(next)).toBeUndefined();
  });

  it('a retryable failure keeps it Detaching, lets go of the lease and sends nothing (the queue redelivers)', () => {
    const before = at('removeIpConfigurations', running('inv-b'));
    const { record: next, types } = written(retryStep(before, 'removeIpConfigurations', FAILURE, 1, NOW));
    expect(next.runtimeStatus).toBe('Detaching');
    expect(next.steps.removeIpConfigurations).toMatchObject({ status: 'Running', attempts: 1, lastError: FAILURE });
    expect(next.steps.removeIpConfigurations.leaseOwner).toBeUndefined();
    expect(types).toEqual(['StepRetrying']);
    expect(followUp(next)).toBeUndefined();
  });

  it('a Detached attachment takes no message: every step is stale, nothing written or sent again', () => {
    const detached = record(
      { runtimeStatus: 'Detached', currentStep: undefined, detachRequested: true },
      {
        ...allAttachDone(),
        removeContainerNetwork: succeeded(),
        removeIpConfigurations: succeeded(),
      },
    );
    for (const name of [...ATTACH, ...DETACH]) {
      expect(claimStep(detached, stepMessage(TENANT, ID, name), delivery(), NOW_MS, LEASE_MS)).toEqual({
        verdict: 'stale',
      });
    }
  });
});

describe('claimStep: messages the attachment has moved past', () => {
  it('a message for an attach step of an attachment now detaching re-sends the detach step it waits at', () => {
    // The cancel that became a detach was written, and the host died before sending the detach step's message.
    const detaching = at('removeContainerNetwork', fresh(), {}, CANCELED_AT_STEP_4);
    const decision = claimStep(
      detaching,
      stepMessage(TENANT, ID, 'createContainerNetwork'),
      delivery('inv-c', 2),
      NOW_MS,
      LEASE_MS,
    );
    expect(decision).toEqual({ verdict: 'stale', reEmit: stepMessage(TENANT, ID, 'removeContainerNetwork') });
  });

  it('re-sends nothing when the step it is at has started', () => {
    const detaching = at('removeContainerNetwork', running('inv-a'), {}, CANCELED_AT_STEP_4);
    const decision = claimStep(
      detaching,
      stepMessage(TENANT, ID, 'createContainerNetwork'),
      delivery(),
      NOW_MS,
      LEASE_MS,
    );
    expect(decision).toEqual({ verdict: 'stale', reEmit: undefined });
  });

  it('a redelivered finished detach step re-sends the next one while it has not started', () => {
    const detaching = at('removeIpConfigurations', fresh());
    const decision = claimStep(
      detaching,
      stepMessage(TENANT, ID, 'removeContainerNetwork'),
      delivery('inv-c', 2),
      NOW_MS,
      LEASE_MS,
    );
    expect(decision).toEqual({ verdict: 'duplicate', reEmit: stepMessage(TENANT, ID, 'removeIpConfigurations') });
  });
});

describe('succeedStep: the next step to run', () => {
  it('skips the steps of its workflow that are already Succeeded (a repair of step 1)', () => {
    const before = record(
      { runtimeStatus: 'Running', currentStep: 'addIpConfigurations' },
      {
        addIpConfigurations: running('inv-b'),
        enableNetworkProxy: succeeded(),
        installPrivateCloudPlugin: succeeded(),
      },
    );
    const { record: next } = written(
      succeedStep(before, 'addIpConfigurations', { kind: 'succeeded', result: {}, detail: {} }, NOW),
    );
    expect(next).toMatchObject({ runtimeStatus: 'Running', currentStep: 'createContainerNetwork' });
  });

  it('completes when every later step of its workflow is Succeeded', () => {
    const before = record(
      { runtimeStatus: 'Running', currentStep: 'enableNetworkProxy' },
      {
        ...allAttachDone(),
        enableNetworkProxy: running('inv-b'),
      },
    );
    const { record: next, types } = written(
      succeedStep(before, 'enableNetworkProxy', { kind: 'succeeded', result: {}, detail: {} }, NOW),
    );
    expect(next).toMatchObject({ runtimeStatus: 'Completed', currentStep: undefined });
    expect(types).toEqual(['StepSucceeded', 'Completed']);
  });

  it('never crosses into the other workflow: the last attach step completes, the detach steps stay unstarted', () => {
    const { record: next } = written(
      succeedStep(
        at('createContainerNetwork', running('inv-b')),
        'createContainerNetwork',
        { kind: 'succeeded', result: {}, detail: {} },
        NOW,
      ),
    );
    expect(next.runtimeStatus).toBe('Completed');
    for (const name of DETACH) expect(next.steps[name]).toEqual(fresh());
  });
});

describe('followUp', () => {
  it.each<[string, AttachmentRecord, StepName | undefined]>([
    ['a Pending attachment at its first step', record(), 'addIpConfigurations'],
    ['the next attach step, not started', at('installPrivateCloudPlugin', fresh()), 'installPrivateCloudPlugin'],
    ['the first detach step, not started', at('removeContainerNetwork', fresh()), 'removeContainerNetwork'],
    ['the second detach step, not started', at('removeIpConfigurations', fresh()), 'removeIpConfigurations'],
    ['a step under way', at('removeContainerNetwork', running()), undefined],
    [
      'a step a failed delivery let go of (the queue redelivers it)',
      at('removeIpConfigurations', { status: 'Running', attempts: 1, lastError: FAILURE }),
      undefined,
    ],
    [
      'a step with a lease but no attempt yet',
      at('removeIpConfigurations', { ...fresh(), leaseOwner: 'x' }),
      undefined,
    ],
    ['a Completed attachment', completed(), undefined],
    ['a Detached attachment', record({ runtimeStatus: 'Detached', currentStep: undefined }), undefined],
    [
      'a Failed attachment, even at a step never started',
      record({ runtimeStatus: 'Failed', currentStep: 'removeContainerNetwork' }),
      undefined,
    ],
    ['an attachment at no step', record({ runtimeStatus: 'Running', currentStep: undefined }), undefined],
  ])('%s → %s', (_, given, step) => {
    expect(followUp(given)).toEqual(step ? stepMessage(TENANT, ID, step) : undefined);
  });
});

describe('untouched: only a step nobody started may be finished by a probe', () => {
  it('accepts the current step, fresh', () => {
    expect(untouched(at('createContainerNetwork', fresh()), 'createContainerNetwork')).toBe(true);
  });

  it.each<[string, AttachmentRecord]>([
    [
      'a repair of the step (its effect is gone, an Applied record must not answer for it)',
      at('createContainerNetwork', { ...fresh(), checkpoint: { repair: true } }),
    ],
    ['a step started before', at('createContainerNetwork', { status: 'Pending', attempts: 1 })],
    ['a leased step', at('createContainerNetwork', { ...fresh(), leaseOwner: 'inv-a' })],
    ['an attachment asked to cancel', at('createContainerNetwork', fresh(), { cancelRequested: true })],
    ['a step that is not current', at('installPrivateCloudPlugin', fresh())],
    ['an ended attachment', at('createContainerNetwork', fresh(), { runtimeStatus: 'Failed' })],
  ])('refuses %s', (_, given) => {
    expect(untouched(given, 'createContainerNetwork')).toBe(false);
  });

  it('a checkpoint without repair (or with repair not true) does not count as one', () => {
    for (const checkpoint of [{}, { repair: false }, { repair: 'true' }]) {
      expect(untouched(at('createContainerNetwork', { ...fresh(), checkpoint }), 'createContainerNetwork')).toBe(true);
    }
  });
});
