import { toErrorInfo } from '../errors';
import type { StepMessage } from '../model/messages';
import type { AttachmentRecord, StepState } from '../model/records';
import type { StateStore } from '../model/StateStore';
import type { StepName } from '../model/steps';
import type { Delivery, StepDeliveryResult, StepProbe, StepSucceeded } from './stepTypes';
import { finishedDelivery, iso, succeedStep, untouched, wokenFromPark } from './transitions';

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
  return wrote ? finishedDelivery(step, tenantId, attachmentId, log) : undefined;
}
