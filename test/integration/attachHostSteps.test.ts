import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { findHostScript } from '../../shared/arc/scripts';
import { seedRequest } from '../support/seed';
import { type Stack, startStack } from '../support/stack';

interface RegistryValue {
  type: string;
  data: unknown;
}

interface MachineSnapshot {
  registry: Record<string, Record<string, RegistryValue>>;
  firewallRules: { displayName: string; direction: string; protocol: string; localPort: string; action: string }[];
  services: Record<string, { status: string; restartCount: number }>;
  dockerNetworks: { name: string; driver: string; ipam: { config: { subnet: string; gateway: string }[] } }[];
  scriptRuns: { script: string }[];
}

const NCHA = 'HKLM\\SYSTEM\\CurrentControlSet\\Services\\NcHostAgent\\Parameters';
const PLUGIN = 'D5AAF7C4-1B3E-4b49-9CF9-9263FAB9DC6D';

/** The registry of ConfigureMCNP.ps1 (the fact sheet's step 2 table), as the simulated host reports it. */
const STEP2_REGISTRY: [string, string, RegistryValue][] = [
  [
    `${NCHA}\\Plugins\\Vnet\\ProxiedServices\\c79d8d8d-bbb4-42ea-8a8f-a492efc40a94`,
    'ServerAddress',
    { type: 'REG_SZ', data: 'localhost' },
  ],
  [
    `${NCHA}\\Plugins\\Vnet\\ProxiedServices\\c79d8d8d-bbb4-42ea-8a8f-a492efc40a94`,
    'ServiceName',
    { type: 'REG_SZ', data: 'mds' },
  ],
  [
    `${NCHA}\\Plugins\\Vnet\\ProxiedServices\\c79d8d8d-bbb4-42ea-8a8f-a492efc40a94`,
    'ServerPort',
    { type: 'REG_DWORD', data: 6642 },
  ],
  [
    `${NCHA}\\Plugins\\Vnet\\ProxiedServices\\c79d8d8d-bbb4-42ea-8a8f-a492efc40a94`,
    'ProxyListeningPort',
    { type: 'REG_DWORD', data: 6642 },
  ],
  [
    `${NCHA}\\Plugins\\Vnet\\ProxiedServices\\c79d8d8d-bbb4-42ea-8a8f-a492efc40a94`,
    'ProxyListeningAddress',
    { type: 'REG_SZ', data: '0.0.0.0' },
  ],
  [
    `${NCHA}\\Plugins\\Vnet\\ProxiedServices\\c79d8d8d-bbb4-42ea-8a8f-a492efc40a94`,
    'ProxyProtocol',
    { type: 'REG_SZ', data: 'HttpUriPrefix' },
  ],
  [`${NCHA}\\Plugins\\Vnet\\InfraServices\\MetadataServer`, 'Port', { type: 'REG_DWORD', data: 6642 }],
  [`${NCHA}\\Plugins\\Vnet\\InfraServices\\MetadataServer`, 'ProxyPort', { type: 'REG_DWORD', data: 6642 }],
  [`${NCHA}\\Plugins\\Vnet\\InfraServices\\MetadataServer`, 'IP', { type: 'REG_SZ', data: '169.254.169.254' }],
  [`${NCHA}\\Plugins\\Vnet\\InfraServices\\MetadataServer`, 'MAC', { type: 'REG_SZ', data: '22-22-22-22-22-22' }],
  [
    `${NCHA}\\Plugins\\Vnet\\NdResponder`,
    'MetadataServer',
    { type: 'REG_MULTI_SZ', data: ['169.254.169.254', '22-22-22-22-22-22'] },
  ],
  [NCHA, 'MetadataServerPort', { type: 'REG_DWORD', data: 6642 }],
];

function valueAt(machine: MachineSnapshot, key: string, name: string): RegistryValue | undefined {
  const entry = Object.entries(machine.registry).find(([k]) => k.toLowerCase() === key.toLowerCase());
  return entry?.[1][name];
}

describe('steps 2-4 through the runner and the ARM emulator', () => {
  let stack: Stack;
  const machine = async (name: string) =>
    (await stack.armAdmin('GET', `/_emulator/machines/${name}`)) as MachineSnapshot;

  beforeAll(async () => {
    stack = await startStack({ env: { MACHINE_TASK_REUSE_MS: '0' } });
  });
  afterAll(() => stack.stop());
  beforeEach(async () => {
    await stack.nc.admin('POST', '/_emulator/reset');
    await stack.armAdmin('POST', '/_emulator/reset');
  });

  it('takes the seed example to Completed and leaves exactly the documented machine state', async () => {
    await stack.api('POST', '/tenants/contoso/attachments', { ...seedRequest(), attachmentId: 'hosts-seed' });
    const status = await stack.waitForEnd('contoso', 'hosts-seed');
    expect(status).toMatchObject({ runtimeStatus: 'Completed' });
    const steps = status.steps as { name: string; detail: Record<string, unknown> }[];
    for (const step of steps.slice(1)) {
      const script = findHostScript(String(step.detail.script));
      expect(step.detail).toMatchObject({ scriptVersion: script?.version, exitCode: 0, reused: false });
      expect(step.detail.machine).toBe(step.name === 'enableNetworkProxy' ? 'HV01' : 'ContainerHostVM1');
      expect(step.detail.scriptResult).toMatchObject({ ok: true, changed: true });
    }
    expect(status.result).toMatchObject({
      containerNetwork: {
        name: 'MyContainerOverlayNetwork',
        driver: 'l2bridge',
        subnet: '192.168.1.0/24',
        gateway: '192.168.1.1',
      },
    });

    const host = await machine('HV01');
    for (const [key, name, value] of STEP2_REGISTRY) expect(valueAt(host, key, name), `${key}\\${name}`).toEqual(value);
    const rules = host.firewallRules.filter((r) => r.localPort === '6642');
    expect(rules.map((r) => [r.direction, r.protocol, r.action]).sort()).toEqual([
      ['Inbound', 'TCP', 'Allow'],
      ['Outbound', 'TCP', 'Allow'],
    ]);
    expect(host.services.nchostagent?.restartCount).toBe(1);

    const vm = await machine('ContainerHostVM1');
    const plugin = `HKLM\\SYSTEM\\CurrentControlSet\\Services\\hns\\Parameters\\Plugins\\${PLUGIN}`;
    expect(valueAt(vm, plugin, 'Priority')).toEqual({ type: 'REG_DWORD', data: 1000 });
    expect(valueAt(vm, plugin, 'NetworkRequests')).toEqual({ type: 'REG_DWORD', data: 31 });
    expect(valueAt(vm, plugin, 'EndpointRequests')).toEqual({ type: 'REG_DWORD', data: 31 });
    expect(valueAt(vm, plugin, 'ServiceRequests')).toEqual({ type: 'REG_DWORD', data: 7 });
    expect(valueAt(vm, `HKLM\\Software\\Classes\\CLSID\\{${PLUGIN}}\\InprocServer32`, '(default)')).toEqual({
      type: 'REG_SZ',
      data: 'c:\\windows\\system32\\PrivateCloudHNSPlugin.dll',
    });
    expect(vm.services.hns?.restartCount).toBe(1);
    const network = vm.dockerNetworks.find((n) => n.name === 'MyContainerOverlayNetwork');
    expect(network).toMatchObject({
      driver: 'l2bridge',
      ipam: { config: [{ subnet: '192.168.1.0/24', gateway: '192.168.1.1' }] },
    });
  });

  it('changes nothing and restarts nothing for a second attachment on the same machines', async () => {
    await stack.api('POST', '/tenants/contoso/attachments', { ...seedRequest(), attachmentId: 'first' });
    await stack.waitForEnd('contoso', 'first');
    const before = { host: await machine('HV01'), vm: await machine('ContainerHostVM1') };

    await stack.api('POST', '/tenants/contoso/attachments', {
      ...seedRequest(),
      attachmentId: 'second',
      containerIps: { range: { first: '192.168.1.120', last: '192.168.1.121' } },
    });
    const status = await stack.waitForEnd('contoso', 'second');
    expect(status).toMatchObject({ runtimeStatus: 'Completed' });
    for (const step of (status.steps as { detail: { scriptResult: { changed?: boolean } } }[]).slice(1)) {
      expect(step.detail.scriptResult.changed).toBe(false);
    }
    const after = { host: await machine('HV01'), vm: await machine('ContainerHostVM1') };
    expect(after.host.registry).toEqual(before.host.registry);
    expect(after.host.firewallRules).toEqual(before.host.firewallRules);
    expect(after.host.services).toEqual(before.host.services);
    expect(after.vm.registry).toEqual(before.vm.registry);
    expect(after.vm.services).toEqual(before.vm.services);
    expect(after.vm.dockerNetworks).toEqual(before.vm.dockerNetworks);
  });

  it('configures a host once when two attachments start together', async () => {
    await Promise.all([
      stack.api('POST', '/tenants/contoso/attachments', { ...seedRequest(), attachmentId: 'together-a' }),
      stack.api('POST', '/tenants/fabrikam/attachments', {
        ...seedRequest(),
        attachmentId: 'together-b',
        nic: { resourceId: 'ContainerHostVM2_Net0' },
        containerIps: { range: { first: '192.168.1.130', last: '192.168.1.131' } },
        containerHost: { machineName: 'ContainerHostVM2' },
      }),
    ]);
    const [a, b] = await Promise.all([
      stack.waitForEnd('contoso', 'together-a'),
      stack.waitForEnd('fabrikam', 'together-b'),
    ]);
    expect(a.runtimeStatus).toBe('Completed');
    expect(b.runtimeStatus).toBe('Completed');
    const host = await machine('HV01');
    expect(host.scriptRuns.filter((r) => r.script === 'enable-network-proxy')).toHaveLength(1);
    expect(host.services.nchostagent?.restartCount).toBe(1);
    const proxySteps = [a, b].map(
      (s) => (s.steps as { name: string; detail: { reused: boolean } }[])[1]?.detail.reused,
    );
    expect(proxySteps.sort()).toEqual([false, true]);
  });

  it('fails clearly when the network exists with another subnet, without deleting it', async () => {
    await stack.api('POST', '/tenants/contoso/attachments', { ...seedRequest(), attachmentId: 'net-1' });
    await stack.waitForEnd('contoso', 'net-1');
    await stack.api('POST', '/tenants/contoso/attachments', {
      ...seedRequest(),
      attachmentId: 'net-2',
      subnetId: 'Subnet2',
      nic: { resourceId: 'ContainerHostVM1_Net0' },
      containerIps: { range: { first: '192.168.2.101', last: '192.168.2.102' } },
    });
    const status = await stack.waitForEnd('contoso', 'net-2');
    expect(status).toMatchObject({ runtimeStatus: 'Failed', currentStep: 'createContainerNetwork' });
    const lastError = status.lastError as { code: string; message: string; retryable: boolean };
    expect(lastError.retryable).toBe(false);
    expect(lastError.message).toMatch(/192\.168\.1\.0\/24/);
    expect(lastError.message).toMatch(/operator/i);
    const vm = await machine('ContainerHostVM1');
    expect(vm.dockerNetworks.find((n) => n.name === 'MyContainerOverlayNetwork')?.ipam.config[0]?.subnet).toBe(
      '192.168.1.0/24',
    );
  });

  it('creates an l2tunnel network when asked', async () => {
    await stack.api('POST', '/tenants/contoso/attachments', {
      ...seedRequest(),
      attachmentId: 'tunnel',
      network: { name: 'TenantTunnel', driver: 'l2tunnel' },
    });
    const status = await stack.waitForEnd('contoso', 'tunnel');
    expect(status.runtimeStatus).toBe('Completed');
    const vm = await machine('ContainerHostVM1');
    expect(vm.dockerNetworks.find((n) => n.name === 'TenantTunnel')?.driver).toBe('l2tunnel');
  });

  it('ends Failed with the reason when the Hyper-V host is Disconnected, after the retries that could help, having written nothing', async () => {
    // The host that runs the VM (step 1 refuses any other), gone offline: step 1's look ahead waits for it.
    await stack.armAdmin('PUT', '/_emulator/machines/HV01', { status: 'Disconnected' });
    await stack.api('POST', '/tenants/contoso/attachments', { ...seedRequest(), attachmentId: 'offline' });
    const status = await stack.waitForEnd('contoso', 'offline', 60_000);
    expect(status).toMatchObject({
      runtimeStatus: 'Failed',
      currentStep: 'addIpConfigurations',
      lastError: { code: 'MachineNotConnected' },
    });
    expect(String((status.lastError as { message: string }).message)).toMatch(/^hyperVHost \(HV01\).*Disconnected/);
    expect((status.steps as { attempts: number }[])[0]?.attempts).toBe(5);
    const nic = (await stack.nc.admin('GET', '/networking/v1/networkInterfaces/ContainerHostVM1_Net0')) as {
      properties: { ipConfigurations: unknown[] };
    };
    expect(nic.properties.ipConfigurations).toHaveLength(1);
  }, 90_000);

  it('ends Failed when every run times out, after the retries that could help', async () => {
    await stack.armAdmin('PUT', '/_emulator/machines/ContainerHostVM1', { runCommandOutcome: 'TimedOut' });
    await stack.api('POST', '/tenants/contoso/attachments', { ...seedRequest(), attachmentId: 'slow' });
    const status = await stack.waitForEnd('contoso', 'slow', 60_000);
    expect(status).toMatchObject({
      runtimeStatus: 'Failed',
      currentStep: 'installPrivateCloudPlugin',
      lastError: { code: 'RunCommandTimedOut' },
    });
    expect((status.steps as { attempts: number }[])[2]?.attempts).toBe(5);
  }, 90_000);
});
