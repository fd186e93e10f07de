import type { StepMessage } from '../model/messages';
import { stepMessage } from '../model/messages';
import { type AttachmentRecord, isTerminal, type StepState } from '../model/records';
import type { StateStore } from '../model/StateStore';

export type ControlOutcome =
  | { kind: 'notFound' }
  | { kind: 'conflict'; record: AttachmentRecord; reason: string }
  | { kind: 'accepted'; record: AttachmentRecord; start?: StepMessage };

/**
 * Asks a Pending or Running attachment to stop: the step under way finishes, the next one does not start.
 * Asking twice is fine; an attachment that has ended cannot be canceled.
 */
export async function cancelAttachment(
  store: StateStore,
  tenantId: string,
  attachmentId: string,
  nowInMs: number,
): Promise<ControlOutcome> {
  let conflict: string | undefined;
  const record = await store.updateAttachment(tenantId, attachmentId, (current) => {
    conflict = undefined;
    if (isTerminal(current.runtimeStatus)) {
      conflict = `Attachment ${attachmentId} is ${current.runtimeStatus}; only a Pending or Running attachment can be canceled.`;
      return undefined;
    }
    if (current.cancelRequested) return undefined;
    return {
      record: { ...current, cancelRequested: true, lastUpdatedTime: new Date(nowInMs).toISOString() },
      events: [{ type: 'CancelRequested', step: current.currentStep }],
    };
  });
  if (!record) return { kind: 'notFound' };
  return conflict ? { kind: 'conflict', record, reason: conflict } : { kind: 'accepted', record };
}

/** Checkpoint entries that point at a finished remote operation or run; a retry must start those afresh. */
const SPENT_CHECKPOINT_KEYS = ['operation', 'run', 'waitingFor'];

/**
 * Restarts a Failed attachment from the step that failed, like Durable Functions' rewind: earlier steps stay
 * done, the failed step gets a fresh set of attempts, and what it had already decided (chosen addresses) is kept.
 */
export async function retryAttachment(
  store: StateStore,
  tenantId: string,
  attachmentId: string,
  nowInMs: number,
): Promise<ControlOutcome> {
  let conflict: string | undefined;
  const record = await store.updateAttachment(tenantId, attachmentId, (current) => {
    conflict = undefined;
    if (current.runtimeStatus !== 'Failed' || !current.currentStep) {
      conflict = `Attachment ${attachmentId} is ${current.runtimeStatus}; only a Failed attachment can be retried.`;
      return undefined;
    }
    const step = current.currentStep;
    const failed = current.steps[step];
    const checkpoint = failed.checkpoint
      ? Object.fromEntries(Object.entries(failed.checkpoint).filter(([key]) => !SPENT_CHECKPOINT_KEYS.includes(key)))
      : undefined;
    const restarted: StepState = { status: 'Pending', attempts: 0, ...(checkpoint ? { checkpoint } : {}) };
    return {
      record: {
        ...current,
        runtimeStatus: 'Pending',
        lastError: undefined,
        cancelRequested: false,
        lastUpdatedTime: new Date(nowInMs).toISOString(),
        steps: { ...current.steps, [step]: restarted },
      },
      events: [
        { type: 'Retried', step, message: `restarted after ${failed.attempts} attempt(s)`, error: failed.lastError },
      ],
    };
  });
  if (!record) return { kind: 'notFound' };
  if (conflict) return { kind: 'conflict', record, reason: conflict };
  return {
    kind: 'accepted',
    record,
    start: stepMessage(tenantId, attachmentId, record.currentStep ?? 'addIpConfigurations'),
  };
}
