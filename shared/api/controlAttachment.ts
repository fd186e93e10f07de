import type { FieldIssue } from '../errors';
import type { StepMessage } from '../model/messages';
import { stepMessage } from '../model/messages';
import { type AttachmentRecord, isTerminal, type StepState } from '../model/records';
import type { NewHistoryEvent, StateStore } from '../model/StateStore';
import { type StepName, workflowOf } from '../model/steps';
import { type ArcDefaults, tenantIssues } from '../model/tenant';
import type { TenantStore } from '../model/TenantStore';
import { followUp, startDetach } from '../workflow/transitions';

export type ControlOutcome =
  | { kind: 'notFound' }
  | { kind: 'conflict'; record: AttachmentRecord; reason: string }
  | { kind: 'accepted'; record: AttachmentRecord; start?: StepMessage };

/** A detach may also be refused by the tenant registry (code TenantNotAuthorized). */
export type DetachOutcome = ControlOutcome | { kind: 'forbidden'; issues: FieldIssue[] };

/**
 * Asks a Pending or Running attachment to stop: the step under way finishes, the next one does not start.
 * Asking twice is fine; an attachment that has ended cannot be canceled, nor can a detach (it runs to its end, or
 * fails and is resumed by another DELETE).
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
    if (current.runtimeStatus !== 'Pending' && current.runtimeStatus !== 'Running') {
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
    return restartFailedStep(current, current.currentStep, nowInMs);
  });
  if (!record) return { kind: 'notFound' };
  if (conflict) return { kind: 'conflict', record, reason: conflict };
  return {
    kind: 'accepted',
    record,
    start: stepMessage(tenantId, attachmentId, record.currentStep ?? 'addIpConfigurations'),
  };
}

/** The failed step of a Failed attachment, fresh again with what it had decided; the attachment resumes there. */
function restartFailedStep(
  current: AttachmentRecord,
  step: StepName,
  nowInMs: number,
): { record: AttachmentRecord; events: NewHistoryEvent[] } {
  const failed = current.steps[step];
  const checkpoint = failed.checkpoint
    ? Object.fromEntries(Object.entries(failed.checkpoint).filter(([key]) => !SPENT_CHECKPOINT_KEYS.includes(key)))
    : undefined;
  const restarted: StepState = { status: 'Pending', attempts: 0, ...(checkpoint ? { checkpoint } : {}) };
  return {
    record: {
      ...current,
      runtimeStatus: workflowOf(step) === 'detach' ? 'Detaching' : 'Pending',
      lastError: undefined,
      cancelRequested: false,
      lastUpdatedTime: new Date(nowInMs).toISOString(),
      steps: { ...current.steps, [step]: restarted },
    },
    events: [
      { type: 'Retried', step, message: `restarted after ${failed.attempts} attempt(s)`, error: failed.lastError },
    ],
  };
}

export interface DetachDeps {
  store: StateStore;
  tenants: Pick<TenantStore, 'getTenant'>;
  arcDefaults: ArcDefaults;
  nowInMs: () => number;
}

/**
 * Takes an attachment back off (DELETE): an ended one (Completed, Failed or Canceled) starts detaching now; a
 * Pending or Running one is canceled, and detaches what it had done once its step under way ends; a Failed detach
 * resumes at its failed step; a detach under way or done is answered as it stands (asking twice is fine). The
 * tenant's registry entry must still cover the attachment's request, as for attach.
 */
export async function detachAttachment(
  deps: DetachDeps,
  tenantId: string,
  attachmentId: string,
): Promise<DetachOutcome> {
  const seen = await deps.store.getAttachment(tenantId, attachmentId);
  if (!seen) return { kind: 'notFound' };
  const refused = await registryRefusal(deps, seen);
  if (refused) return refused;
  const record = await deps.store.updateAttachment(
    tenantId,
    attachmentId,
    (current) => {
      const now = new Date(deps.nowInMs()).toISOString();
      const step = current.currentStep;
      if (current.runtimeStatus === 'Detaching' || current.runtimeStatus === 'Detached') return undefined;
      if (current.runtimeStatus === 'Failed' && step && workflowOf(step) === 'detach') {
        return restartFailedStep(current, step, deps.nowInMs());
      }
      const requested: NewHistoryEvent = { type: 'DetachRequested', ...(step ? { step } : {}) };
      if (isTerminal(current.runtimeStatus)) {
        return {
          record: startDetach(current, now),
          events: [requested, { type: 'DetachStarted', message: `from ${current.runtimeStatus}` }],
        };
      }
      if (current.detachRequested) return undefined;
      // Cancellation takes effect at the next step boundary; the attach's end then starts the detach.
      return {
        record: { ...current, cancelRequested: true, detachRequested: true, lastUpdatedTime: now },
        events: [requested],
      };
    },
    { basedOn: seen },
  );
  if (!record) return { kind: 'notFound' };
  // Sent again on a repeated DELETE while the detach step has not started: the first may have been lost.
  const start = followUp(record);
  return { kind: 'accepted', record, ...(start?.step && workflowOf(start.step) === 'detach' ? { start } : {}) };
}

/** The tenant's registry entry must still cover an attachment's request before anything is done for it. */
export async function registryRefusal(
  deps: Pick<DetachDeps, 'tenants' | 'arcDefaults'>,
  record: AttachmentRecord,
): Promise<{ kind: 'forbidden'; issues: FieldIssue[] } | undefined> {
  const registry = await deps.tenants.getTenant(record.tenantId);
  const issues = tenantIssues(record.tenantId, registry?.entry, record.request, deps.arcDefaults);
  return !registry || issues.length > 0 ? { kind: 'forbidden', issues } : undefined;
}

/**
 * Re-runs, idempotently, exactly the attach steps whose effect a verification found missing (e.g. the network gone
 * after a reboot), and nothing else: those steps start afresh, marked as repairs (no recent result is reused for
 * them), and the others stay Succeeded, so the attachment skips them. Only a Completed attachment is repaired.
 */
export async function repairAttachment(
  store: StateStore,
  record: AttachmentRecord,
  missing: readonly StepName[],
  nowInMs: number,
): Promise<ControlOutcome> {
  const { tenantId, attachmentId } = record;
  let conflict: string | undefined;
  const updated = await store.updateAttachment(
    tenantId,
    attachmentId,
    (current) => {
      conflict = undefined;
      if (current.runtimeStatus !== 'Completed') {
        conflict = `Attachment ${attachmentId} is ${current.runtimeStatus}; only a Completed attachment can be repaired.`;
        return undefined;
      }
      const steps = { ...current.steps };
      for (const step of missing) steps[step] = { status: 'Pending', attempts: 0, checkpoint: { repair: true } };
      return {
        record: {
          ...current,
          runtimeStatus: 'Running',
          currentStep: missing[0],
          lastError: undefined,
          lastUpdatedTime: new Date(nowInMs).toISOString(),
          steps,
        },
        events: [{ type: 'RepairRequested', message: `missing: ${missing.join(', ')}` }],
      };
    },
    { basedOn: record },
  );
  if (!updated) return { kind: 'notFound' };
  if (conflict) return { kind: 'conflict', record: updated, reason: conflict };
  return { kind: 'accepted', record: updated, start: followUp(updated) };
}
