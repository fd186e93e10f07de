import { gunzipSync } from 'node:zlib';

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { parseParamBlock } from '../../../dev/arm/scriptEffects/powershellParameters';
import { GUEST_SEED } from '../../../dev/keyVault/seed';
import { guestParameterPatterns, invokeInVmScript, wrapForGuest } from '../../../shared/arc/guestRun';
import { checkRemoteRun, type RemoteRunProgress, runCommandName, startRemoteRun } from '../../../shared/arc/remoteRun';
import { RESULT_SENTINEL } from '../../../shared/arc/resultLine';
import {
  ensureContainerNetworkScript,
  installPrivateCloudPluginScript,
  loadScriptText,
} from '../../../shared/arc/scripts';
import { machine, startTestArmEmulator, type TestArmEmulator } from '../../dev/arm/harness';
import { rejectionOf } from '../../support/rejection';

const guest = (password: string = GUEST_SEED.contoso.password, vmName = 'ContainerHostVM1') => ({
  vmName,
  credential: { userName: GUEST_SEED.contoso.userName, password },
});
const network = {
  networkName: 'GuestNet',
  driver: 'l2bridge',
  subnet: '192.168.1.0/24',
  gateway: '192.168.1.1',
} as const;

describe('invoke-in-vm.ps1 and its wrapping', () => {
  it('has the shared frame and carries the TS patterns, case-sensitive, on every parameter', () => {
    const text = invokeInVmScript.text;
    expect(text.split(/\r?\n/)[0]).toBe(invokeInVmScript.marker);
    expect(text).toContain("$ScriptName = 'invoke-in-vm'");
    expect(text).toContain('$ScriptVersion = 1');
    expect(text).toContain(`$Sentinel = '${RESULT_SENTINEL}'`);
    expect(text).toContain("$ErrorActionPreference = 'Stop'");
    expect(text).toMatch(/exit 0\s*\n\}\s*\ncatch \{/);
    expect([...text].every((c) => c === '\t' || c === '\n' || c === '\r' || (c >= ' ' && c <= '~'))).toBe(true);
    const declared = parseParamBlock(text);
    expect(declared.map((p) => p.name)).toEqual(Object.keys(guestParameterPatterns));
    for (const parameter of declared) {
      expect(parameter.mandatory, parameter.name).toBe(true);
      expect(parameter.patternSource).toBe(
        guestParameterPatterns[parameter.name as keyof typeof guestParameterPatterns],
      );
      expect(parameter.pattern?.flags).toBe('');
    }
    // The shared helpers are the other scripts' own, character for character.
    const helpers = (script: string) =>
      ['Write-ResultLine', 'New-StepFailure'].map(
        (name) => new RegExp(`function ${name} \\{[\\s\\S]*?\\n\\}`).exec(script)?.[0],
      );
    expect(helpers(text)).toEqual(helpers(loadScriptText('remove-private-cloud-plugin.ps1')));
  });

  it('sends the inner script and its parameters as parameters, and the password only as a protected one', () => {
    const inner = {
      text: ensureContainerNetworkScript.text,
      parameters: ensureContainerNetworkScript.buildParameters(network),
    };
    const body = wrapForGuest(inner, guest());
    expect(body.script).toBe(invokeInVmScript.text);
    const byName = Object.fromEntries(body.parameters.map((p) => [p.name, p.value]));
    expect(Object.keys(byName)).toEqual(['InnerScript', 'InnerParameters', 'VmName', 'GuestUserName']);
    expect(gunzipSync(Buffer.from(byName.InnerScript!, 'base64')).toString('utf8')).toBe(
      ensureContainerNetworkScript.text,
    );
    expect(JSON.parse(Buffer.from(byName.InnerParameters!, 'base64').toString('utf8'))).toEqual({
      NetworkName: 'GuestNet',
      Driver: 'l2bridge',
      Subnet: '192.168.1.0/24',
      Gateway: '192.168.1.1',
    });
    expect(byName.VmName).toBe('ContainerHostVM1');
    expect(body.protectedParameters).toEqual([
      { name: 'GuestPassword', value: Buffer.from(GUEST_SEED.contoso.password).toString('base64') },
    ]);
    expect(JSON.stringify(body.parameters)).not.toContain(GUEST_SEED.contoso.password);
    for (const { name, value } of [...body.parameters, ...body.protectedParameters]) {
      expect(new RegExp(guestParameterPatterns[name as keyof typeof guestParameterPatterns]).test(value), name).toBe(
        true,
      );
    }
  });

  it.each([
    ['vm;calc', 'vmName'],
    ['-vm', 'vmName'],
    ['vm name', 'vmName'],
    ['a'.repeat(65), 'vmName'],
  ])('refuses VM name %j, naming the field', (vmName, field) => {
    expect(() => wrapForGuest({ text: '', parameters: [] }, guest(undefined, vmName))).toThrow(
      expect.objectContaining({ code: 'InvalidGuestCredential', issues: [expect.objectContaining({ field })] }),
    );
  });

  it('refuses a user name or password it cannot pass, naming the field and never the password', () => {
    const secret = 'p'.repeat(1025);
    let error: unknown;
    try {
      wrapForGuest({ text: '', parameters: [] }, { vmName: 'vm1', credential: { userName: 'a b', password: secret } });
    } catch (caught) {
      error = caught;
    }
    expect(error).toMatchObject({
      issues: [{ field: 'credential.userName' }, { field: 'credential.password' }],
    });
    expect(JSON.stringify(error)).not.toContain(secret);
    expect(String((error as Error).message)).not.toContain(secret);
  });
});

describe('a remote run in a VM through its Hyper-V host, against the ARM emulator', () => {
  let arm: TestArmEmulator;
  let attempt = 0;
  beforeAll(async () => {
    arm = await startTestArmEmulator({ runDurationInMs: 30 });
  });
  afterAll(() => arm.close());
  beforeEach(() => arm.reset());

  async function run(target = guest()) {
    let progress: RemoteRunProgress = await startRemoteRun(
      arm.client(),
      {
        machine: machine('HV01'),
        script: installPrivateCloudPluginScript,
        input: {},
        runCommandName: runCommandName({
          attachmentId: 'att-g',
          step: 'installPrivateCloudPlugin',
          attempt: ++attempt,
        }),
        guest: target,
      },
      { pollIntervalInMs: 15 },
    );
    while (progress.status === 'running') {
      await new Promise((resolve) => setTimeout(resolve, 15));
      progress = await checkRemoteRun(arm.client(), progress.handle, { pollIntervalInMs: 15 });
    }
    return progress;
  }

  it('runs the inner script in the VM and reads its result line as its own', async () => {
    const done = await run();
    expect(done).toMatchObject({
      status: 'succeeded',
      handle: {
        machine: machine('HV01'),
        script: 'install-private-cloud-plugin',
        guest: { vmName: 'ContainerHostVM1' },
      },
      result: { script: 'install-private-cloud-plugin', ok: true, changed: true },
    });
    expect(JSON.stringify(done.handle)).not.toContain(GUEST_SEED.contoso.password);
    const vm = await arm.inspect('ContainerHostVM1');
    expect((vm.scriptRuns as { script: string }[]).map((r) => r.script)).toEqual(['install-private-cloud-plugin']);
    const host = await arm.inspect('HV01');
    expect(JSON.stringify(host)).not.toContain(GUEST_SEED.contoso.password);
    expect(JSON.stringify(host)).not.toContain(Buffer.from(GUEST_SEED.contoso.password).toString('base64'));
  });

  it.each([
    ['a wrong password', () => guest('not-the-password'), undefined, 'GuestCredentialRejected', false],
    ['a VM the host does not run', () => guest(undefined, 'ContainerHostVM9'), undefined, 'VmNotOnHost', false],
    ['a VM that is off', () => guest(), { ContainerHostVM1: { state: 'Off' } }, 'VmNotRunning', true],
    [
      'a guest that does not answer PowerShell Direct',
      () => guest(),
      { ContainerHostVM1: { powerShellDirect: false } },
      'PowerShellDirectUnavailable',
      true,
    ],
  ])('fails on %s with the path own code', async (_what, target, hostedVms, code, retryable) => {
    if (hostedVms) await arm.setMachine('HV01', { hostedVms });
    const error = (await rejectionOf(run(target()))) as Record<string, unknown>;
    expect(error).toMatchObject({ name: 'StepError', source: 'RunCommand', code, retryable });
    expect(String(error.message)).not.toContain('not-the-password');
    expect((await arm.inspect('ContainerHostVM1')).scriptRuns).toEqual([]);
  });
});
