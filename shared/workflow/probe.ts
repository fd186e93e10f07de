import { toErrorInfo } from '../errors';
import type { StepMessage } from '../model/messages';
import type { AttachmentRecord, StepState } from '../model/records';
import type { NewHistoryEvent, RecordMutation, StateStore } from '../model/StateStore';
import type { StepName } from '../model/steps';
import type { Delivery, StepDeliveryResult, StepProbe, StepRunContext, StepSucceeded } from './stepTypes';
import { finishedDelivery, followUp, iso, succeedStep, untouched, wokenFromPark } from './transitions';

export interface ProbeDeps {
  store: StateStore;
  /** Side-effect-free checks that can finish a step without running it (steps 2-4: the task is already applied). */
  probes?: Partial<Record<StepName, StepProbe>>;
  nowInMs: () => number;
  sleep: (ms: number) => Promise<void>;
}

/**
 * Most deliveries of steps 2-4 find their machine's task already applied, and so do the parked steps its run's
 * owner wakes. Such a step is finished in one state write (with StepStarted for one nobody had started) instead of
 * a claim and then an outcome: the probe changes nothing anywhere, and the write is etag-guarded and made only if
 * the step is still as the probe found it, so a racing delivery can at worst make this one fall back to the
 * ordinary path. Undefined when the step was not finished this way.
 */
export async function finishByProbe(
  deps: ProbeDeps,
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
  let outcome: StepSucceeded | undefined;
  try {
    outcome = await probe(probeContext(deps, seen, woken ? seen.steps[step].attempts : 1, log));
  } catch (error) {
    // The ordinary path meets the same condition and handles it with retries and a recorded failure.
    log('info', `probe failed (${toErrorInfo(error).code}); running the step`);
    return undefined;
  }
  if (!outcome) return undefined;
  const succeeded = outcome;
  const doneAt = () => iso(deps.nowInMs());
  const started: NewHistoryEvent[] = [
    { type: 'StepStarted', step, attempt: 1, dequeueCount: delivery.dequeueCount, time: startedTime },
  ];
  const finish = (record: AttachmentRecord): RecordMutation =>
    woken
      ? succeedStep(record, step, succeeded, doneAt())
      : succeedStep(startedStep(record, step, startedTime), step, succeeded, doneAt(), started);
  const following = await probeFollowingSteps(deps, finish(seen)?.record, step, log);
  let wrote = false;
  const written = await deps.store.updateAttachment(
    tenantId,
    attachmentId,
    (record) => {
      wrote = false;
      if (!eligible(record)) return undefined;
      wrote = true;
      return withProbedSteps(finish(record), following, doneAt());
    },
    { basedOn: seen },
  );
  return wrote && written ? finishedDelivery(written, log) : undefined;
}

/** A later step finished by its probe in the delivery that finished the step before it. */
export interface ProbedStep {
  step: StepName;
  succeeded: StepSucceeded;
  startedTime: string;
  /** The step whose delivery finished this one too. */
  after: StepName;
}

/**
 * Once a step has succeeded, the steps after it that need no work (steps 2-4 whose machine task is already applied,
 * the usual case once a machine is configured) are finished by the same delivery, in the same state write. Each
 * saves a queue message (send, receive, delete), a state write and a registry read. It is safe for the reason the
 * probe path is: a probe changes nothing anywhere, and `withProbedSteps` applies each one only while its step is
 * still untouched in the record being written (etag-guarded), so a cancel, a detach or any other writer in between
 * stops the chain there and that step's own message carries the attachment on as before. `after` is the record as
 * the step's success leaves it.
 */
export async function probeFollowingSteps(
  deps: ProbeDeps,
  after: AttachmentRecord | undefined,
  finished: StepName,
  log: (level: 'info' | 'warn' | 'error', text: string) => void,
): Promise<ProbedStep[]> {
  const probed: ProbedStep[] = [];
  let record = after;
  let previous = finished;
  while (record) {
    const step = followUp(record)?.step;
    const probe = step && deps.probes?.[step];
    if (!step || !probe || !untouched(record, step)) break;
    const startedTime = iso(deps.nowInMs());
    let outcome: StepSucceeded | undefined;
    try {
      outcome = await probe(probeContext(deps, record, 1, (level, text) => log(level, `${step}: ${text}`)));
    } catch (error) {
      // Its own delivery meets the same condition and handles it with retries and a recorded failure.
      log('info', `probe of ${step} failed (${toErrorInfo(error).code}); its message goes on`);
      break;
    }
    if (!outcome) break;
    const link: ProbedStep = { step, succeeded: outcome, startedTime, after: previous };
    probed.push(link);
    record = withProbedSteps({ record }, [link], iso(deps.nowInMs()))?.record;
    previous = step;
  }
  return probed;
}

/**
 * Adds to a mutation that finished a step the steps probed after it (see probeFollowingSteps), in order, each only
 * while it is still untouched in the record the mutation writes.
 */
export function withProbedSteps(
  mutation: RecordMutation,
  probed: readonly ProbedStep[],
  doneAt: string,
): RecordMutation {
  let result = mutation;
  for (const { step, succeeded, startedTime, after } of probed) {
    if (!result || !untouched(result.record, step)) break;
    const started: NewHistoryEvent = {
      type: 'StepStarted',
      step,
      attempt: 1,
      message: `right after ${after}, in the same delivery`,
      time: startedTime,
    };
    const next = succeedStep(startedStep(result.record, step, startedTime), step, succeeded, doneAt, [started]);
    if (!next) break;
    result = { record: next.record, events: [...(result.events ?? []), ...(next.events ?? [])] };
  }
  return result;
}

function startedStep(record: AttachmentRecord, step: StepName, startedTime: string): AttachmentRecord {
  const started: StepState = { ...record.steps[step], status: 'Running', attempts: 1, startedTime };
  return { ...record, steps: { ...record.steps, [step]: started } };
}

function probeContext(
  deps: ProbeDeps,
  record: AttachmentRecord,
  attempt: number,
  log: (level: 'info' | 'warn' | 'error', text: string) => void,
): StepRunContext<Record<string, unknown>> {
  return {
    tenantId: record.tenantId,
    attachmentId: record.attachmentId,
    request: record.request,
    attempt,
    result: record.result,
    steps: record.steps,
    saveCheckpoint: () => Promise.reject(new TypeError('A probe may not save a checkpoint')),
    inlineWaitInMs: 0,
    options: {},
    nowInMs: deps.nowInMs,
    sleep: deps.sleep,
    log: (text) => log('info', text),
  };
}
