import type { ErrorInfo } from '../errors';
import type { MachineRef } from './machineRef';
import type { StepName } from './steps';
import type { TraceContext } from './traceContext';

/**
 * What was done to one machine, per task (a script and its subject): steps 2 and 3 configure a machine, not an
 * attachment, so they are recorded once per machine and shared by every attachment on it.
 */
export interface MachineTaskRecord {
  machine: MachineRef;
  /** e.g. `enableNetworkProxy`, or `createContainerNetwork` for one network name. */
  task: string;
  subject: string;
  status: 'Running' | 'Applied' | 'Failed';
  script: string;
  scriptVersion: number;
  /** Hash of the script's inputs: an Applied record counts only for the same inputs. */
  inputHash: string;
  /** The attachment running the script now, and until when it may. */
  owner?: { tenantId: string; attachmentId: string };
  leaseExpiresAtInMs?: number;
  appliedTime?: string;
  appliedBy?: { tenantId: string; attachmentId: string };
  exitCode?: number;
  result?: Record<string, unknown>;
  lastError?: ErrorInfo;
  updatedTime: string;
  etag?: string;
}

export interface MachineTaskStore {
  /**
   * The stored record. `appliedWithinInMs` accepts an Applied record this store read or wrote at most that long ago
   * instead of reading: for reuse decisions, which already accept an Applied record as old as the reuse window.
   */
  getTask(
    machine: MachineRef,
    task: string,
    subject: string,
    options?: { appliedWithinInMs?: number },
  ): Promise<MachineTaskRecord | undefined>;
  /**
   * Writes the record if the stored one still has `expectedEtag` (undefined: only if none exists). Returns the
   * stored record, or undefined when another writer got there first.
   */
  putTask(record: MachineTaskRecord, expectedEtag: string | undefined): Promise<MachineTaskRecord | undefined>;
  /**
   * Reads the record, applies `mutate` (to undefined when there is none) and writes the result etag-guarded, reading
   * again after a lost race, at most `maxRounds` times (default 5). Returns the stored record; undefined when every
   * round lost.
   */
  updateTask(
    machine: MachineRef,
    task: string,
    subject: string,
    mutate: (current: MachineTaskRecord | undefined) => MachineTaskRecord,
    options?: { maxRounds?: number },
  ): Promise<MachineTaskRecord | undefined>;
  /**
   * Notes that an attachment's step waits for this task's run to end, so the run's owner can wake it instead of
   * the waiter polling. Idempotent; a waiter parked again with a newer re-check number gets a row of its own.
   */
  addWaiter(machine: MachineRef, task: string, subject: string, waiter: TaskWaiter): Promise<void>;
  /** The waiters noted for this task, oldest re-check first. */
  listWaiters(machine: MachineRef, task: string, subject: string): Promise<TaskWaiter[]>;
  /** Forgets these waiters (once woken); waiters that are already gone are skipped. */
  removeWaiters(machine: MachineRef, task: string, subject: string, waiters: readonly TaskWaiter[]): Promise<void>;
}

/** A step parked until a machine task's run ends; `recheck` is the number the waking message must carry. */
export interface TaskWaiter {
  tenantId: string;
  attachmentId: string;
  step: StepName;
  recheck: number;
  /** The parking delivery's span: the wake-up continues the waiter's trace, not the waker's. */
  trace?: TraceContext;
}

/** Table keys: one partition per machine, one row per task and subject; keys may not hold `/\#?`. */
export function machineTaskKeys(machine: MachineRef, task: string, subject: string) {
  const safe = (text: string) => text.toLowerCase().replace(/[^a-z0-9._()-]/g, '_');
  return {
    partitionKey: `${safe(machine.subscriptionId)}~${safe(machine.resourceGroup)}~${safe(machine.machineName)}`,
    rowKey: `${task}~${safe(subject)}`,
  };
}

/** Waiter rows sit in the task's partition, right after its row: `<task row key>~waiter~<tenant>~<attachment>~<n>`. */
export function taskWaiterKeys(machine: MachineRef, task: string, subject: string, waiter?: TaskWaiter) {
  const { partitionKey, rowKey } = machineTaskKeys(machine, task, subject);
  const prefix = `${rowKey}~waiter~`;
  // Tenant and attachment ids are letters, digits, "-" and "_" (validated at the door): key-safe, case kept.
  return {
    partitionKey,
    prefix,
    rowKey:
      waiter === undefined
        ? prefix
        : `${prefix}${waiter.tenantId}~${waiter.attachmentId}~${waiter.step}~${String(waiter.recheck).padStart(6, '0')}`,
  };
}
