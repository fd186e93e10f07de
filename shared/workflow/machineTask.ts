import type { GuestCredential } from '../arc/guestRun';
import {
  checkRemoteRun,
  type RemoteRunClient,
  type RemoteRunHandle,
  type RemoteRunProgress,
  runCommandName,
  startRemoteRun,
} from '../arc/remoteRun';
import type { HostScript } from '../arc/scripts';
import { isKnownError, StepError, toErrorInfo } from '../errors';
import type { MachineRef } from '../model/machineRef';
import type { MachineTaskRecord } from '../model/MachineTaskStore';
import type { SentMessageReceipt } from '../model/messages';
import type { StepName } from '../model/steps';
import {
  type Logger,
  type MachineTaskWatchDeps,
  sameAttachment,
  wakeWaiters,
  watchDelayInMs,
  watchMessage,
} from './machineTaskWatch';
import type { StepOutcome, StepRunContext } from './stepTypes';

export interface MachineTaskDeps extends MachineTaskWatchDeps {
  runCommands: RemoteRunClient;
  stableUuid: (seed: string) => string;
  /** How long an Applied record is trusted before the (idempotent, self-verifying) script runs again. */
  reuseForInMs: number;
  pollIntervalInMs: number;
  /** Deletes a watch nobody has received yet; false when it was received or is gone. */
  unwatch(receipt: SentMessageReceipt): Promise<boolean>;
  /** Reads a guest account from Key Vault, for a task in a VM reached through its host; never stored or logged. */
  guestCredential?(secretName: string): Promise<GuestCredential>;
}

export interface MachineTaskSpec<TInput> {
  /** The step whose task record this is (the detach of a network runs on the record of the step that made it). */
  step: StepName;
  /** The attachment's own step, when it is not `step`: where its wake-ups go, and what its run commands are named. */
  forStep?: StepName;
  /**
   * Asked once this attachment holds the task, before the run starts (nobody can reuse or start the task
   * meanwhile): a reason not to run after all, or undefined to run. The task is then given back as it was.
   */
  beforeRun?: () => Promise<string | undefined>;
  machine: MachineRef;
  /** Run the script in this VM of `machine` (its Hyper-V host) with PowerShell Direct, signing in as the secret says. */
  guest?: { vmName: string; secretName: string };
  /** The task's subject on that machine ('' for whole-machine tasks, the network name for step 4). */
  subject: string;
  script: HostScript<string, TInput>;
  input: TInput;
}

export interface MachineTaskCheckpoint extends Record<string, unknown> {
  run?: RemoteRunHandle;
  /** The task's watch this attachment sent when it claimed the task; deleted once the outcome is recorded. */
  watch?: SentMessageReceipt;
  waitingFor?: { tenantId: string; attachmentId: string };
}

const MAX_CLAIM_ROUNDS = 5;
/** How old an Applied record seen by this process a probe may take instead of reading the row again. */
const RECENTLY_APPLIED_IN_MS = 5_000;
/** Margin over the script's own timeout before another attachment may take an abandoned run over. */
const LEASE_MARGIN_IN_MS = 5 * 60_000;

/**
 * Runs a product script on a machine once for everyone: an Applied record with the same script version and inputs
 * is reused, a run in progress for another attachment is waited for (through delayed re-checks), and otherwise
 * this attachment takes the lease (etag-guarded), runs the script, and records the outcome for the others.
 */
export async function runMachineTask<TInput>(
  deps: MachineTaskDeps,
  run: StepRunContext<MachineTaskCheckpoint>,
  spec: MachineTaskSpec<TInput>,
): Promise<StepOutcome<MachineTaskCheckpoint>> {
  const me = { tenantId: run.tenantId, attachmentId: run.attachmentId };
  const inputHash = deps.stableUuid(JSON.stringify(spec.input));
  const options = { pollIntervalInMs: deps.pollIntervalInMs, ...run.options };

  if (run.checkpoint?.run) {
    const { run: handle, watch } = run.checkpoint;
    return follow(deps, run, spec, me, inputHash, watch, () => checkRemoteRun(deps.runCommands, handle, options));
  }

  // A repair runs the script because its effect is gone, however recently it was applied.
  const repair = run.checkpoint?.repair === true;
  for (let round = 0; round < MAX_CLAIM_ROUNDS; round++) {
    const current = await deps.tasks.getTask(spec.machine, spec.step, spec.subject);
    const now = run.nowInMs();
    const waitedFor = run.checkpoint?.waitingFor;
    if (current && (!repair || waitedFor !== undefined) && isReusable(deps, spec, inputHash, current, now, waitedFor)) {
      run.log(
        `${spec.machine.machineName}: ${spec.script.name} v${spec.script.version} already applied; reusing its result`,
      );
      // Our own run, recorded by a delivery that died before it woke the others: wake them now.
      if (sameAttachment(current.appliedBy, me)) await wakeWaiters(deps, spec, run);
      return succeeded(spec, current, true);
    }
    const heldByOther =
      current?.status === 'Running' &&
      current.owner !== undefined &&
      !sameAttachment(current.owner, me) &&
      (current.leaseExpiresAtInMs ?? 0) > now;
    if (heldByOther && current.owner) {
      const owner = current.owner;
      return {
        kind: 'waiting',
        checkpoint: { waitingFor: owner },
        // Parked: the owner (or the task's watch) sends the re-check; this is only for a wait that ended meanwhile.
        checkAfterInMs: 0,
        message: `${spec.machine.machineName} is being configured for ${owner.tenantId}/${owner.attachmentId}`,
        park: async (recheck) => {
          const waiter = {
            ...me,
            step: spec.forStep ?? spec.step,
            recheck,
            ...(run.traceContext ? { trace: run.traceContext } : {}),
          };
          await deps.tasks.addWaiter(spec.machine, spec.step, spec.subject, waiter);
          // The owner wakes the waiters it finds after recording its outcome; one that recorded it before our row
          // existed did not see us, so look once more (the other order is covered by the owner's look).
          const latest = await deps.tasks.getTask(spec.machine, spec.step, spec.subject);
          const parked =
            latest?.status === 'Running' &&
            sameAttachment(latest.owner, owner) &&
            (latest.leaseExpiresAtInMs ?? 0) > run.nowInMs();
          if (!parked) await deps.tasks.removeWaiters(spec.machine, spec.step, spec.subject, [waiter]);
          return parked;
        },
      };
    }
    const claimed = await deps.tasks.putTask(
      {
        machine: spec.machine,
        task: spec.step,
        subject: spec.subject,
        status: 'Running',
        script: spec.script.name,
        scriptVersion: spec.script.version,
        inputHash,
        owner: me,
        leaseExpiresAtInMs: now + spec.script.defaultTimeoutInSeconds * 1000 + LEASE_MARGIN_IN_MS,
        ...(current?.appliedTime ? { appliedTime: current.appliedTime, appliedBy: current.appliedBy } : {}),
        updatedTime: new Date(now).toISOString(),
      },
      current?.etag,
    );
    if (!claimed) continue;
    const reason = spec.beforeRun && (await spec.beforeRun());
    if (reason !== undefined) return giveBack(deps, run, spec, current, claimed, reason);
    // Before the run: whatever becomes of this attachment from here on, the steps that park on the task are woken.
    // A redelivery that claims again sends another; a second watch only looks once more.
    const watch = await deps.watch(watchMessage(spec, me), watchDelayInMs(claimed.leaseExpiresAtInMs, now));
    const name = runCommandName({
      attachmentId: run.attachmentId,
      step: spec.forStep ?? spec.step,
      attempt: run.attempt,
    });
    return follow(deps, run, spec, me, inputHash, watch, async () => {
      const guest = spec.guest && {
        vmName: spec.guest.vmName,
        credential: await readGuestCredential(deps, spec.guest.secretName),
      };
      const progress = await startRemoteRun(
        deps.runCommands,
        {
          machine: spec.machine,
          script: spec.script,
          input: spec.input,
          runCommandName: name,
          ...(guest && { guest }),
        },
        options,
      );
      // Saved before waiting: a redelivery follows this run instead of starting another.
      await run.saveCheckpoint({ run: progress.handle, watch });
      return progress;
    });
  }
  return {
    kind: 'waiting',
    checkpoint: {},
    checkAfterInMs: deps.pollIntervalInMs,
    message: `${spec.machine.machineName}: the task record kept changing; trying again`,
  };
}

function readGuestCredential(deps: MachineTaskDeps, secretName: string): Promise<GuestCredential> {
  if (!deps.guestCredential) {
    throw new StepError('No Key Vault is configured (KEY_VAULT_URL), so no guest credential can be read.', {
      code: 'KeyVaultNotConfigured',
      retryable: false,
    });
  }
  return deps.guestCredential(secretName);
}

/**
 * The step's outcome when the task is already applied on the machine with this script version and inputs within
 * the reuse window, without changing anything anywhere (one read of the task record); otherwise undefined. Lets the
 * executor finish such a step in one state write, without claiming it first.
 */
export async function reusedMachineTask<TInput>(
  deps: MachineTaskDeps,
  run: StepRunContext<MachineTaskCheckpoint>,
  spec: MachineTaskSpec<TInput>,
): Promise<StepOutcome<MachineTaskCheckpoint> | undefined> {
  const inputHash = deps.stableUuid(JSON.stringify(spec.input));
  // An Applied record seen in the last few seconds is as good as a fresh read for a reuse that accepts one as old as
  // the reuse window; attachments arriving together then read the row once, not once each.
  if (run.checkpoint?.repair === true) return undefined;
  const current = await deps.tasks.getTask(spec.machine, spec.step, spec.subject, {
    appliedWithinInMs: Math.min(RECENTLY_APPLIED_IN_MS, deps.reuseForInMs),
  });
  if (!current || !isReusable(deps, spec, inputHash, current, run.nowInMs(), undefined)) return undefined;
  // Applied by this attachment: a redelivery of the run's owner, which still has the waiters to wake.
  if (sameAttachment(current.appliedBy, { tenantId: run.tenantId, attachmentId: run.attachmentId })) return undefined;
  run.log(
    `${spec.machine.machineName}: ${spec.script.name} v${spec.script.version} already applied; reusing its result`,
  );
  return succeeded(spec, current, true);
}

function isReusable<TInput>(
  deps: MachineTaskDeps,
  spec: MachineTaskSpec<TInput>,
  inputHash: string,
  current: MachineTaskRecord,
  nowInMs: number,
  waitedFor: { tenantId: string; attachmentId: string } | undefined,
): boolean {
  const appliedByAwaitedRun =
    waitedFor !== undefined &&
    current.appliedBy?.tenantId === waitedFor.tenantId &&
    current.appliedBy.attachmentId === waitedFor.attachmentId;
  return (
    current.status === 'Applied' &&
    // The record of a network's creation also records its removal: only the same script's outcome counts.
    current.script === spec.script.name &&
    current.scriptVersion === spec.script.version &&
    current.inputHash === inputHash &&
    current.appliedTime !== undefined &&
    // The run this attachment waited for counts however old the reuse window says it is.
    (appliedByAwaitedRun || nowInMs - Date.parse(current.appliedTime) <= deps.reuseForInMs)
  );
}

async function follow<TInput>(
  deps: MachineTaskDeps,
  run: StepRunContext<MachineTaskCheckpoint>,
  spec: MachineTaskSpec<TInput>,
  me: { tenantId: string; attachmentId: string },
  inputHash: string,
  watch: SentMessageReceipt | undefined,
  advance: () => Promise<RemoteRunProgress>,
): Promise<StepOutcome<MachineTaskCheckpoint>> {
  let progress: RemoteRunProgress;
  try {
    progress = await advance();
  } catch (error) {
    // A finished run command is deleted: a redelivery of the delivery that recorded it (and died before finishing
    // the step) finds it gone, and the record says how it went.
    if (isKnownError(error) && error.code === 'RunCommandNotFound') {
      const current = await deps.tasks.getTask(spec.machine, spec.step, spec.subject);
      if (
        current &&
        sameAttachment(current.appliedBy, me) &&
        isReusable(deps, spec, inputHash, current, run.nowInMs(), me)
      ) {
        await wakeWaiters(deps, spec, run);
        await unwatch(deps, watch, run);
        return succeeded(spec, current, false);
      }
    }
    // The failed run is gone (deleted or never started): a redelivery claims the machine again with a new attempt.
    await run.saveCheckpoint({});
    // Release the machine so a waiting attachment can try; the error itself goes to the executor.
    await record(deps, spec, me, inputHash, run.nowInMs(), (r) => ({
      ...r,
      status: 'Failed',
      owner: undefined,
      leaseExpiresAtInMs: undefined,
      lastError: isKnownError(error) ? error.toErrorInfo() : toErrorInfo(error),
    }));
    // The waiters look again and one of them tries the machine itself; a lost wake-up only costs them the safety
    // re-check, so it must not hide this run's own error.
    await wakeWaiters(deps, spec, run).catch((wakeError: unknown) =>
      run.log(`could not wake the attachments waiting on ${spec.machine.machineName}: ${String(wakeError)}`),
    );
    await unwatch(deps, watch, run);
    throw error;
  }
  if (progress.status === 'running') {
    return {
      kind: 'waiting',
      checkpoint: { run: progress.handle, ...(watch ? { watch } : {}) },
      checkAfterInMs: progress.checkAfterInMs,
      message: `run command ${progress.handle.runCommandName} on ${spec.machine.machineName}`,
    };
  }
  const now = run.nowInMs();
  const applied = await record(deps, spec, me, inputHash, now, (r) => ({
    ...r,
    status: 'Applied',
    owner: undefined,
    leaseExpiresAtInMs: undefined,
    lastError: undefined,
    appliedTime: new Date(now).toISOString(),
    appliedBy: me,
    exitCode: progress.exitCode,
    result: progress.result,
    scriptVersion: progress.handle.scriptVersion,
  }));
  run.log(
    `${spec.machine.machineName}: ${spec.script.name} v${progress.handle.scriptVersion} exited ${progress.exitCode}`,
  );
  await wakeWaiters(deps, spec, run);
  await unwatch(deps, watch, run);
  return succeeded(spec, applied, false);
}

/**
 * Gives the task back as it was before this attachment claimed it (`beforeRun` found a reason not to run), wakes
 * whoever parked on the claim meanwhile, and ends the step with the reason.
 */
async function giveBack<TInput>(
  deps: MachineTaskDeps,
  run: StepRunContext<MachineTaskCheckpoint>,
  spec: MachineTaskSpec<TInput>,
  before: MachineTaskRecord | undefined,
  claimed: MachineTaskRecord,
  reason: string,
): Promise<StepOutcome<MachineTaskCheckpoint>> {
  const restored: MachineTaskRecord = before
    ? { ...before, updatedTime: new Date(run.nowInMs()).toISOString() }
    : { ...claimed, status: 'Failed', owner: undefined, leaseExpiresAtInMs: undefined };
  await deps.tasks.updateTask(spec.machine, spec.step, spec.subject, () => restored);
  await wakeWaiters(deps, spec, run);
  run.log(`${spec.machine.machineName}: ${spec.script.name} not run: ${reason}`);
  return {
    kind: 'succeeded',
    result: {},
    detail: { machine: spec.machine.machineName, machineResourceGroup: spec.machine.resourceGroup, ran: false, reason },
  };
}

/** The run's outcome is recorded and its waiters woken: its watch has nothing left to look after. */
async function unwatch(deps: MachineTaskDeps, watch: SentMessageReceipt | undefined, logger: Logger): Promise<void> {
  // Already received (it looked once and sent the next): that one finds the task ended and stops by itself.
  if (watch)
    await deps
      .unwatch(watch)
      .catch((error: unknown) => logger.log(`could not delete the task's watch: ${String(error)}`));
}

/** Updates the machine's task record (etag-guarded, re-read on a lost race); this attachment is its owner. */
async function record<TInput>(
  deps: MachineTaskDeps,
  spec: MachineTaskSpec<TInput>,
  me: { tenantId: string; attachmentId: string },
  inputHash: string,
  nowInMs: number,
  change: (current: MachineTaskRecord) => MachineTaskRecord,
): Promise<MachineTaskRecord> {
  const updatedTime = new Date(nowInMs).toISOString();
  let last: MachineTaskRecord | undefined;
  const stored = await deps.tasks.updateTask(
    spec.machine,
    spec.step,
    spec.subject,
    (current) => {
      const base: MachineTaskRecord = current ?? {
        machine: spec.machine,
        task: spec.step,
        subject: spec.subject,
        status: 'Running',
        script: spec.script.name,
        scriptVersion: spec.script.version,
        inputHash,
        owner: me,
        updatedTime,
      };
      last = { ...change({ ...base, inputHash }), updatedTime };
      return last;
    },
    { maxRounds: MAX_CLAIM_ROUNDS + 1 },
  );
  // Every round lost to another writer: the outcome stands for this step all the same (the script has run).
  return stored ?? last!;
}

function succeeded<TInput>(
  spec: MachineTaskSpec<TInput>,
  task: MachineTaskRecord,
  reused: boolean,
): StepOutcome<MachineTaskCheckpoint> {
  return {
    kind: 'succeeded',
    result: {},
    detail: {
      machine: spec.machine.machineName,
      machineResourceGroup: spec.machine.resourceGroup,
      script: task.script,
      scriptVersion: task.scriptVersion,
      exitCode: task.exitCode ?? null,
      scriptResult: task.result ?? null,
      reused,
      appliedTime: task.appliedTime ?? null,
      appliedBy: task.appliedBy ? `${task.appliedBy.tenantId}/${task.appliedBy.attachmentId}` : null,
    },
  };
}
