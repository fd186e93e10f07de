import type { MachineRef } from '../model/machineRef';
import type { MachineTaskStore, TaskWaiter } from '../model/MachineTaskStore';
import type { MachineTaskWatchMessage, SentMessageReceipt } from '../model/messages';
import type { StepName } from '../model/steps';

/** What a task's watch needs: the task records, and a way to send wake-ups and the next look. */
export interface MachineTaskWatchDeps {
  tasks: MachineTaskStore;
  /** Sends a parked step the re-check that continues it (the task it waited for ended). */
  wake(waiter: TaskWaiter): Promise<void>;
  /** Sends a task's watch, to be looked at after the delay (see MachineTaskWatchMessageSchema). */
  watch(message: MachineTaskWatchMessage, delayInMs: number): Promise<SentMessageReceipt>;
}

/**
 * How often a task's watch looks at a run in progress. The owner wakes the parked steps when the run ends, so the
 * watch only matters when the owner never comes back: the parked steps are then woken this long after its lease
 * ran out at the latest. One message per run, however many steps are parked on it.
 */
const WATCH_INTERVAL_IN_MS = 60_000;
/** Wake-ups sent at once when a run ends. */
const WAKE_CONCURRENCY = 16;

/**
 * One look of a task's watch. While the owner that sent it still holds a live lease, the watch looks again later;
 * once the run has ended or its lease has run out (the owner never came back), it wakes every step still parked
 * on the task, and those look for themselves: reuse the outcome, or take the task over. A task another attachment
 * has claimed since has that attachment's watch.
 */
export async function watchMachineTask(
  deps: MachineTaskWatchDeps,
  message: MachineTaskWatchMessage,
  nowInMs: () => number,
  log: (text: string) => void,
): Promise<'watching' | 'woken' | 'handed over'> {
  const task = await deps.tasks.getTask(message.machine, message.step, message.subject);
  const now = nowInMs();
  if (task?.status === 'Running' && (task.leaseExpiresAtInMs ?? 0) > now) {
    if (!sameAttachment(task.owner, message)) return 'handed over';
    await deps.watch(message, watchDelayInMs(task.leaseExpiresAtInMs, now));
    return 'watching';
  }
  await wakeWaiters(deps, message, { log });
  return 'woken';
}

export function sameAttachment(
  a: { tenantId: string; attachmentId: string } | undefined,
  b: { tenantId: string; attachmentId: string },
): boolean {
  return a !== undefined && a.tenantId === b.tenantId && a.attachmentId === b.attachmentId;
}

/**
 * Sends every step parked on this task its re-check, then forgets them. Called after the task's outcome is
 * recorded; a crash in between leaves the rows, and the owner's redelivery wakes them again (a duplicate re-check
 * is dropped by the step).
 */
export async function wakeWaiters(
  deps: Pick<MachineTaskWatchDeps, 'tasks' | 'wake'>,
  task: TaskKey,
  logger: Logger,
): Promise<void> {
  const waiters = await deps.tasks.listWaiters(task.machine, task.step, task.subject);
  if (waiters.length === 0) return;
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(WAKE_CONCURRENCY, waiters.length) }, async () => {
      while (next < waiters.length) await deps.wake(waiters[next++]!);
    }),
  );
  await deps.tasks.removeWaiters(task.machine, task.step, task.subject, waiters);
  logger.log(`${task.machine.machineName}: woke ${waiters.length} attachment step(s) waiting for ${task.step}`);
}

/** Where a step's (or a watch's) notes go. */
export interface Logger {
  log(text: string): void;
}

/** Which task: its machine, the step that runs it, its subject. */
export interface TaskKey {
  machine: MachineRef;
  step: StepName;
  subject: string;
}

export function watchMessage(
  task: TaskKey,
  owner: { tenantId: string; attachmentId: string },
): MachineTaskWatchMessage {
  return {
    schemaVersion: 1,
    tenantId: owner.tenantId,
    attachmentId: owner.attachmentId,
    step: task.step,
    machine: task.machine,
    subject: task.subject,
  };
}

/** The next look: the usual interval, or just past the lease's end if that comes sooner. */
export function watchDelayInMs(leaseExpiresAtInMs: number | undefined, nowInMs: number): number {
  return Math.max(0, Math.min(WATCH_INTERVAL_IN_MS, (leaseExpiresAtInMs ?? nowInMs) - nowInMs + 1_000));
}
