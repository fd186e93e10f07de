import { type HostScript, removePrivateCloudPluginScript } from '../arc/scripts';
import { type ErrorInfo, isKnownError, isRemoteServiceError, toErrorInfo } from '../errors';
import { isGuestVmReference, type MachineRef } from '../model/machineRef';
import type { MachineTaskRecord } from '../model/MachineTaskStore';
import type { SentMessageReceipt } from '../model/messages';
import type { AttachmentRecord } from '../model/records';
import type { ArcDefaults } from '../model/tenant';
import { resolveMachine } from './hostSteps';
import { type MachineTaskWatchDeps, wakeWaiters, watchDelayInMs, watchMessage } from './machineTaskWatch';

/** What removing a VM's plugin registration needs. */
export interface PluginRemovalDeps extends MachineTaskWatchDeps {
  /** `StateStore.listContainerHostUsers`: every tenant's attachments, not Detached, on a VM of that name. */
  containerHostUsers(machineName: string): Promise<AttachmentRecord[]>;
  /** Runs the script to its end within the request's budget (`runScriptToEnd`): its result line, or its error. */
  runScript<TInput>(
    machine: MachineRef,
    script: HostScript<string, TInput>,
    input: TInput,
  ): Promise<Record<string, unknown>>;
  /** Deletes the task's watch once the outcome is recorded; false when it was received or is gone. */
  unwatch(receipt: SentMessageReceipt): Promise<boolean>;
  stableUuid: (seed: string) => string;
  defaults: ArcDefaults;
  nowInMs: () => number;
  log: (text: string) => void;
}

/** An attachment that may still use the plugin, as the refusal names it. */
export interface PluginUser {
  tenantId: string;
  attachmentId: string;
  runtimeStatus: string;
}

export type PluginRemovalOutcome =
  /** Attachments not Detached name the VM as their container host: nothing was run. */
  | { kind: 'inUse'; users: PluginUser[] }
  /** Step 3 (or another removal) holds the machine's plugin task with a live lease: nothing was run. */
  | { kind: 'taskRunning'; owner?: { tenantId: string; attachmentId: string }; leaseExpiresAtInMs?: number }
  /** The script ran to its end; the task record now says so. */
  | { kind: 'removed'; result: Record<string, unknown>; task: MachineTaskRecord }
  /** The script refused and changed nothing (`ContainerNetworksStillPresent`): the task record is as it was. */
  | { kind: 'refused'; error: ErrorInfo }
  /** The run failed, or (`timedOut`) outlasted the request and may still be going; see the task record. */
  | { kind: 'failed'; error: ErrorInfo; timedOut: boolean };

/** The task record of step 3, which a removal takes over: one per machine. */
const TASK = { step: 'installPrivateCloudPlugin', subject: '' } as const;
/** Margin over the script's own timeout before an attachment may take an abandoned removal over (as for step 3). */
const LEASE_MARGIN_IN_MS = 5 * 60_000;
/** The tenant an operator's run is recorded under in the task record (a lease owner, and `appliedBy`). */
export const OPERATOR_OWNER_TENANT = 'operator';
/** The code `runScript` throws when the request's budget runs out before the run ends. */
export const RUN_TIMED_OUT = 'RunTimedOut';
/** Script errors that mean the script changed nothing, so the install it refused to undo still stands. */
const CHANGED_NOTHING = new Set(['ContainerNetworksStillPresent']);

/**
 * Removes the Private Cloud plugin registration from a container host VM for the operator, when no attachment uses
 * it. Refused while any attachment not Detached (any tenant) names the VM as its container host, or while step 3's
 * task record for the VM is held. Otherwise it takes that record (etag-guarded, with a lease and a watch, as step 3
 * does: a step 3 arriving meanwhile parks on it), counts the users again, runs the script, and records the outcome
 * on the record: Applied by `remove-private-cloud-plugin`, which step 3 never reuses, so the next attachment
 * installs the plugin again. A refusal by the script leaves the record as it was; a failure marks it Failed (not
 * reusable either); a run that outlasts the request keeps the lease until the script's own timeout has passed.
 */
export async function removePrivateCloudPlugin(
  deps: PluginRemovalDeps,
  machine: MachineRef,
  requestedBy: string,
): Promise<PluginRemovalOutcome> {
  const script = removePrivateCloudPluginScript;
  const users = await pluginUsers(deps, machine);
  if (users.length > 0) return { kind: 'inUse', users };

  const current = await deps.tasks.getTask(machine, TASK.step, TASK.subject);
  const now = deps.nowInMs();
  if (current?.status === 'Running' && (current.leaseExpiresAtInMs ?? 0) > now) {
    return { kind: 'taskRunning', owner: current.owner, leaseExpiresAtInMs: current.leaseExpiresAtInMs };
  }
  const me = { tenantId: OPERATOR_OWNER_TENANT, attachmentId: `plugin-removal-${now.toString(36)}` };
  const inputHash = deps.stableUuid(JSON.stringify({}));
  const claimed = await deps.tasks.putTask(
    {
      machine,
      task: TASK.step,
      subject: TASK.subject,
      status: 'Running',
      script: script.name,
      scriptVersion: script.version,
      inputHash,
      owner: me,
      leaseExpiresAtInMs: now + script.defaultTimeoutInSeconds * 1000 + LEASE_MARGIN_IN_MS,
      ...(current?.appliedTime ? { appliedTime: current.appliedTime, appliedBy: current.appliedBy } : {}),
      updatedTime: new Date(now).toISOString(),
    },
    current?.etag,
  );
  if (!claimed) {
    // Someone wrote the record between our read and our write: most likely a step 3 claimed it.
    const latest = await deps.tasks.getTask(machine, TASK.step, TASK.subject);
    return { kind: 'taskRunning', owner: latest?.owner, leaseExpiresAtInMs: latest?.leaseExpiresAtInMs };
  }
  const task = { machine, ...TASK };
  // Whatever becomes of this request, a step 3 that parks on the claim is woken by the watch after the lease.
  let watch: SentMessageReceipt;
  try {
    watch = await deps.watch(watchMessage(task, me), watchDelayInMs(claimed.leaseExpiresAtInMs, now));
  } catch (error) {
    // Without a watch nobody would wake a step 3 parked on the claim should this request die: give it back now.
    await deps.tasks.updateTask(machine, TASK.step, TASK.subject, () =>
      current
        ? { ...current, updatedTime: new Date(deps.nowInMs()).toISOString() }
        : { ...claimed, status: 'Failed', owner: undefined, leaseExpiresAtInMs: undefined },
    );
    await wakeWaiters(deps, task, deps);
    throw error;
  }
  const release = async (outcome: (stored: MachineTaskRecord | undefined) => MachineTaskRecord) => {
    const stored = await deps.tasks.updateTask(machine, TASK.step, TASK.subject, (latest) => ({
      ...outcome(latest),
      updatedTime: new Date(deps.nowInMs()).toISOString(),
    }));
    await wakeWaiters(deps, task, deps).catch((error: unknown) =>
      deps.log(`could not wake the attachments waiting on ${machine.machineName}: ${String(error)}`),
    );
    await deps
      .unwatch(watch)
      .catch((error: unknown) => deps.log(`could not delete the task's watch: ${String(error)}`));
    return stored;
  };
  const restore = () =>
    release(() =>
      current ? { ...current } : { ...claimed, status: 'Failed', owner: undefined, leaseExpiresAtInMs: undefined },
    );

  // An attachment that reused the install between the first count and the claim is counted now; later ones park.
  const lateUsers = await pluginUsers(deps, machine);
  if (lateUsers.length > 0) {
    await restore();
    return { kind: 'inUse', users: lateUsers };
  }

  let result: Record<string, unknown>;
  try {
    result = await deps.runScript(machine, script, {});
  } catch (error) {
    const info = isKnownError(error) ? error.toErrorInfo() : toErrorInfo(error);
    if (CHANGED_NOTHING.has(info.code) || (isRemoteServiceError(error) && error.statusCode === 404)) {
      await restore();
      return CHANGED_NOTHING.has(info.code)
        ? { kind: 'refused', error: info }
        : { kind: 'failed', error: info, timedOut: false };
    }
    if (info.code === RUN_TIMED_OUT) {
      // The run may still be going: the lease stands until its timeout has passed, then the watch wakes step 3.
      deps.log(
        `${machine.machineName}: ${script.name} outlasted the request; the task stays held until its lease ends`,
      );
      return { kind: 'failed', error: info, timedOut: true };
    }
    await release((latest) => ({
      ...(latest ?? claimed),
      status: 'Failed',
      script: script.name,
      scriptVersion: script.version,
      inputHash,
      owner: undefined,
      leaseExpiresAtInMs: undefined,
      lastError: info,
    }));
    return { kind: 'failed', error: info, timedOut: false };
  }
  const appliedTime = new Date(deps.nowInMs()).toISOString();
  const applied: MachineTaskRecord = {
    ...claimed,
    status: 'Applied',
    owner: undefined,
    leaseExpiresAtInMs: undefined,
    lastError: undefined,
    appliedTime,
    appliedBy: me,
    exitCode: 0,
    result: { ...result, requestedBy },
  };
  const stored = await release(() => applied);
  deps.log(`${machine.machineName}: ${script.name} v${script.version} ran for ${requestedBy}`);
  return { kind: 'removed', result, task: stored ?? applied };
}

/** Attachments not Detached, any tenant, whose container host is this machine (or cannot be told apart from it). */
async function pluginUsers(deps: PluginRemovalDeps, machine: MachineRef): Promise<PluginUser[]> {
  const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
  const candidates = await deps.containerHostUsers(machine.machineName);
  return candidates
    .filter((other) => {
      if (other.runtimeStatus === 'Detached') return false;
      // A VM reached through its Hyper-V host has its own task records, on the host: not this Arc machine's plugin.
      if (isGuestVmReference(other.request.containerHost)) return false;
      let theirs: MachineRef;
      try {
        theirs = resolveMachine(other.request.containerHost, deps.defaults, 'containerHost');
      } catch {
        return true; // Cannot tell which machine it names: keep the plugin.
      }
      return (
        same(theirs.subscriptionId, machine.subscriptionId) &&
        same(theirs.resourceGroup, machine.resourceGroup) &&
        same(theirs.machineName, machine.machineName)
      );
    })
    .map((other) => ({
      tenantId: other.tenantId,
      attachmentId: other.attachmentId,
      runtimeStatus: other.runtimeStatus,
    }))
    .sort((a, b) => `${a.tenantId}/${a.attachmentId}`.localeCompare(`${b.tenantId}/${b.attachmentId}`));
}
