import { gunzipSync } from 'node:zlib';

import { parseResultLine } from '../../../shared/arc/resultLine';
import type { SimulatedWindowsMachine } from '../SimulatedWindowsMachine';
import { runScript, ScriptFailure, type ScriptRunOutcome } from './scriptRun';

const SCRIPT = { name: 'invoke-in-vm', version: 1 };

type RunInner = (
  machine: SimulatedWindowsMachine,
  scriptText: string,
  parameters: readonly { name: string; value: string }[],
) => ScriptRunOutcome;

/**
 * `invoke-in-vm.ps1` on a Hyper-V host: finds the VM among the host's, checks that it runs, answers PowerShell Direct
 * and accepts the guest account, then runs the inner script in it; the inner script's output (its result line last)
 * is the run's output, exit code 0 exactly when that line says ok. The path's own failures carry its codes.
 */
export function invokeInVm(
  host: SimulatedWindowsMachine,
  parameters: Readonly<Record<string, string>>,
  runInner: RunInner,
): ScriptRunOutcome {
  const fail = (code: string, message: string, permanent: boolean) =>
    runScript(SCRIPT, () => {
      throw new ScriptFailure(code, message, permanent);
    });
  const vmName = parameters.VmName ?? '';
  let innerText: string;
  let innerParameters: Record<string, unknown>;
  try {
    innerText = gunzipSync(Buffer.from(parameters.InnerScript ?? '', 'base64')).toString('utf8');
    innerParameters = JSON.parse(Buffer.from(parameters.InnerParameters ?? '', 'base64').toString('utf8')) as Record<
      string,
      unknown
    >;
  } catch (error) {
    return fail('ScriptFailed', `The inner script or its parameters could not be decoded: ${String(error)}`, false);
  }
  if (host.role !== 'HyperVHost') {
    return fail(
      'PowerShellDirectUnavailable',
      'The Hyper-V PowerShell module is not on this host, so PowerShell Direct cannot be used from it.',
      true,
    );
  }
  const vm = host.hostedVms.get(vmName.toLowerCase());
  if (!vm) {
    return fail(
      'VmNotOnHost',
      `No VM named ${vmName} runs on this Hyper-V host; PowerShell Direct reaches only the VMs of the host it runs on.`,
      true,
    );
  }
  if (vm.state !== 'Running') {
    return fail('VmNotRunning', `VM ${vmName} is ${vm.state}; it must be Running for PowerShell Direct.`, false);
  }
  if (!vm.powerShellDirect) {
    return fail(
      'PowerShellDirectUnavailable',
      `PowerShell Direct could not reach the guest of VM ${vmName} (host and guest need Windows Server 2016 or later, and the guest must have finished starting): The operation timed out.`,
      false,
    );
  }
  const password = Buffer.from(parameters.GuestPassword ?? '', 'base64').toString('utf8');
  const userName = parameters.GuestUserName ?? '';
  if (userName.toLowerCase() !== vm.account.userName.toLowerCase() || password !== vm.account.password) {
    return fail(
      'GuestCredentialRejected',
      `The guest of VM ${vmName} refused the credential for ${userName}; correct the Key Vault secret or the account in the VM.`,
      true,
    );
  }
  const inner = runInner(
    vm.machine,
    innerText,
    Object.entries(innerParameters).map(([name, value]) => ({ name, value: String(value) })),
  );
  const result = parseResultLine(inner.output);
  if (!result) {
    const reason = inner.error.trim().split(/\r?\n/).at(-1) ?? '';
    return fail('GuestResultMissing', `The script in VM ${vmName} ended without its result line. ${reason}`, false);
  }
  return { exitCode: result.ok ? 0 : 1, output: inner.output, error: inner.error };
}
