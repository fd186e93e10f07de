import { RESULT_SENTINEL } from '../../../shared/arc/resultLine';
import type { RegistryValue } from '../SimulatedRegistry';
import type { SimulatedWindowsMachine } from '../SimulatedWindowsMachine';

/** What a script run leaves behind: its exit code and its two streams. */
export interface ScriptRunOutcome {
  exitCode: number;
  output: string;
  error: string;
}

/**
 * A failure the script raises itself (`New-StepFailure` in the .ps1): reported in the result line, exit code 1. Its
 * `details` (the script's `-Details`) follow `error` in the result line as fields of their own.
 */
export class ScriptFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly permanent: boolean,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** The bookkeeping every product script keeps while it runs. */
export interface ScriptContext {
  changed: boolean;
  out(line: string): void;
}

/**
 * Runs a script effect with the product scripts' shared frame: their try/catch, the stderr line `code: message` on
 * failure, and the result line (`script`, `version`, `ok`, `changed`, then the effect's own fields) printed last.
 */
export function runScript(
  script: { name: string; version: number },
  body: (context: ScriptContext) => Record<string, unknown>,
): ScriptRunOutcome {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const context: ScriptContext = { changed: false, out: (line) => stdout.push(line) };
  const resultLine = (fields: Record<string, unknown>) =>
    `${RESULT_SENTINEL} ${JSON.stringify({ script: script.name, version: script.version, ...fields })}`;
  try {
    const fields = body(context);
    stdout.push(resultLine({ ok: true, changed: context.changed, ...fields }));
    return { exitCode: 0, output: joinLines(stdout), error: joinLines(stderr) };
  } catch (error) {
    if (!(error instanceof ScriptFailure)) throw error;
    stderr.push(`${error.code}: ${error.message}`);
    const report = { code: error.code, message: error.message, permanent: error.permanent };
    stdout.push(resultLine({ ok: false, changed: context.changed, error: report, ...error.details }));
    return { exitCode: 1, output: joinLines(stdout), error: joinLines(stderr) };
  }
}

function joinLines(lines: readonly string[]): string {
  return lines.map((line) => `${line}\r\n`).join('');
}

/** A registry value as the scripts' tables write it: key under HKLM, .NET RegistryValueKind name. */
export interface DesiredValue {
  key: string;
  name: string;
  kind: 'String' | 'DWord' | 'MultiString';
  data: string | number | readonly string[];
}

function toRegistryValue(value: DesiredValue): RegistryValue {
  if (value.kind === 'DWord') return { type: 'REG_DWORD', data: Number(value.data) };
  if (value.kind === 'MultiString') return { type: 'REG_MULTI_SZ', data: [...(value.data as readonly string[])] };
  return { type: 'REG_SZ', data: String(value.data) };
}

/** The scripts' Test-RegistryValue: same type, and data equal as text (case-sensitive, MULTI_SZ joined). */
export function hasRegistryValue(machine: SimulatedWindowsMachine, value: DesiredValue): boolean {
  return registryValueState(machine, value) === 'Expected';
}

/** The inspection scripts' Get-RegistryValueState: the same comparison, telling a missing value from a different one. */
export function registryValueState(
  machine: SimulatedWindowsMachine,
  value: DesiredValue,
): 'Expected' | 'Missing' | 'Different' {
  const current = machine.registry.getValue(`HKLM\\${value.key}`, value.name);
  if (current === undefined) return 'Missing';
  const wanted = toRegistryValue(value);
  if (current.type !== wanted.type) return 'Different';
  const same = [current.data].flat().map(String).join('\n') === [wanted.data].flat().map(String).join('\n');
  return same ? 'Expected' : 'Different';
}

/** The inspection scripts' report of each value of a table: `{ key, name, state }`, the unnamed value as `(default)`. */
export function registryReport(
  machine: SimulatedWindowsMachine,
  values: readonly DesiredValue[],
): { key: string; name: string; state: 'Expected' | 'Missing' | 'Different' }[] {
  return values.map((value) => ({
    key: value.key,
    name: value.name === '' ? '(default)' : value.name,
    state: registryValueState(machine, value),
  }));
}

/** A service as the inspection scripts report it: `{ name, installed, status }`, status null when not installed. */
export function serviceReport(
  machine: SimulatedWindowsMachine,
  name: string,
): { name: string; installed: boolean; status: string | null } {
  const service = machine.service(name);
  return { name, installed: service !== undefined, status: service?.status ?? null };
}

/** The scripts' Set-RegistryValue: writes only when different, and says so. Returns whether it wrote. */
export function setRegistryValue(
  machine: SimulatedWindowsMachine,
  context: ScriptContext,
  value: DesiredValue,
): boolean {
  if (hasRegistryValue(machine, value)) return false;
  machine.registry.setValue(`HKLM\\${value.key}`, value.name, toRegistryValue(value));
  context.changed = true;
  context.out(`set HKLM\\${value.key}\\${value.name === '' ? '(default)' : value.name} (${value.kind})`);
  return true;
}

/** The restart-only-on-change rule both registry scripts follow, and their check that the service runs. */
export function settleService(machine: SimulatedWindowsMachine, context: ScriptContext, serviceName: string): string {
  let action = 'none';
  if (context.changed) {
    machine.restartService(serviceName);
    action = 'restarted';
    context.out(`restarted service ${serviceName}`);
  } else if (machine.service(serviceName)?.status !== 'Running') {
    machine.setServiceStatus(serviceName, 'Running');
    context.changed = true;
    action = 'started';
    context.out(`started service ${serviceName}`);
  }
  return action;
}

export function verifyRegistryValues(machine: SimulatedWindowsMachine, values: readonly DesiredValue[]): void {
  for (const value of values) {
    if (!hasRegistryValue(machine, value)) {
      throw new ScriptFailure(
        'VerificationFailed',
        `HKLM\\${value.key}\\${value.name} does not hold the expected ${value.kind} value after writing it.`,
        false,
      );
    }
  }
}
