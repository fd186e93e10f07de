import type { GuestTarget } from '../arc/guestRun';
import {
  checkRemoteRun,
  type RemoteRunClient,
  type RemoteRunProgress,
  runCommandName,
  startRemoteRun,
} from '../arc/remoteRun';
import type { HostScript } from '../arc/scripts';
import { StepError } from '../errors';
import type { MachineRef } from '../model/machineRef';

export interface RunToEndOptions {
  pollIntervalInMs: number;
  /** How long the caller can wait for the run (an HTTP request's budget). */
  timeoutInMs: number;
  nowInMs: () => number;
  sleep: (ms: number) => Promise<void>;
  /** Who runs it, in the run command's name next to the script's (default `verify`). */
  purpose?: string;
  /** The error code when the budget runs out before the run ends (default `RunTimedOut`). */
  timeoutCode?: string;
  /** Run it in this VM of `machine` (its Hyper-V host) with PowerShell Direct. */
  guest?: GuestTarget;
}

/**
 * Runs a product script to its end through Run Command within the caller's budget, outside any attachment: a
 * verification's read-only inspection, or an operator's change. Answers the script's result line; throws the
 * script's own error, Run Command's, or (retryable) `timeoutCode` when the budget runs out first, in which case the
 * run may still be going on the machine.
 */
export async function runScriptToEnd<TInput>(
  client: RemoteRunClient,
  machine: MachineRef,
  script: HostScript<string, TInput>,
  input: TInput,
  options: RunToEndOptions,
): Promise<Record<string, unknown>> {
  const startedAt = options.nowInMs();
  const name = runCommandName({
    attachmentId: options.purpose ?? 'verify',
    step: script.name,
    attempt: Math.floor(startedAt / 1000),
  });
  let progress: RemoteRunProgress = await startRemoteRun(
    client,
    { machine, script, input, runCommandName: name, ...(options.guest && { guest: options.guest }) },
    { pollIntervalInMs: options.pollIntervalInMs },
  );
  while (progress.status === 'running') {
    if (options.nowInMs() - startedAt > options.timeoutInMs) {
      throw new StepError(`${script.name} on ${machine.machineName} did not finish in ${options.timeoutInMs} ms.`, {
        source: 'RunCommand',
        code: options.timeoutCode ?? 'RunTimedOut',
        retryable: true,
      });
    }
    await options.sleep(progress.checkAfterInMs);
    progress = await checkRemoteRun(client, progress.handle, { pollIntervalInMs: options.pollIntervalInMs });
  }
  return progress.result;
}
