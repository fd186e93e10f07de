import type { ErrorInfo } from '../errors';
import type { MachineRef } from '../hosts/machineRef';

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
}

/** Table keys: one partition per machine, one row per task and subject; keys may not hold `/\#?`. */
export function machineTaskKeys(machine: MachineRef, task: string, subject: string) {
  const safe = (text: string) => text.toLowerCase().replace(/[^a-z0-9._()-]/g, '_');
  return {
    partitionKey: `${safe(machine.subscriptionId)}~${safe(machine.resourceGroup)}~${safe(machine.machineName)}`,
    rowKey: `${task}~${safe(subject)}`,
  };
}
