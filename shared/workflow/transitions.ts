/**
 * The attachment record's state transitions, pure: each takes the stored record and returns the record to write and
 * the history events to add (a `RecordMutation`), or undefined to write nothing. The executor, the probe path, the
 * poison functions and message rejection all change a record only through these.
 */
import type { ErrorInfo } from '../errors';
import { type StepMessage, stepMessage } from '../model/messages';
import { type AttachmentRecord, type HistoryEvent, isTerminal, type StepState } from '../model/records';
import type { NewHistoryEvent, RecordMutation } from '../model/StateStore';
import { nextStep, type StepDefinition, type StepName, stepsOf, workflowOf } from '../model/steps';
import type { Delivery, StepDeliveryResult, StepSucceeded } from './stepTypes';

export const iso = (ms: number) => new Date(ms).toISOString();

/** What a delivery found when it tried to take its step, and what it wrote if it took it. */
export interface ClaimDecision {
  verdict: 'run' | 'duplicate' | 'stale' | 'superseded' | 'busy' | 'canceled';
  /** For a duplicate: the next step's message, sent again because the first may have been lost with its host. */
  reEmit?: StepMessage;
  /** For busy: the live holder of the step's lease. */
  holder?: { owner: string; expiresAtInMs: number };
  mutation?: RecordMutation;
}

/**
 * Decides whether this delivery runs its step: only when the attachment is at this step, not ended, and no live
 * invocation holds the step. When it runs, the step is leased to this invocation (and a fresh attempt counted).
 */
export function claimStep(
  record: AttachmentRecord,
  message: StepMessage,
  delivery: Pick<Delivery, 'dequeueCount' | 'invocationId'>,
  claimedAtInMs: number,
  leaseInMs: number,
): ClaimDecision {
  const { step } = message;
  const state = record.steps[step];
  if (isTerminal(record.runtimeStatus)) return { verdict: 'stale' };
  // A holder that let go wrote its outcome, and its own message (the next step's, a re-check, or the queue's
  // redelivery after a retryable failure) carries the attachment on.
  if (message.afterLeaseOf !== undefined && state.leaseOwner !== message.afterLeaseOf) return { verdict: 'superseded' };
  if (state.status === 'Succeeded') {
    // The output of the delivery that finished this step may have been lost with its host: send it again while the
    // next step has not started (the next step ignores duplicates).
    return { verdict: 'duplicate', reEmit: followUp(record) };
  }
  // A message for a step the attachment has left; if the step it is at now never started, its message may have been
  // lost with the host that wrote the change (a cancel that became a detach), so it is sent again.
  if (record.currentStep !== step) return { verdict: 'stale', reEmit: followUp(record) };
  if (
    state.leaseOwner !== undefined &&
    state.leaseExpiresAtInMs !== undefined &&
    state.leaseExpiresAtInMs > claimedAtInMs &&
    state.leaseOwner !== delivery.invocationId
  ) {
    return { verdict: 'busy', holder: { owner: state.leaseOwner, expiresAtInMs: state.leaseExpiresAtInMs } };
  }
  // While a step waits, its re-check is the one message meant to continue it; another first delivery is a duplicate
  // (a resubmission, a re-sent output). A redelivery is not: its first delivery may have died before the re-check
  // was sent.
  if (
    state.awaitingRecheck !== undefined &&
    delivery.dequeueCount === 1 &&
    message.afterLeaseOf === undefined &&
    message.recheck !== state.awaitingRecheck
  ) {
    return { verdict: 'superseded' };
  }
  const now = iso(claimedAtInMs);
  // Cancellation takes effect between steps: a step already under way (an operation being followed, a script
  // running) finishes first, so nothing is left half-done on the remote systems.
  if (record.cancelRequested && state.attempts === 0) {
    const mutation = thenDetach(
      {
        record: endRecord(record, 'Canceled', now, { ...state, status: 'Canceled', endedTime: now }, step),
        events: [{ type: 'Canceled', step, message: 'Canceled at the step boundary' }],
      },
      now,
    );
    return { verdict: 'canceled', mutation, reEmit: mutation && followUp(mutation.record) };
  }
  // A redelivered re-check means the last check failed, and a take-over means the holder died: both are new
  // attempts, so retries stay bounded.
  const fresh = message.recheck === undefined || delivery.dequeueCount > 1 || message.afterLeaseOf !== undefined;
  const nextState: StepState = {
    ...state,
    status: 'Running',
    attempts: state.attempts + (fresh ? 1 : 0),
    startedTime: state.startedTime ?? now,
    leaseOwner: delivery.invocationId,
    leaseExpiresAtInMs: claimedAtInMs + leaseInMs,
  };
  delete nextState.awaitingRecheck;
  const events: Omit<HistoryEvent, 'time'>[] = fresh
    ? [{ type: 'StepStarted', step, attempt: nextState.attempts, dequeueCount: delivery.dequeueCount }]
    : [];
  return {
    verdict: 'run',
    mutation: {
      record: {
        ...record,
        runtimeStatus: activeStatusOf(step),
        lastUpdatedTime: now,
        steps: { ...record.steps, [step]: nextState },
      },
      events,
    },
  };
}

/** The status of an attachment working on `step`: Running while it attaches, Detaching while it detaches. */
function activeStatusOf(step: StepName): 'Running' | 'Detaching' {
  return workflowOf(step) === 'detach' ? 'Detaching' : 'Running';
}

/**
 * The message that carries the attachment on from where it stands: its current step's, when that step has not
 * started. Sent by whoever wrote the change (a step's success, a cancel that became a detach, a control call).
 */
export function followUp(record: AttachmentRecord): StepMessage | undefined {
  const step = record.currentStep;
  if (!step || isTerminal(record.runtimeStatus)) return undefined;
  const state = record.steps[step];
  return state.status === 'Pending' && state.attempts === 0 && state.leaseOwner === undefined
    ? stepMessage(record.tenantId, record.attachmentId, step)
    : undefined;
}

/** After `step` succeeded: the next step of its workflow that has not succeeded (a repair skips what is intact). */
function nextToRun(record: AttachmentRecord, step: StepName): StepDefinition | undefined {
  let next = nextStep(step);
  while (next && record.steps[next.name].status === 'Succeeded') next = nextStep(next.name);
  return next;
}

/**
 * Starts the detach steps: each fresh, the first one current. The attach's steps keep their states, and its error
 * stays in its step and the history.
 */
export function startDetach(record: AttachmentRecord, now: string): AttachmentRecord {
  const detachSteps = stepsOf('detach');
  const fresh = Object.fromEntries(detachSteps.map((s) => [s.name, { status: 'Pending', attempts: 0 }]));
  return {
    ...record,
    runtimeStatus: 'Detaching',
    currentStep: detachSteps[0]?.name,
    cancelRequested: false,
    detachRequested: true,
    lastError: undefined,
    lastUpdatedTime: now,
    steps: { ...record.steps, ...fresh },
  };
}

/** An attach that ended (Completed, Failed or Canceled) on an attachment asked to detach goes on to detach. */
function thenDetach(mutation: RecordMutation, now: string): RecordMutation {
  if (!mutation) return undefined;
  const { record } = mutation;
  const attachEnded =
    (record.runtimeStatus === 'Completed' ||
      record.runtimeStatus === 'Failed' ||
      record.runtimeStatus === 'Canceled') &&
    (record.currentStep === undefined || workflowOf(record.currentStep) === 'attach');
  if (!record.detachRequested || !attachEnded) return mutation;
  return {
    record: startDetach(record, now),
    events: [
      ...(mutation.events ?? []),
      { type: 'DetachStarted', message: `after the attach ended ${record.runtimeStatus}` },
    ],
  };
}

/** Records a step's success: the next step becomes current, or the attachment Completed after the last one. */
export function succeedStep(
  record: AttachmentRecord,
  step: StepName,
  succeeded: StepSucceeded,
  doneAt: string,
  startedEvents: NewHistoryEvent[] = [],
): RecordMutation {
  const next = nextToRun(record, step);
  const state: StepState = {
    ...unleased(record.steps[step]),
    status: 'Succeeded',
    endedTime: doneAt,
    detail: succeeded.detail,
  };
  delete state.checkpoint;
  delete state.lastError;
  delete state.awaitingRecheck;
  const result = { ...record.result, ...succeeded.result };
  const events: NewHistoryEvent[] = [...startedEvents, { type: 'StepSucceeded', step, attempt: state.attempts }];
  if (!next) {
    const end = workflowOf(step) === 'detach' ? 'Detached' : 'Completed';
    events.push({ type: end });
    return thenDetach(
      { record: { ...endRecord(record, end, doneAt, state, step), result, lastError: undefined }, events },
      doneAt,
    );
  }
  return {
    record: {
      ...record,
      runtimeStatus: activeStatusOf(step),
      result,
      currentStep: next.name,
      lastUpdatedTime: doneAt,
      steps: { ...record.steps, [step]: state },
    },
    events,
  };
}

/** Records a step that waits for a remote operation; its re-check (number `recheck`) is the one to continue it. */
export function awaitStep(
  record: AttachmentRecord,
  step: StepName,
  waiting: { checkpoint: Record<string, unknown>; message: string },
  recheck: number,
  firstWait: boolean,
  doneAt: string,
): RecordMutation {
  const state: StepState = {
    ...unleased(record.steps[step]),
    checkpoint: waiting.checkpoint,
    awaitingRecheck: recheck,
  };
  return {
    record: { ...record, lastUpdatedTime: doneAt, steps: { ...record.steps, [step]: state } },
    events: firstWait ? [{ type: 'StepWaiting', step, message: waiting.message }] : [],
  };
}

/** Records a failed attempt that the queue will deliver again; the step lets go of its lease. */
export function retryStep(
  record: AttachmentRecord,
  step: StepName,
  error: ErrorInfo,
  dequeueCount: number,
  now: string,
): RecordMutation {
  if (isTerminal(record.runtimeStatus)) return undefined;
  const state = unleased(record.steps[step]);
  return {
    record: {
      ...record,
      lastError: error,
      lastUpdatedTime: now,
      steps: { ...record.steps, [step]: { ...state, lastError: error } },
    },
    events: [{ type: 'StepRetrying', step, attempt: state.attempts, dequeueCount, error }],
  };
}

/**
 * Ends the attachment Failed at `step`. Whatever the error was, nothing will retry it now: the attachment's last
 * error says so (retry is manual). `note` goes on the StepFailed event (the attempt, the delivery, or why).
 */
export function failStep(
  record: AttachmentRecord,
  step: StepName,
  error: ErrorInfo,
  now: string,
  note: Pick<HistoryEvent, 'attempt' | 'dequeueCount' | 'message'> = {},
): RecordMutation {
  if (isTerminal(record.runtimeStatus)) return undefined;
  const final: ErrorInfo = { ...error, retryable: false };
  const failed: StepState = { ...unleased(record.steps[step]), status: 'Failed', endedTime: now, lastError: final };
  return thenDetach(
    {
      record: { ...endRecord(record, 'Failed', now, failed, step), lastError: final },
      events: [
        { type: 'StepFailed', step, ...note, error: final },
        { type: 'Failed', error: final },
      ],
    },
    now,
  );
}

/** Ends an attachment Failed that is at no step (e.g. a broken message for one that has none current). */
export function failAttachment(record: AttachmentRecord, error: ErrorInfo, now: string): RecordMutation {
  if (isTerminal(record.runtimeStatus)) return undefined;
  const final: ErrorInfo = { ...error, retryable: false };
  return thenDetach(
    {
      record: { ...record, runtimeStatus: 'Failed', lastError: final, lastUpdatedTime: now },
      events: [{ type: 'Failed', error: final }],
    },
    now,
  );
}

/** A step no one has started, on an attachment no one asked to stop: the only kind a probe may finish. */
export function untouched(record: AttachmentRecord, step: StepName): boolean {
  const state = record.steps[step];
  return (
    !isTerminal(record.runtimeStatus) &&
    record.currentStep === step &&
    !record.cancelRequested &&
    state.status === 'Pending' &&
    state.attempts === 0 &&
    state.leaseOwner === undefined &&
    // A repair re-runs the step because its effect is gone: an Applied record must not answer for it.
    state.checkpoint?.repair !== true
  );
}

/**
 * A step parked until another attachment's run ends, and this the first delivery of the re-check that wakes it: the
 * only other kind a probe may finish. Cancellation does not stop it, as it does not stop any step under way.
 */
export function wokenFromPark(
  record: AttachmentRecord,
  step: StepName,
  message: StepMessage,
  delivery: Pick<Delivery, 'dequeueCount'>,
): boolean {
  const state = record.steps[step];
  return (
    !isTerminal(record.runtimeStatus) &&
    record.currentStep === step &&
    delivery.dequeueCount === 1 &&
    message.recheck !== undefined &&
    state.status === 'Running' &&
    state.awaitingRecheck === message.recheck &&
    state.leaseOwner === undefined
  );
}

/** The output of a delivery that finished its step (as `record` now stands): the next step's message, if any. */
export function finishedDelivery(
  record: AttachmentRecord,
  log: (level: 'info', text: string) => void,
): StepDeliveryResult {
  const next = followUp(record);
  log('info', next ? `succeeded; next step ${next.step}` : `succeeded; attachment ${record.runtimeStatus}`);
  return next ? { next } : {};
}

function unleased(state: StepState): StepState {
  const copy = { ...state };
  delete copy.leaseOwner;
  delete copy.leaseExpiresAtInMs;
  return copy;
}

function endRecord(
  record: AttachmentRecord,
  status: 'Completed' | 'Failed' | 'Canceled' | 'Detached',
  now: string,
  stepState: StepState,
  step: StepName,
): AttachmentRecord {
  return {
    ...record,
    runtimeStatus: status,
    currentStep: status === 'Completed' || status === 'Detached' ? undefined : step,
    lastUpdatedTime: now,
    steps: { ...record.steps, [step]: unleased(stepState) },
  };
}
