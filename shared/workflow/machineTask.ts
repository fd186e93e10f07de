import { isKnownError, toErrorInfo } from '../errors';
import type { MachineRef } from '../hosts/machineRef';
import {
  checkRemoteRun,
  type RemoteRunClient,
  type RemoteRunHandle,
  type RemoteRunProgress,
  runCommandName,
  startRemoteRun,
} from '../hosts/remoteRun';
import type { HostScript } from '../hosts/scripts';
import type { MachineTaskRecord, MachineTaskStore } from '../state/MachineTaskStore';
import type { StepOutcome, StepRunContext } from './stepTypes';

export interface MachineTaskDeps {
  tasks: MachineTaskStore;
  runCommands: RemoteRunClient;
  stableUuid: (seed: string) => string;
  /** How long an Applied record is trusted before the (idempotent, self-verifying) script runs again. */
  reuseForInMs: number;
  pollIntervalInMs: number;
}

export interface MachineTaskSpec<TInput> {
  step: string;
  machine: MachineRef;
  /** The task's subject on that machine ('' for whole-machine tasks, the network name for step 4). */
  subject: string;
  script: HostScript<string, TInput>;
  input: TInput;
}

export interface MachineTaskCheckpoint extends Record<string, unknown> {
  run?: RemoteRunHandle;
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
    return follow(deps, run, spec, me, inputHash, () =>
      checkRemoteRun(deps.runCommands, run.checkpoint!.run!, options),
    );
  }

  for (let round = 0; round < MAX_CLAIM_ROUNDS; round++) {
    const current = await deps.tasks.getTask(spec.machine, spec.step, spec.subject);
    const now = run.nowInMs();
    if (current && isReusable(deps, spec, inputHash, current, now, run.checkpoint?.waitingFor)) {
      run.log(
        `${spec.machine.machineName}: ${spec.script.name} v${spec.script.version} already applied; reusing its result`,
      );
      return succeeded(spec, current, true);
    }
    const heldByOther =
      current?.status === 'Running' &&
      current.owner !== undefined &&
      !(current.owner.tenantId === me.tenantId && current.owner.attachmentId === me.attachmentId) &&
      (current.leaseExpiresAtInMs ?? 0) > now;
    if (heldByOther && current.owner) {
      return {
        kind: 'waiting',
        checkpoint: { waitingFor: current.owner },
        checkAfterInMs: deps.pollIntervalInMs,
        message: `${spec.machine.machineName} is being configured for ${current.owner.tenantId}/${current.owner.attachmentId}`,
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
    const name = runCommandName({ attachmentId: run.attachmentId, step: spec.step, attempt: run.attempt });
    return follow(deps, run, spec, me, inputHash, async () => {
      const progress = await startRemoteRun(
        deps.runCommands,
        { machine: spec.machine, script: spec.script, input: spec.input, runCommandName: name },
        options,
      );
      // Saved before waiting: a redelivery follows this run instead of starting another.
      await run.saveCheckpoint({ run: progress.handle });
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
  const current = await deps.tasks.getTask(spec.machine, spec.step, spec.subject, {
    appliedWithinInMs: Math.min(RECENTLY_APPLIED_IN_MS, deps.reuseForInMs),
  });
  if (!current || !isReusable(deps, spec, inputHash, current, run.nowInMs(), undefined)) return undefined;
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
  advance: () => Promise<RemoteRunProgress>,
): Promise<StepOutcome<MachineTaskCheckpoint>> {
  let progress: RemoteRunProgress;
  try {
    progress = await advance();
  } catch (error) {
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
    throw error;
  }
  if (progress.status === 'running') {
    return {
      kind: 'waiting',
      checkpoint: { run: progress.handle },
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
  return succeeded(spec, applied, false);
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
  for (let round = 0; ; round++) {
    const current = await deps.tasks.getTask(spec.machine, spec.step, spec.subject);
    const base: MachineTaskRecord = current ?? {
      machine: spec.machine,
      task: spec.step,
      subject: spec.subject,
      status: 'Running',
      script: spec.script.name,
      scriptVersion: spec.script.version,
      inputHash,
      owner: me,
      updatedTime: new Date(nowInMs).toISOString(),
    };
    const next = { ...change({ ...base, inputHash }), updatedTime: new Date(nowInMs).toISOString() };
    const stored = await deps.tasks.putTask(next, current?.etag);
    if (stored) return stored;
    if (round >= MAX_CLAIM_ROUNDS) return next;
  }
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
