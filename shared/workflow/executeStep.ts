import { type ErrorInfo, isRetryable, toErrorInfo, withContext } from '../errors';
import { AttachmentIdSchema, TenantIdSchema, toFieldIssues } from '../model/attachRequest';
import { type StepMessage, stepMessage, StepMessageSchema } from '../model/messages';
import { type AttachmentRecord, type HistoryEvent, isTerminal, type StepState } from '../model/records';
import type { NewHistoryEvent, RecordMutation, StateStore } from '../model/StateStore';
import { nextStep, stepDefinition, type StepName } from '../model/steps';
import type { StepOutcome, StepRunContext } from './stepTypes';

export type StepImplementation = (
  run: StepRunContext<Record<string, unknown>>,
) => Promise<StepOutcome<Record<string, unknown>>>;

/** Answers, changing nothing, with the step's success when it needs no work; undefined otherwise. */
export type StepProbe = (
  run: StepRunContext<Record<string, unknown>>,
) => Promise<Extract<StepOutcome<Record<string, unknown>>, { kind: 'succeeded' }> | undefined>;

export interface StepExecutorDeps {
  store: StateStore;
  /** Sends a message to a queue, visible after a delay (the host's output bindings cannot delay). */
  sendDelayed(queueName: string, message: StepMessage, delayInMs: number): Promise<void>;
  steps: Partial<Record<StepName, StepImplementation>>;
  /** Side-effect-free checks that can finish a step without running it (steps 2-4: the task is already applied). */
  probes?: Partial<Record<StepName, StepProbe>>;
  maxDequeueCount: number;
  inlineWaitInMs: number;
  /** How long one delivery owns a step; longer than the function timeout so a live invocation is never doubled. */
  leaseInMs: number;
  /** How soon a delivery that found the step held by a live invocation looks again (capped by the lease). */
  busyRecheckInMs: number;
  nowInMs: () => number;
  sleep: (ms: number) => Promise<void>;
}

export interface Delivery {
  dequeueCount: number;
  /** The step of the queue the message arrived on; a message for another step is misrouted. */
  expectedStep?: StepName;
  invocationId: string;
  log(level: 'info' | 'warn' | 'error', message: string): void;
}

/** What the handler hands to the output binding: the next step's message, if any. */
export interface StepDeliveryResult {
  next?: StepMessage;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** Past a lease's end, so the look that takes over does not arrive a moment too early. */
const BUSY_MARGIN_IN_MS = 500;

/**
 * Runs one delivery of a step message: checks the attachment is at this step, owns it with a lease, runs the
 * step, and records the outcome. Retryable failures are rethrown for the queue to redeliver, unless this was the
 * last delivery, in which case the attachment is marked Failed so it never stays Running.
 */
export async function executeStep(
  deps: StepExecutorDeps,
  raw: unknown,
  delivery: Delivery,
): Promise<StepDeliveryResult> {
  const parsed = StepMessageSchema.safeParse(raw, { reportInput: true });
  if (!parsed.success) {
    await rejectMessage(
      deps,
      raw,
      toFieldIssues(parsed.error)
        .map((i) => `${i.field}: ${i.reason}`)
        .join('; '),
      delivery,
    );
    return {};
  }
  const message = parsed.data;
  if (delivery.expectedStep !== undefined && message.step !== delivery.expectedStep) {
    await rejectMessage(
      deps,
      raw,
      `step: "${String(message.step)}" arrived on the queue of ${String(delivery.expectedStep)}`,
      delivery,
    );
    return {};
  }
  const { tenantId, attachmentId, step } = message;
  const log = (level: 'info' | 'warn' | 'error', text: string) =>
    delivery.log(level, `[${tenantId}/${attachmentId} ${step} delivery ${delivery.dequeueCount}] ${text}`);

  const probed = await finishByProbe(deps, message, delivery, log);
  if (probed) return probed;

  const claimedAt = deps.nowInMs();
  // Set inside the guarded update, which may run more than once; the last run's decision is the one written.
  const decision: {
    verdict: 'run' | 'duplicate' | 'stale' | 'superseded' | 'busy' | 'canceled' | 'missing';
    reEmit?: StepMessage;
    holder?: { owner: string; expiresAtInMs: number };
  } = { verdict: 'missing' };
  const claimed = await deps.store.updateAttachment(tenantId, attachmentId, (record) => {
    const state = record.steps[step];
    decision.verdict = 'run';
    decision.reEmit = undefined;
    decision.holder = undefined;
    if (isTerminal(record.runtimeStatus)) return void (decision.verdict = 'stale');
    // A holder that let go wrote its outcome, and its own message (the next step's, a re-check, or the queue's
    // redelivery after a retryable failure) carries the attachment on.
    if (message.afterLeaseOf !== undefined && state.leaseOwner !== message.afterLeaseOf)
      return void (decision.verdict = 'superseded');
    if (state.status === 'Succeeded') {
      decision.verdict = 'duplicate';
      // The output of the delivery that finished this step may have been lost with its host: send it again
      // while the next step has not started (the next step ignores duplicates).
      const next = nextStep(step);
      if (next && record.currentStep === next.name && record.steps[next.name].attempts === 0) {
        decision.reEmit = stepMessage(tenantId, attachmentId, next.name);
      }
      return undefined;
    }
    if (record.currentStep !== step) return void (decision.verdict = 'stale');
    if (
      state.leaseOwner !== undefined &&
      state.leaseExpiresAtInMs !== undefined &&
      state.leaseExpiresAtInMs > claimedAt &&
      state.leaseOwner !== delivery.invocationId
    ) {
      decision.holder = { owner: state.leaseOwner, expiresAtInMs: state.leaseExpiresAtInMs };
      return void (decision.verdict = 'busy');
    }
    // While a step waits, its re-check is the one message meant to continue it; another first delivery is a
    // duplicate (a resubmission, a re-sent output). A redelivery is not: its first delivery may have died before
    // the re-check was sent.
    if (
      state.awaitingRecheck !== undefined &&
      delivery.dequeueCount === 1 &&
      message.afterLeaseOf === undefined &&
      message.recheck !== state.awaitingRecheck
    ) {
      return void (decision.verdict = 'superseded');
    }
    const now = iso(claimedAt);
    // Cancellation takes effect between steps: a step already under way (an operation being followed, a script
    // running) finishes first, so nothing is left half-done on the remote systems.
    if (record.cancelRequested && state.attempts === 0) {
      decision.verdict = 'canceled';
      return {
        record: endRecord(record, 'Canceled', now, { ...state, status: 'Canceled', endedTime: now }, step),
        events: [{ type: 'Canceled', step, message: 'Canceled at the step boundary' }],
      };
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
      leaseExpiresAtInMs: claimedAt + deps.leaseInMs,
    };
    delete nextState.awaitingRecheck;
    const events: Omit<HistoryEvent, 'time'>[] = fresh
      ? [{ type: 'StepStarted', step, attempt: nextState.attempts, dequeueCount: delivery.dequeueCount }]
      : [];
    return {
      record: {
        ...record,
        runtimeStatus: 'Running',
        lastUpdatedTime: now,
        steps: { ...record.steps, [step]: nextState },
      },
      events,
    };
  });
  const { verdict, reEmit, holder } = decision;
  if (!claimed || verdict === 'missing') {
    log('warn', 'no such attachment; message dropped');
    return {};
  }
  if (verdict === 'busy' && holder) {
    // The holder may be dead with this its only message (a host abandons a timed-out invocation's message long
    // before the lease ends): look again when the holder should be done, and take over once the lease runs out.
    const delayInMs = Math.min(holder.expiresAtInMs - claimedAt, deps.busyRecheckInMs) + BUSY_MARGIN_IN_MS;
    await deps.sendDelayed(
      stepDefinition(step).recheckQueueName,
      { ...message, afterLeaseOf: holder.owner },
      delayInMs,
    );
    log('info', `busy (held by ${holder.owner}); looking again in ${delayInMs} ms`);
    return {};
  }
  if (verdict !== 'run') {
    log('info', `nothing to do (${verdict})`);
    return verdict === 'duplicate' && reEmit ? { next: reEmit } : {};
  }
  const implementation = deps.steps[step];
  // The record as this invocation last wrote it: later writes start from it instead of reading it again.
  let latest: AttachmentRecord = claimed;
  const write = async (mutate: (record: AttachmentRecord) => RecordMutation) => {
    latest = (await deps.store.updateAttachment(tenantId, attachmentId, mutate, { basedOn: latest })) ?? latest;
  };
  const run: StepRunContext<Record<string, unknown>> = {
    tenantId,
    attachmentId,
    request: claimed.request,
    attempt: claimed.steps[step].attempts,
    result: claimed.result,
    checkpoint: claimed.steps[step].checkpoint,
    saveCheckpoint: (checkpoint) =>
      write((record) => ({
        record: { ...record, steps: { ...record.steps, [step]: { ...record.steps[step], checkpoint } } },
      })),
    inlineWaitInMs: deps.inlineWaitInMs,
    options: {},
    nowInMs: deps.nowInMs,
    sleep: deps.sleep,
    log: (text) => log('info', text),
  };

  let outcome: StepOutcome<Record<string, unknown>>;
  try {
    if (!implementation) throw new TypeError(`No implementation is registered for step ${step}`);
    outcome = await implementation(run);
    // A remote operation that will be done sooner than this invocation's wait budget is looked at again here:
    // a delayed message costs a queue round trip and at least a second of visibility delay.
    // A step parked on another invocation's work is woken by it; waiting here would only hold a slot.
    while (
      outcome.kind === 'waiting' &&
      outcome.park === undefined &&
      deps.nowInMs() + outcome.checkAfterInMs <= claimedAt + deps.inlineWaitInMs
    ) {
      await deps.sleep(outcome.checkAfterInMs);
      run.checkpoint = outcome.checkpoint;
      outcome = await implementation(run);
    }
  } catch (caught) {
    const error = withContext(caught, { tenantId, attachmentId, step });
    const info = toErrorInfo(error);
    // Re-checks arrive as new messages (dequeueCount 1), so the step's own attempt count bounds retries too.
    const lastDelivery =
      delivery.dequeueCount >= deps.maxDequeueCount || claimed.steps[step].attempts >= deps.maxDequeueCount;
    const retry = isRetryable(error) && !lastDelivery;
    await recordFailure(deps, message, delivery, info, retry, latest);
    if (retry) {
      log('warn', `failed, will be retried: ${info.code}: ${info.message}`);
      throw error;
    }
    log(
      'error',
      `failed${lastDelivery && isRetryable(error) ? ' on its last delivery' : ''}: ${info.code}: ${info.message}`,
    );
    return {};
  }

  const doneAt = iso(deps.nowInMs());
  if (outcome.kind === 'waiting') {
    const recheck = (message.recheck ?? 0) + 1;
    const waiting = outcome;
    const queueName = stepDefinition(step).recheckQueueName;
    const recheckMessage = stepMessage(tenantId, attachmentId, step, recheck);
    await write((record) => {
      const state: StepState = {
        ...unleased(record.steps[step]),
        checkpoint: waiting.checkpoint,
        awaitingRecheck: recheck,
      };
      return {
        record: { ...record, lastUpdatedTime: doneAt, steps: { ...record.steps, [step]: state } },
        events: message.recheck === undefined ? [{ type: 'StepWaiting', step, message: waiting.message }] : [],
      };
    });
    if (!waiting.park) {
      await deps.sendDelayed(queueName, recheckMessage, waiting.checkAfterInMs);
      log('info', `waiting (${waiting.message}); re-check ${recheck} in ${waiting.checkAfterInMs} ms`);
      return {};
    }
    // Parked only once the waiting state is stored: a wake-up that arrives sooner would find the step still held
    // by this invocation and be set aside. Its re-check number is the one the stored state expects. A parked step
    // keeps no message of its own in a queue: whoever finishes the work it waits for sends its re-check.
    if (await waiting.park(recheck)) {
      log('info', `waiting (${waiting.message}); parked until woken (re-check ${recheck})`);
    } else {
      await deps.sendDelayed(queueName, recheckMessage, 0);
      log('info', `waiting (${waiting.message}); it ended meanwhile, re-check ${recheck} now`);
    }
    return {};
  }

  const succeeded = outcome;
  await write((record) => succeedStep(record, step, succeeded, doneAt));
  return finished(step, tenantId, attachmentId, log);
}

type Succeeded = Extract<StepOutcome<Record<string, unknown>>, { kind: 'succeeded' }>;

/** Records a step's success: the next step becomes current, or the attachment Completed after the last one. */
function succeedStep(
  record: AttachmentRecord,
  step: StepName,
  succeeded: Succeeded,
  doneAt: string,
  startedEvents: NewHistoryEvent[] = [],
): RecordMutation {
  const next = nextStep(step);
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
    events.push({ type: 'Completed' });
    return {
      record: { ...endRecord(record, 'Completed', doneAt, state, step), result, lastError: undefined },
      events,
    };
  }
  return {
    record: {
      ...record,
      runtimeStatus: 'Running',
      result,
      currentStep: next.name,
      lastUpdatedTime: doneAt,
      steps: { ...record.steps, [step]: state },
    },
    events,
  };
}

function finished(
  step: StepName,
  tenantId: string,
  attachmentId: string,
  log: (level: 'info', text: string) => void,
): StepDeliveryResult {
  const next = nextStep(step);
  log('info', next ? `succeeded; next step ${next.name}` : 'succeeded; attachment Completed');
  return next ? { next: stepMessage(tenantId, attachmentId, next.name) } : {};
}

/** A step no one has started, on an attachment no one asked to stop: the only kind a probe may finish. */
function untouched(record: AttachmentRecord, step: StepName): boolean {
  const state = record.steps[step];
  return (
    !isTerminal(record.runtimeStatus) &&
    record.currentStep === step &&
    !record.cancelRequested &&
    state.status === 'Pending' &&
    state.attempts === 0 &&
    state.leaseOwner === undefined
  );
}

/**
 * A step parked until another attachment's run ends, and this the first delivery of the re-check that wakes it: the
 * only other kind a probe may finish. Cancellation does not stop it, as it does not stop any step under way.
 */
function wokenFromPark(record: AttachmentRecord, step: StepName, message: StepMessage, delivery: Delivery): boolean {
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

/**
 * Most deliveries of steps 2-4 find their machine's task already applied, and so do the parked steps its run's
 * owner wakes. Such a step is finished in one state write (with StepStarted for one nobody had started) instead of
 * a claim and then an outcome: the probe changes nothing anywhere, and the write is etag-guarded and made only if
 * the step is still as the probe found it, so a racing delivery can at worst make this one fall back to the
 * ordinary path. Undefined when the step was not finished this way.
 */
async function finishByProbe(
  deps: StepExecutorDeps,
  message: StepMessage,
  delivery: Delivery,
  log: (level: 'info' | 'warn' | 'error', text: string) => void,
): Promise<StepDeliveryResult | undefined> {
  const { tenantId, attachmentId, step } = message;
  const probe = deps.probes?.[step];
  if (!probe || message.afterLeaseOf !== undefined) return undefined;
  const woken = message.recheck !== undefined;
  // The step starts now, whatever time its one write happens at.
  const startedTime = iso(deps.nowInMs());
  const seen = await deps.store.getAttachment(tenantId, attachmentId, { recent: true });
  const eligible = (record: AttachmentRecord) =>
    woken ? wokenFromPark(record, step, message, delivery) : untouched(record, step);
  if (!seen || !eligible(seen)) return undefined;
  let outcome: Succeeded | undefined;
  try {
    outcome = await probe({
      tenantId,
      attachmentId,
      request: seen.request,
      attempt: woken ? seen.steps[step].attempts : 1,
      result: seen.result,
      saveCheckpoint: () => Promise.reject(new TypeError('A probe may not save a checkpoint')),
      inlineWaitInMs: 0,
      options: {},
      nowInMs: deps.nowInMs,
      sleep: deps.sleep,
      log: (text) => log('info', text),
    });
  } catch (error) {
    // The ordinary path meets the same condition and handles it with retries and a recorded failure.
    log('info', `probe failed (${toErrorInfo(error).code}); running the step`);
    return undefined;
  }
  if (!outcome) return undefined;
  const succeeded = outcome;
  let wrote = false;
  await deps.store.updateAttachment(
    tenantId,
    attachmentId,
    (record) => {
      wrote = false;
      if (!eligible(record)) return undefined;
      wrote = true;
      if (woken) return succeedStep(record, step, succeeded, iso(deps.nowInMs()));
      const started: StepState = { ...record.steps[step], status: 'Running', attempts: 1, startedTime };
      return succeedStep(
        { ...record, steps: { ...record.steps, [step]: started } },
        step,
        succeeded,
        iso(deps.nowInMs()),
        [{ type: 'StepStarted', step, attempt: 1, dequeueCount: delivery.dequeueCount, time: startedTime }],
      );
    },
    { basedOn: seen },
  );
  return wrote ? finished(step, tenantId, attachmentId, log) : undefined;
}

function unleased(state: StepState): StepState {
  const copy = { ...state };
  delete copy.leaseOwner;
  delete copy.leaseExpiresAtInMs;
  return copy;
}

function endRecord(
  record: AttachmentRecord,
  status: 'Completed' | 'Failed' | 'Canceled',
  now: string,
  stepState: StepState,
  step: StepName,
): AttachmentRecord {
  return {
    ...record,
    runtimeStatus: status,
    currentStep: status === 'Completed' ? undefined : step,
    lastUpdatedTime: now,
    steps: { ...record.steps, [step]: unleased(stepState) },
  };
}

async function recordFailure(
  deps: StepExecutorDeps,
  message: StepMessage,
  delivery: Delivery,
  info: ErrorInfo,
  willRetry: boolean,
  basedOn: AttachmentRecord,
): Promise<void> {
  const { tenantId, attachmentId, step } = message;
  const now = iso(deps.nowInMs());
  const mutate = (record: AttachmentRecord): RecordMutation => {
    if (isTerminal(record.runtimeStatus)) return undefined;
    const state = unleased(record.steps[step]);
    if (willRetry) {
      return {
        record: {
          ...record,
          lastError: info,
          lastUpdatedTime: now,
          steps: { ...record.steps, [step]: { ...state, lastError: info } },
        },
        events: [
          { type: 'StepRetrying', step, attempt: state.attempts, dequeueCount: delivery.dequeueCount, error: info },
        ],
      };
    }
    // Whatever the error was, nothing will retry it now: the attachment's last error says so (retry is manual).
    const final: ErrorInfo = { ...info, retryable: false };
    const failed: StepState = { ...state, status: 'Failed', endedTime: now, lastError: final };
    return {
      record: { ...endRecord(record, 'Failed', now, failed, step), lastError: final },
      events: [
        { type: 'StepFailed', step, attempt: state.attempts, dequeueCount: delivery.dequeueCount, error: final },
        { type: 'Failed', error: final },
      ],
    };
  };
  await deps.store.updateAttachment(tenantId, attachmentId, mutate, { basedOn });
}

/**
 * A message that does not parse can never succeed; retrying it five times helps nobody. When it still names an
 * attachment, that attachment is marked Failed with the reason; otherwise the reason is logged.
 */
async function rejectMessage(deps: StepExecutorDeps, raw: unknown, reason: string, delivery: Delivery): Promise<void> {
  const candidate = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const tenant = TenantIdSchema.safeParse(candidate.tenantId);
  const attachment = AttachmentIdSchema.safeParse(candidate.attachmentId);
  delivery.log('error', `invalid step message dropped: ${reason}`);
  if (!tenant.success || !attachment.success) return;
  const info: ErrorInfo = {
    source: 'App',
    code: 'InvalidMessage',
    message: `Invalid step message: ${reason}`,
    retryable: false,
  };
  const now = iso(deps.nowInMs());
  await deps.store.updateAttachment(tenant.data, attachment.data, (record) => {
    if (isTerminal(record.runtimeStatus)) return undefined;
    const step = record.currentStep;
    if (!step)
      return {
        record: { ...record, runtimeStatus: 'Failed', lastError: info, lastUpdatedTime: now },
        events: [{ type: 'Failed', error: info }],
      };
    const failed: StepState = { ...record.steps[step], status: 'Failed', endedTime: now, lastError: info };
    return {
      record: { ...endRecord(record, 'Failed', now, failed, step), lastError: info },
      events: [
        { type: 'StepFailed', step, error: info, dequeueCount: delivery.dequeueCount },
        { type: 'Failed', error: info },
      ],
    };
  });
}
