import { isRemoteServiceError, RemoteServiceError, StepError } from '../errors';
import type { OperationOptions } from '../http/azurePipeline';
import { type MachineRef, parseMachineRef } from '../model/machineRef';
import type { RunCommand } from './armResources';
import { type GuestTarget, invokeInVmScript, wrapForGuest } from './guestRun';
import { assertMachineCanRunCommands } from './machineReadiness';
import { parseResultLine, type ScriptResult } from './resultLine';
import type { RunCommandClient } from './RunCommandClient';
import { findHostScript, type HostScript } from './scripts';

export { runCommandName } from './runCommandName';

/** The parts of `RunCommandClient` the lifecycle uses, so tests can pass a fake. */
export type RemoteRunClient = Pick<
  RunCommandClient,
  'getMachine' | 'createOrReplaceRunCommand' | 'getRunCommand' | 'deleteRunCommand'
>;

/** What a queue handler stores between start and checks. Plain JSON. */
export interface RemoteRunHandle {
  machine: MachineRef;
  runCommandName: string;
  script: string;
  scriptVersion: number;
  /** ISO 8601 time of the PUT. */
  startedAt: string;
  /** The VM the script ran in, through `machine` (its Hyper-V host) with PowerShell Direct. Never the credential. */
  guest?: { vmName: string };
}

export type RemoteRunProgress =
  | { status: 'running'; handle: RemoteRunHandle; checkAfterInMs: number }
  | { status: 'succeeded'; handle: RemoteRunHandle; exitCode: number; result: Record<string, unknown> };

export interface StartRemoteRunArgs<TInput> {
  machine: MachineRef;
  script: HostScript<string, TInput>;
  input: TInput;
  /** From `runCommandName()`: the same name for a redelivered start, a new one per attempt. */
  runCommandName: string;
  /** Defaults to the script's own. */
  timeoutInSeconds?: number;
  /** Run the script in this VM of `machine` (a Hyper-V host) through `invoke-in-vm.ps1`, not on `machine` itself. */
  guest?: GuestTarget;
}

export interface RemoteRunOptions extends OperationOptions {
  /** Least wait before the next check while the run is in flight. Default 10 s. */
  pollIntervalInMs?: number;
}

export interface CheckRemoteRunOptions extends RemoteRunOptions {
  /**
   * A run not finished this long after `startedAt` (e.g. its machine went offline mid-run) is deleted and reported
   * as retryable `RunCommandNoProgress`. Default: the script's timeout plus 15 minutes.
   */
  maxRunDurationInMs?: number;
}

const DEFAULT_POLL_INTERVAL_IN_MS = 10_000;
const STUCK_GRACE_IN_MS = 15 * 60_000;
const TERMINAL_STATES = new Set(['Succeeded', 'Failed', 'TimedOut', 'Canceled']);

/**
 * Starts a product script on an Arc machine without waiting for it: validates the input, checks that the machine
 * can take a run command (Connected, agent ≥ 1.33, handler not blocked), then PUTs the run command. A redelivered
 * start PUTs the same name again, which re-runs the (idempotent) script.
 */
export async function startRemoteRun<TInput>(
  client: RemoteRunClient,
  args: StartRemoteRunArgs<TInput>,
  options: RemoteRunOptions = {},
): Promise<RemoteRunProgress> {
  const machine = parseMachineRef(args.machine);
  const parameters = args.script.buildParameters(args.input);
  const timeoutInSeconds =
    args.timeoutInSeconds ??
    args.script.defaultTimeoutInSeconds + (args.guest ? invokeInVmScript.extraTimeoutInSeconds : 0);
  if (!Number.isInteger(timeoutInSeconds) || timeoutInSeconds < 1) {
    throw new RangeError(`timeoutInSeconds must be a positive whole number, got ${timeoutInSeconds}`);
  }
  const operation = { abortSignal: options.abortSignal, timeoutInMs: options.timeoutInMs };

  const arcMachine = await client.getMachine(machine, operation);
  assertMachineCanRunCommands(arcMachine);

  const body = args.guest
    ? wrapForGuest({ text: args.script.text, parameters }, args.guest)
    : { script: args.script.text, parameters };
  const put = await client.createOrReplaceRunCommand(
    machine,
    args.runCommandName,
    { location: arcMachine.location, ...body, timeoutInSeconds },
    operation,
  );
  const handle: RemoteRunHandle = {
    machine,
    runCommandName: args.runCommandName,
    script: args.script.name,
    scriptVersion: args.script.version,
    startedAt: new Date().toISOString(),
    ...(args.guest ? { guest: { vmName: args.guest.vmName } } : {}),
  };
  const pollIntervalInMs = options.pollIntervalInMs ?? DEFAULT_POLL_INTERVAL_IN_MS;
  const progress = await evaluate(client, handle, put.runCommand, options);
  if (progress.status === 'running') {
    return { ...progress, checkAfterInMs: Math.max(put.retryAfterInMs ?? 0, pollIntervalInMs) };
  }
  return progress;
}

/**
 * Looks at a started run once. In flight: `running` with when to look again. Finished well (Succeeded, exit code 0,
 * a result line from this script saying ok): `succeeded` with the parsed result line. Anything else throws: the
 * script's own error code and message as `StepError` (retryable unless the script says the problem is permanent),
 * or `RemoteServiceError` (source `RunCommand`) when the run itself failed, timed out or was canceled. A finished
 * run command is deleted either way.
 */
export async function checkRemoteRun(
  client: RemoteRunClient,
  handle: RemoteRunHandle,
  options: CheckRemoteRunOptions = {},
): Promise<RemoteRunProgress> {
  let runCommand: RunCommand;
  try {
    runCommand = await client.getRunCommand(handle.machine, handle.runCommandName, {
      abortSignal: options.abortSignal,
      timeoutInMs: options.timeoutInMs,
    });
  } catch (error) {
    if (isRemoteServiceError(error) && error.statusCode === 404) {
      throw new StepError(
        `Run command ${handle.runCommandName} no longer exists on ${handle.machine.machineName}; start the step again`,
        { source: 'RunCommand', code: 'RunCommandNotFound', retryable: true, cause: error },
      );
    }
    throw error;
  }
  return evaluate(client, handle, runCommand, options);
}

async function evaluate(
  client: RemoteRunClient,
  handle: RemoteRunHandle,
  runCommand: RunCommand,
  options: CheckRemoteRunOptions,
): Promise<RemoteRunProgress> {
  const view = runCommand.instanceView;
  const state = view?.executionState ?? 'Unknown';
  const where = handle.guest
    ? `${handle.script} v${handle.scriptVersion} in VM ${handle.guest.vmName} through ${handle.machine.machineName}`
    : `${handle.script} v${handle.scriptVersion} on ${handle.machine.machineName}`;

  if (!TERMINAL_STATES.has(state)) {
    if (runCommand.provisioningState === 'Failed') {
      await deleteQuietly(client, handle);
      throw runFailure('RunCommandFailed', `Run command for ${where} failed to start: ${describe(runCommand)}`);
    }
    const script = findHostScript(handle.script);
    const maxRunDurationInMs =
      options.maxRunDurationInMs ??
      ((script?.defaultTimeoutInSeconds ?? 600) + (handle.guest ? invokeInVmScript.extraTimeoutInSeconds : 0)) * 1000 +
        STUCK_GRACE_IN_MS;
    if (Date.now() - Date.parse(handle.startedAt) > maxRunDurationInMs) {
      await deleteQuietly(client, handle);
      throw runFailure(
        'RunCommandNoProgress',
        `Run command for ${where} is still ${state} after its time; start it again`,
      );
    }
    return { status: 'running', handle, checkAfterInMs: options.pollIntervalInMs ?? DEFAULT_POLL_INTERVAL_IN_MS };
  }

  await deleteQuietly(client, handle);
  if (state === 'TimedOut') throw runFailure('RunCommandTimedOut', `Run command for ${where} timed out`);
  if (state === 'Canceled') throw runFailure('RunCommandCanceled', `Run command for ${where} was canceled`);

  const result = parseResultLine(view?.output);
  const ours = result !== undefined && result.script === handle.script && result.version === handle.scriptVersion;
  if (state === 'Succeeded' && view?.exitCode === 0 && ours && result.ok) {
    return { status: 'succeeded', handle, exitCode: 0, result };
  }
  // The wrapper's own verdict on the way into the VM (the credential refused, the VM off or elsewhere).
  const wrapper =
    handle.guest !== undefined &&
    result !== undefined &&
    result.script === invokeInVmScript.name &&
    result.version === invokeInVmScript.version;
  if ((ours || wrapper) && result.error) {
    throw new StepError(result.error.message, {
      source: 'RunCommand',
      code: result.error.code,
      retryable: !result.error.permanent,
    });
  }
  if (state === 'Succeeded' && view?.exitCode === 0) {
    // The script always prints its result line last; without it nothing is known, and a re-run is harmless.
    throw new StepError(resultLineProblem(result, where), {
      source: 'RunCommand',
      code: result === undefined ? 'ResultLineMissing' : 'ResultLineMismatch',
      retryable: true,
    });
  }
  // No exit code means the script never ran to an end (the handler or agent failed); otherwise the script died.
  const code = view?.exitCode === undefined ? 'RunCommandFailed' : 'ScriptFailed';
  throw runFailure(
    code,
    `${where} ended ${state} with exit code ${view?.exitCode ?? '(none)'}: ${describe(runCommand)}`,
  );
}

function resultLineProblem(result: ScriptResult | undefined, where: string): string {
  if (result === undefined) return `${where} succeeded but its output has no readable result line`;
  return `${where} printed a result line for ${result.script} v${result.version} (ok: ${result.ok})`;
}

function runFailure(code: string, message: string): RemoteServiceError {
  // Run Command failures (not the script's own verdict) may pass: the machine, agent or handler can recover.
  return new RemoteServiceError(message, { source: 'RunCommand', code, retryable: true });
}

/** A short account of a failed run: ARM's message and the tail of the error stream. */
function describe(runCommand: RunCommand): string {
  const view = runCommand.instanceView;
  const parts = [view?.executionMessage, view?.error?.trim().slice(-500)].filter(
    (part) => part !== undefined && part !== '',
  );
  return parts.length > 0 ? parts.join(' | ') : `provisioning state ${runCommand.provisioningState}`;
}

async function deleteQuietly(client: RemoteRunClient, handle: RemoteRunHandle): Promise<void> {
  try {
    await client.deleteRunCommand(handle.machine, handle.runCommandName);
  } catch {
    // Housekeeping only: the outcome is already known, and a leftover is replaced by the next PUT of that name.
  }
}
