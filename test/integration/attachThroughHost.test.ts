import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { GUEST_SEED } from '../../dev/keyVault/seed';
import { findHostScript } from '../../shared/arc/scripts';
import { seedRequest } from '../support/seed';
import { type Stack, startStack } from '../support/stack';

interface MachineSnapshot {
  dockerNetworks: { name: string; driver: string; ipam: { config: { subnet: string; gateway: string }[] } }[];
  services: Record<string, { status: string; restartCount: number }>;
  scriptRuns: { script: string; parameters: Record<string, string> }[];
}

interface StepView {
  name: string;
  status: string;
  attempts: number;
  detail: Record<string, unknown>;
  lastError?: { code: string; retryable: boolean; message: string };
}

const PASSWORD = GUEST_SEED.contoso.password;
const PASSWORD_FORMS = [PASSWORD, Buffer.from(PASSWORD, 'utf8').toString('base64')];

/** The seed example with its container host VM reached through HV01 (PowerShell Direct), as a tenant VM without Arc. */
function throughHost(attachmentId: string, vmName: string, secretName: string, network: string, first: number) {
  return {
    ...seedRequest(),
    attachmentId,
    containerIps: { range: { first: `192.168.1.${first}`, last: `192.168.1.${first + 1}` } },
    containerHost: { vmName, through: 'hyperVHost', credential: { secretName } },
    network: { name: network, driver: 'l2bridge' },
  };
}

describe('steps 3-4 in a VM reached through its Hyper-V host (PowerShell Direct)', () => {
  let stack: Stack;
  const machine = async (name: string) =>
    (await stack.armAdmin('GET', `/_emulator/machines/${name}`)) as MachineSnapshot;
  const stepsOf = (status: Record<string, unknown>) => status.steps as StepView[];

  beforeAll(async () => {
    stack = await startStack({ env: { MACHINE_TASK_REUSE_MS: '0' }, waitForEndTimeoutInMs: 60_000 });
  }, 120_000);
  afterAll(() => stack.stop());
  beforeEach(async () => {
    await stack.nc.admin('POST', '/_emulator/reset');
    await stack.armAdmin('POST', '/_emulator/reset');
  });

  it('installs the plugin and creates the network in the VM through HV01, and detaches the same way', async () => {
    const request = throughHost('direct-1', 'ContainerHostVM1', 'contoso-guest', 'DirectNet', 101);
    const submitted = await stack.api('POST', '/tenants/contoso/attachments', request);
    expect(submitted.status).toBe(202);
    const status = await stack.waitForEnd('contoso', 'direct-1');
    expect(status).toMatchObject({ runtimeStatus: 'Completed' });
    const [, , plugin, network] = stepsOf(status);
    for (const step of [plugin!, network!]) {
      expect(step.detail).toMatchObject({ machine: 'HV01', exitCode: 0 });
      expect(step.detail.scriptVersion).toBe(findHostScript(String(step.detail.script))?.version);
      expect(step.detail.scriptResult).toMatchObject({ ok: true });
    }
    expect(plugin!.detail.script).toBe('install-private-cloud-plugin');
    expect(network!.detail.script).toBe('ensure-container-network');
    expect(status.result).toMatchObject({
      containerNetwork: {
        name: 'DirectNet',
        subnet: '192.168.1.0/24',
        gateway: '192.168.1.1',
        vmName: 'ContainerHostVM1',
      },
    });

    const host = await machine('HV01');
    const wrapped = host.scriptRuns.filter((run) => run.script === 'invoke-in-vm');
    expect(wrapped.map((run) => run.parameters.VmName)).toEqual(['ContainerHostVM1', 'ContainerHostVM1']);
    for (const run of wrapped) expect(run.parameters.GuestPassword).toBe('(protected)');
    const vm = await machine('ContainerHostVM1');
    expect(vm.scriptRuns.map((run) => run.script)).toEqual([
      'install-private-cloud-plugin',
      'ensure-container-network',
    ]);
    expect(vm.services.hns?.restartCount).toBe(1);
    expect(vm.dockerNetworks.find((n) => n.name === 'DirectNet')).toMatchObject({
      driver: 'l2bridge',
      ipam: { config: [{ subnet: '192.168.1.0/24', gateway: '192.168.1.1' }] },
    });

    const verification = await stack.api('GET', '/tenants/contoso/attachments/direct-1/verification');
    expect(verification.status).toBe(200);
    expect(verification.body).toMatchObject({ verification: { intact: true, missing: [] } });

    expect((await stack.api('DELETE', '/tenants/contoso/attachments/direct-1')).status).toBe(202);
    const detached = await stack.waitForEnd('contoso', 'direct-1');
    expect(detached).toMatchObject({ runtimeStatus: 'Detached' });
    expect((await machine('ContainerHostVM1')).dockerNetworks.map((n) => n.name)).not.toContain('DirectNet');

    // The guest password is in no answer, no stored row, and nowhere in the runner's output.
    const seen = [
      JSON.stringify(submitted.body),
      JSON.stringify(status),
      JSON.stringify(detached),
      verification.text,
      JSON.stringify(await stack.tableRows('attachments')),
      JSON.stringify(await stack.tableRows('machinetasks')),
      stack.output.join('\n'),
    ].join('\n');
    for (const form of PASSWORD_FORMS) expect(seen).not.toContain(form);
  });

  it('fails step 3 for good with GuestCredentialRejected when the guest refuses the password', async () => {
    await stack.vaultAdmin('PUT', '/_emulator/secrets/contoso-stale', {
      value: JSON.stringify({ userName: GUEST_SEED.contoso.userName, password: 'Stale-Passw0rd-91d2' }),
    });
    await stack.api(
      'POST',
      '/tenants/contoso/attachments',
      throughHost('direct-stale', 'ContainerHostVM1', 'contoso-stale', 'StaleNet', 111),
    );
    const status = await stack.waitForEnd('contoso', 'direct-stale');
    expect(status).toMatchObject({
      runtimeStatus: 'Failed',
      currentStep: 'installPrivateCloudPlugin',
      lastError: { code: 'GuestCredentialRejected', retryable: false },
    });
    expect(stepsOf(status)[2]).toMatchObject({ status: 'Failed', attempts: 1 });
    expect(JSON.stringify(status)).not.toContain('Stale-Passw0rd-91d2');
    expect((await machine('ContainerHostVM1')).scriptRuns).toEqual([]);
  });

  it('fails at step 1, having written nothing, when the secret does not exist', async () => {
    await stack.api(
      'POST',
      '/tenants/contoso/attachments',
      throughHost('direct-nosecret', 'ContainerHostVM1', 'contoso-missing', 'MissingNet', 113),
    );
    const status = await stack.waitForEnd('contoso', 'direct-nosecret');
    expect(status).toMatchObject({
      runtimeStatus: 'Failed',
      currentStep: 'addIpConfigurations',
      lastError: { code: 'SecretNotFound', retryable: false },
    });
    expect((status.lastError as { message: string }).message).toContain('containerHost (ContainerHostVM1)');
  });

  it('retries step 3 while the VM is off (VmNotRunning) and completes once it runs', async () => {
    await stack.armAdmin('PUT', '/_emulator/machines/HV01', { hostedVms: { ContainerHostVM2: { state: 'Off' } } });
    await stack.api(
      'POST',
      '/tenants/contoso/attachments',
      throughHost('direct-off', 'ContainerHostVM2', 'contoso-guest', 'OffNet', 115),
    );
    const retrying = await stack.eventually(
      async () => (await stack.api('GET', '/tenants/contoso/attachments/direct-off')).body,
      (body) => stepsOf(body)[2]?.lastError?.code === 'VmNotRunning',
      30_000,
    );
    expect(stepsOf(retrying)[2]?.lastError).toMatchObject({ code: 'VmNotRunning', retryable: true });
    expect(retrying.runtimeStatus).toBe('Running');
    await stack.armAdmin('PUT', '/_emulator/machines/HV01', { hostedVms: { ContainerHostVM2: { state: 'Running' } } });
    const status = await stack.waitForEnd('contoso', 'direct-off');
    expect(status).toMatchObject({ runtimeStatus: 'Completed' });
    expect((await machine('ContainerHostVM2')).dockerNetworks.map((n) => n.name)).toContain('OffNet');
  });

  it('fails step 3 for good with VmNotOnHost for a VM the host does not run', async () => {
    await stack.api(
      'POST',
      '/tenants/contoso/attachments',
      throughHost('direct-elsewhere', 'ContainerHostVM9', 'contoso-guest', 'ElsewhereNet', 117),
    );
    const status = await stack.waitForEnd('contoso', 'direct-elsewhere');
    expect(status).toMatchObject({
      runtimeStatus: 'Failed',
      currentStep: 'installPrivateCloudPlugin',
      lastError: { code: 'VmNotOnHost', retryable: false },
    });
  });
});
