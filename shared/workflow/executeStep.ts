import { type ErrorInfo, formatIssues, isRetryable, toErrorInfo, withContext } from '../errors';
import { AttachmentIdSchema, TenantIdSchema, toFieldIssues } from '../model/attachRequest';
import { parseStepMessage, type StepMessage, stepMessage, withTraceContext } from '../model/messages';
import type { AttachmentRecord } from '../model/records';
import type { RecordMutation, StateStore } from '../model/StateStore';
import { stepDefinition, type StepName } from '../model/steps';
import { finishByProbe, probeFollowingSteps, withProbedSteps } from './probe';
import type {
  Delivery,
  StepDeliveryResult,
  StepImplementation,
  StepOutcome,
  StepProbe,
  StepRunContext,
} from './stepTypes';
import {
  awaitStep,
  type ClaimDecision,
  claimStep,
  failAttachment,
  failStep,
  finishedDelivery,
  followUp,
  iso,
  retryStep,
  succeedStep,
} from './transitions';

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
  const parsed = parseStepMessage(raw);
  if (!parsed.success) return rejectMessage(deps, raw, formatIssues(toFieldIssues(parsed.error)), delivery);
  const message = parsed.data;
  const subject = { tenantId: message.tenantId, attachmentId: message.attachmentId, step: message.step };
  if (delivery.expectedStep !== undefined && message.step !== delivery.expectedStep) {
    return rejectMessage(
      deps,
      raw,
      `step: "${String(message.step)}" arrived on the queue of ${String(delivery.expectedStep)}`,
      delivery,
    );
  }
  const { tenantId, attachmentId, step } = message;
  const log = (level: 'info' | 'warn' | 'error', text: string) =>
    delivery.log(level, `[${tenantId}/${attachmentId} ${step} delivery ${delivery.dequeueCount}] ${text}`, subject);
  if (parsed.traceProblem) log('warn', `trace context ignored, the step runs anyway: ${parsed.traceProblem}`);
  // Every message this delivery sends continues the attachment's trace under this delivery's span.
  const traced = (next: StepMessage): StepMessage => withTraceContext(next, delivery.traceContext);
  const tracedResult = (result: StepDeliveryResult): StepDeliveryResult =>
    result.next ? { next: traced(result.next) } : result;

  const probed = await finishByProbe(deps, message, delivery, log);
  if (probed) return tracedResult(probed);

  const claimedAt = deps.nowInMs();
  // Decided inside the guarded update, which may run more than once; the last run's decision is the one written.
  let decision: ClaimDecision | undefined;
  const claimed = await deps.store.updateAttachment(tenantId, attachmentId, (record) => {
    decision = claimStep(record, message, delivery, claimedAt, deps.leaseInMs);
    return decision.mutation;
  });
  if (!claimed || !decision) {
    log('warn', 'no such attachment; message dropped');
    return {};
  }
  const { verdict, reEmit, holder } = decision;
  if (verdict === 'busy' && holder) {
    // The holder may be dead with this its only message (a host abandons a timed-out invocation's message long
    // before the lease ends): look again when the holder should be done, and take over once the lease runs out.
    const delayInMs = Math.min(holder.expiresAtInMs - claimedAt, deps.busyRecheckInMs) + BUSY_MARGIN_IN_MS;
    await deps.sendDelayed(
      stepDefinition(step).recheckQueueName,
      traced({ ...message, afterLeaseOf: holder.owner }),
      delayInMs,
    );
    log('info', `busy (held by ${holder.owner}); looking again in ${delayInMs} ms`);
    return {};
  }
  if (verdict !== 'run') {
    log('info', `nothing to do (${verdict})${reEmit ? `; sending ${reEmit.step} again` : ''}`);
    return reEmit ? { next: traced(reEmit) } : {};
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
    steps: claimed.steps,
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
    ...(delivery.traceContext ? { traceContext: delivery.traceContext } : {}),
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
    const recorded = await recordFailure(deps, message, delivery, info, retry, latest);
    if (retry) {
      log('warn', `failed, will be retried: ${info.code}: ${info.message}`);
      throw error;
    }
    log(
      'error',
      `failed${lastDelivery && isRetryable(error) ? ' on its last delivery' : ''}: ${info.code}: ${info.message}`,
    );
    // An attachment asked to detach goes on to detach when its attach fails.
    const next = recorded && followUp(recorded);
    return next ? { next: traced(next) } : {};
  }

  const doneAt = iso(deps.nowInMs());
  if (outcome.kind === 'waiting') {
    const recheck = (message.recheck ?? 0) + 1;
    const waiting = outcome;
    const queueName = stepDefinition(step).recheckQueueName;
    const recheckMessage = traced(stepMessage(tenantId, attachmentId, step, recheck));
    await write((record) => awaitStep(record, step, waiting, recheck, message.recheck === undefined, doneAt));
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
  // Later steps that need no work are finished in this same write (see probeFollowingSteps).
  const following = await probeFollowingSteps(deps, succeedStep(latest, step, succeeded, doneAt)?.record, step, log);
  await write((record) =>
    withProbedSteps(succeedStep(record, step, succeeded, doneAt), following, iso(deps.nowInMs())),
  );
  return tracedResult(finishedDelivery(latest, log));
}

async function recordFailure(
  deps: StepExecutorDeps,
  message: StepMessage,
  delivery: Delivery,
  info: ErrorInfo,
  willRetry: boolean,
  basedOn: AttachmentRecord,
): Promise<AttachmentRecord | undefined> {
  const { tenantId, attachmentId, step } = message;
  const now = iso(deps.nowInMs());
  return deps.store.updateAttachment(
    tenantId,
    attachmentId,
    (record) =>
      willRetry
        ? retryStep(record, step, info, delivery.dequeueCount, now)
        : failStep(record, step, info, now, {
            attempt: record.steps[step].attempts,
            dequeueCount: delivery.dequeueCount,
          }),
    { basedOn },
  );
}

/**
 * A message that does not parse can never succeed; retrying it five times helps nobody. When it still names an
 * attachment, that attachment is marked Failed with the reason; otherwise the reason is logged.
 */
async function rejectMessage(
  deps: StepExecutorDeps,
  raw: unknown,
  reason: string,
  delivery: Delivery,
): Promise<StepDeliveryResult> {
  const candidate = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const tenant = TenantIdSchema.safeParse(candidate.tenantId);
  const attachment = AttachmentIdSchema.safeParse(candidate.attachmentId);
  delivery.log('error', `invalid step message dropped: ${reason}`);
  if (!tenant.success || !attachment.success) return {};
  const info: ErrorInfo = {
    source: 'App',
    code: 'InvalidMessage',
    message: `Invalid step message: ${reason}`,
    retryable: false,
  };
  const now = iso(deps.nowInMs());
  const updated = await deps.store.updateAttachment(tenant.data, attachment.data, (record) =>
    record.currentStep
      ? failStep(record, record.currentStep, info, now, { dequeueCount: delivery.dequeueCount })
      : failAttachment(record, info, now),
  );
  const next = updated && followUp(updated);
  return next ? { next: withTraceContext(next, delivery.traceContext) } : {};
}
