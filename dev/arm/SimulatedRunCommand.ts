import { runScriptOnMachine } from './scriptEffects';
import type { RunCommandOutcome, SimulatedWindowsMachine } from './SimulatedWindowsMachine';

export interface RunCommandParameter {
  name: string;
  value: string;
}

/** A validated PUT body. */
export interface RunCommandRequest {
  location: string;
  tags?: Record<string, string>;
  source: { script?: string; scriptUri?: string; commandId?: string };
  parameters: RunCommandParameter[];
  protectedParameters: RunCommandParameter[];
  asyncExecution: boolean;
  timeoutInSeconds: number;
  runAsUser?: string;
}

export type ExecutionState = 'Unknown' | 'Pending' | 'Running' | 'Failed' | 'Succeeded' | 'TimedOut' | 'Canceled';

const HANDLER_EXTENSION = 'microsoft.cplat.core/runcommandhandlerwindows';

/**
 * One run command resource and its current run: Pending for the first third of the run time, Running until the end,
 * then terminal, at which point the script's effect is applied to the machine. Time only moves when the state is
 * looked at (`advance`), so nothing runs in the background.
 */
export class SimulatedRunCommand {
  readonly name: string;
  readonly machine: SimulatedWindowsMachine;
  request: RunCommandRequest;
  /** Bumped by every PUT: an async operation of an older generation was superseded. */
  generation = 0;
  provisioningState = 'Creating';
  executionState: ExecutionState = 'Pending';
  exitCode: number | undefined;
  output = '';
  error = '';
  executionMessage = '';
  startTime: string | undefined;
  endTime: string | undefined;
  #startAtInMs = 0;
  #outcome: RunCommandOutcome | undefined;
  #blockedReason: string | undefined;
  #finished = false;

  constructor(name: string, machine: SimulatedWindowsMachine, request: RunCommandRequest, nowInMs: number) {
    this.name = name;
    this.machine = machine;
    this.request = request;
    this.restart(request, nowInMs, true);
  }

  get finished(): boolean {
    return this.#finished;
  }

  /** Time at which the run ends if the machine stays connected. */
  dueAtInMs(durationInMs: number): number {
    return this.#startAtInMs + Math.min(durationInMs, this.#timeoutInMs ?? Infinity);
  }

  /** `timeoutInSeconds` stops a run that takes longer; 0 means no limit. */
  get #timeoutInMs(): number | undefined {
    return this.request.timeoutInSeconds > 0 ? this.request.timeoutInSeconds * 1000 : undefined;
  }

  /** A PUT: replaces the definition and starts a new run (the earlier one, if still going, is stopped). */
  restart(request: RunCommandRequest, nowInMs: number, isNew = false): void {
    this.request = request;
    this.generation++;
    this.provisioningState = isNew ? 'Creating' : 'Updating';
    this.executionState = 'Pending';
    this.exitCode = undefined;
    this.output = '';
    this.error = '';
    this.executionMessage = '';
    this.startTime = undefined;
    this.endTime = undefined;
    this.#startAtInMs = nowInMs;
    this.#finished = false;
    // Switches apply to runs started after they were set.
    this.#outcome = this.machine.runCommandOutcome;
    this.#blockedReason = blockedReason(this.machine);
  }

  advance(nowInMs: number, durationInMs: number): void {
    if (this.#finished) return;
    if (this.#blockedReason !== undefined) {
      this.#finishWithHandlerFailure(this.#blockedReason, nowInMs);
      return;
    }
    if (this.machine.status !== 'Connected') {
      // The agent picks the run up only once it is connected again.
      this.#startAtInMs = nowInMs;
      return;
    }
    const runningAtInMs = Math.min(this.#startAtInMs + durationInMs / 3, this.dueAtInMs(durationInMs));
    if (nowInMs < runningAtInMs) return;
    this.startTime ??= new Date(runningAtInMs).toISOString();
    if (nowInMs < this.dueAtInMs(durationInMs)) {
      this.executionState = 'Running';
      if (this.request.asyncExecution) this.provisioningState = 'Succeeded';
      return;
    }
    this.#finish(durationInMs);
  }

  #finish(durationInMs: number): void {
    this.#finished = true;
    this.endTime = new Date(this.dueAtInMs(durationInMs)).toISOString();
    this.provisioningState = 'Succeeded';
    const timedOut = this.#timeoutInMs !== undefined && durationInMs > this.#timeoutInMs;
    const outcome = timedOut ? 'TimedOut' : this.#outcome;
    if (outcome === 'TimedOut') {
      this.executionState = 'TimedOut';
      this.executionMessage = `The script did not finish within ${this.request.timeoutInSeconds} seconds and was stopped.`;
    } else if (outcome === 'Canceled') {
      this.executionState = 'Canceled';
      this.executionMessage = 'The run was canceled.';
    } else if (outcome === 'Failed') {
      this.provisioningState = 'Failed';
      this.executionState = 'Failed';
      this.executionMessage = 'The Run Command handler failed to run the script (emulated fault).';
    } else if (outcome !== undefined) {
      this.#complete({
        exitCode: outcome.exitCode,
        output: 'emulated script output without a result line\r\n',
        error: outcome.exitCode === 0 ? '' : `emulated failure: the script exited with ${outcome.exitCode}\r\n`,
      });
    } else {
      const script = this.request.source.script;
      this.#complete(
        script === undefined
          ? { exitCode: 1, output: '', error: 'The ARM emulator runs inline scripts only (source.script).\r\n' }
          : runScriptOnMachine(this.machine, script, [...this.request.parameters, ...this.request.protectedParameters]),
      );
    }
  }

  #complete(result: { exitCode: number; output: string; error: string }): void {
    this.exitCode = result.exitCode;
    this.executionState = result.exitCode === 0 ? 'Succeeded' : 'Failed';
    this.output = tail(result.output, this.machine.outputTailBytes);
    this.error = tail(result.error, this.machine.outputTailBytes);
  }

  #finishWithHandlerFailure(message: string, nowInMs: number): void {
    this.#finished = true;
    this.provisioningState = 'Failed';
    this.executionState = 'Failed';
    this.executionMessage = message;
    this.endTime = new Date(nowInMs).toISOString();
  }
}

function blockedReason(machine: SimulatedWindowsMachine): string | undefined {
  if (machine.extensionsBlockList.some((entry) => entry.toLowerCase() === HANDLER_EXTENSION)) {
    return `Extension 'Microsoft.CPlat.Core/RunCommandHandlerWindows' is blocked by the agent's extensionsBlockList.`;
  }
  const [major = 0, minor = 0] = machine.agentVersion.split('.').map(Number);
  if (major < 1 || (major === 1 && minor < 33)) {
    return `Run Command needs Connected Machine agent 1.33 or later; this machine runs ${machine.agentVersion}.`;
  }
  return undefined;
}

/** The last `bytes` bytes of `text` in UTF-8, as Run Command keeps them. */
export function tail(text: string, bytes: number): string {
  const buffer = Buffer.from(text, 'utf8');
  return buffer.length <= bytes ? text : buffer.subarray(buffer.length - bytes).toString('utf8');
}
