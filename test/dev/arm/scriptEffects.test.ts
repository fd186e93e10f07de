import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { runScriptOnMachine } from '../../../dev/arm/scriptEffects';
import { CLSID_KEY } from '../../../dev/arm/scriptEffects/installPrivateCloudPlugin';
import { seedMachines } from '../../../dev/arm/seed';
import type { RunCommandInstanceView } from '../../../shared/arc/armResources';
import { parseResultLine, type ScriptResult } from '../../../shared/arc/resultLine';
import { type HostScriptName, hostScripts, type RunCommandParameter } from '../../../shared/arc/scripts';
import {
  asRegistryJson,
  enableNetworkProxyTable,
  installPrivateCloudPluginTable,
  PLUGIN_KEY,
} from '../../shared/arc/factSheet';
import { LAB, machine, startTestArmEmulator, type TestArmEmulator } from './harness';

let arm: TestArmEmulator;
let counter = 0;

beforeAll(async () => {
  arm = await startTestArmEmulator({ runDurationInMs: 15 });
});
afterAll(() => arm.close());
beforeEach(() => arm.reset());

/** Runs a product script through the real client and returns the run's end state and parsed result line. */
async function run(
  machineName: string,
  scriptName: HostScriptName,
  parameters: RunCommandParameter[] = [],
): Promise<{ view: RunCommandInstanceView; result: ScriptResult | undefined }> {
  const client = arm.client();
  const name = `effect-${++counter}`;
  await client.createOrReplaceRunCommand(machine(machineName), name, {
    location: LAB.location,
    script: hostScripts[scriptName].text,
    parameters,
    timeoutInSeconds: 60,
  });
  for (;;) {
    const runCommand = await client.getRunCommand(machine(machineName), name);
    const view = runCommand.instanceView;
    if (view && !['Pending', 'Running'].includes(view.executionState))
      return { view, result: parseResultLine(view.output) };
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const networkParameters = (overrides: Record<string, string> = {}): RunCommandParameter[] =>
  Object.entries({
    NetworkName: 'MyContainerOverlayNetwork',
    Driver: 'l2bridge',
    Subnet: '192.168.1.0/24',
    Gateway: '192.168.1.1',
    ...overrides,
  }).map(([name, value]) => ({ name, value }));

function pick<T extends object>(value: T, keys: string[]): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([key]) => keys.includes(key))) as Partial<T>;
}

describe('step 2: enable-network-proxy on the Hyper-V host', () => {
  it('writes exactly the fact sheet table, adds both rules, restarts nchostagent once; a second run changes nothing', async () => {
    const first = await run('HV01', 'enable-network-proxy');
    expect(first.view).toMatchObject({ executionState: 'Succeeded', exitCode: 0 });
    expect(first.result).toEqual({
      script: 'enable-network-proxy',
      version: 2,
      ok: true,
      changed: true,
      registryValuesSet: 12,
      firewallRulesAdded: 2,
      firewallRulesRemoved: 0,
      serviceAction: 'restarted',
      serviceStatus: 'Running',
    });
    expect(first.view.output).toContain(
      'set HKLM\\SYSTEM\\CurrentControlSet\\Services\\NcHostAgent\\Parameters\\MetadataServerPort (DWord)',
    );

    const after = await arm.inspect('HV01');
    const expected = asRegistryJson(enableNetworkProxyTable);
    expect(pick(after.registry, Object.keys(expected))).toEqual({
      ...expected,
      // The host agent's own value, there before step 2, is kept.
      'HKLM\\SYSTEM\\CurrentControlSet\\Services\\NcHostAgent\\Parameters': {
        Connections: { type: 'REG_MULTI_SZ', data: ['ssl:10.127.132.10:6640'] },
        ...expected['HKLM\\SYSTEM\\CurrentControlSet\\Services\\NcHostAgent\\Parameters'],
      },
    });
    expect(after.firewallRules).toEqual(
      (['Inbound', 'Outbound'] as const).map((direction) => ({
        displayName: 'Open Port 6642',
        direction,
        action: 'Allow',
        protocol: 'TCP',
        localPort: '6642',
        enabled: true,
        profile: 'Any',
      })),
    );
    expect(after.services.nchostagent).toEqual({ status: 'Running', restartCount: 1 });

    const second = await run('HV01', 'enable-network-proxy');
    expect(second.result).toMatchObject({
      changed: false,
      registryValuesSet: 0,
      firewallRulesAdded: 0,
      serviceAction: 'none',
    });
    const again = await arm.inspect('HV01');
    expect(again.registry).toEqual(after.registry);
    expect(again.firewallRules).toHaveLength(2);
    expect(again.services.nchostagent).toEqual({ status: 'Running', restartCount: 1 });
    expect(again.scriptRuns.map((scriptRun) => [scriptRun.script, scriptRun.version])).toEqual([
      ['enable-network-proxy', 2],
      ['enable-network-proxy', 2],
    ]);
  });

  it('starts a stopped nchostagent without restarting it', async () => {
    await run('HV01', 'enable-network-proxy');
    await arm.setMachine('HV01', { services: { nchostagent: 'Stopped' } });
    const { result } = await run('HV01', 'enable-network-proxy');
    expect(result).toMatchObject({ changed: true, registryValuesSet: 0, serviceAction: 'started' });
    expect((await arm.inspect('HV01')).services.nchostagent).toEqual({ status: 'Running', restartCount: 1 });
  });

  it('replaces a disabled rule of ours instead of adding one beside it', async () => {
    await run('HV01', 'enable-network-proxy');
    const [inbound, outbound] = (await arm.inspect('HV01')).firewallRules;
    await arm.setMachine('HV01', { firewallRules: [{ ...inbound, enabled: false }, outbound] });
    const { result, view } = await run('HV01', 'enable-network-proxy');
    expect(result).toMatchObject({ ok: true, changed: true, firewallRulesRemoved: 1, firewallRulesAdded: 1 });
    expect(view.output).toContain("removed firewall rule 'Open Port 6642' (Inbound, disabled, TCP 6642)");
    const rules = (await arm.inspect('HV01')).firewallRules;
    expect(rules.map((rule) => [rule.direction, rule.enabled])).toEqual([
      ['Outbound', true],
      ['Inbound', true],
    ]);
  });

  it('refuses, permanently and before any change, a host where a Block rule covers inbound TCP 6642', async () => {
    const block = { direction: 'Inbound', action: 'Block', enabled: true, profile: 'Any' } as const;
    await arm.setMachine('HV01', {
      firewallRules: [
        { ...block, displayName: 'Hoster: no 6000-6999', protocol: 'TCP', localPort: '6000-6999' },
        { ...block, displayName: 'Hoster: no UDP', protocol: 'UDP', localPort: 'Any' },
      ],
    });
    const before = await arm.inspect('HV01');
    const { view, result } = await run('HV01', 'enable-network-proxy');
    expect(view).toMatchObject({ executionState: 'Failed', exitCode: 1 });
    expect(result).toMatchObject({
      ok: false,
      changed: false,
      error: { code: 'PortBlockedByFirewall', permanent: true },
    });
    expect(result?.error?.message).toContain("'Hoster: no 6000-6999'");
    expect(result?.error?.message).not.toContain('no UDP');
    const after = await arm.inspect('HV01');
    expect(after.registry).toEqual(before.registry);
    expect(after.firewallRules).toEqual(before.firewallRules);
    expect(after.services).toEqual(before.services);
  });

  it('refuses a machine without the host agent, permanently, and touches nothing', async () => {
    const { view, result } = await run('ContainerHostVM1', 'enable-network-proxy');
    expect(view).toMatchObject({ executionState: 'Failed', exitCode: 1 });
    expect(view.error).toMatch(/^HostAgentNotFound: /);
    expect(result).toMatchObject({ ok: false, changed: false, error: { code: 'HostAgentNotFound', permanent: true } });
    const vm = await arm.inspect('ContainerHostVM1');
    expect(Object.keys(vm.registry).some((key) => /NcHostAgent/i.test(key))).toBe(false);
    expect(vm.firewallRules).toEqual([]);
  });
});

describe('step 3: install-private-cloud-plugin on the container host VM', () => {
  it('registers the plugin as the fact sheet says, restarts hns once; a second run changes nothing', async () => {
    const first = await run('ContainerHostVM1', 'install-private-cloud-plugin');
    expect(first.result).toEqual({
      script: 'install-private-cloud-plugin',
      version: 2,
      ok: true,
      changed: true,
      registryValuesSet: 7,
      serviceAction: 'restarted',
      serviceStatus: 'Running',
      agentSettings: 'none',
      hnsKeyAccess: 'direct',
      pluginDll: 'C:\\Windows\\System32\\PrivateCloudHNSPlugin.dll',
    });
    const after = await arm.inspect('ContainerHostVM1');
    const expected = asRegistryJson(installPrivateCloudPluginTable);
    expect(pick(after.registry, Object.keys(expected))).toEqual(expected);
    expect(after.services.hns).toEqual({ status: 'Running', restartCount: 1 });
    expect(after.services.docker).toEqual({ status: 'Running', restartCount: 0 });

    const second = await run('ContainerHostVM1', 'install-private-cloud-plugin');
    expect(second.result).toMatchObject({
      changed: false,
      registryValuesSet: 0,
      serviceAction: 'none',
      hnsKeyAccess: 'notNeeded',
    });
    const again = await arm.inspect('ContainerHostVM1');
    expect(again.registry).toEqual(after.registry);
    expect(again.services.hns?.restartCount).toBe(1);
  });

  it('keeps agent settings already on the VM (no New-Item -Force wipe)', async () => {
    const before = (await arm.inspect('ContainerHostVM2')).registry[PLUGIN_KEY];
    expect(before).toMatchObject({ AgentIPAddress: { type: 'REG_SZ', data: '10.127.132.20' } });
    const first = await run('ContainerHostVM2', 'install-private-cloud-plugin');
    expect(first.result).toMatchObject({ changed: true, registryValuesSet: 7, agentSettings: 'kept' });
    const plugin = (await arm.inspect('ContainerHostVM2')).registry[PLUGIN_KEY];
    expect(plugin).toEqual({ ...before, ...asRegistryJson(installPrivateCloudPluginTable)[PLUGIN_KEY] });
    const second = await run('ContainerHostVM2', 'install-private-cloud-plugin');
    expect(second.result).toMatchObject({ changed: false, agentSettings: 'kept' });
    expect((await arm.inspect('ContainerHostVM2')).services.hns?.restartCount).toBe(1);
  });

  it('writes an agent override with explicit types and keeps it on later runs without one', async () => {
    const agent = [
      { name: 'AgentIPAddress', value: '10.127.132.10' },
      { name: 'AgentPort', value: '6642' },
      { name: 'AgentPath', value: 'networking/v1' },
      { name: 'AgentFormat', value: 'json' },
    ];
    expect((await run('ContainerHostVM1', 'install-private-cloud-plugin', agent)).result).toMatchObject({
      registryValuesSet: 11,
      agentSettings: 'written',
    });
    expect((await run('ContainerHostVM1', 'install-private-cloud-plugin')).result).toMatchObject({
      changed: false,
      agentSettings: 'kept',
    });
    expect((await arm.inspect('ContainerHostVM1')).registry[PLUGIN_KEY]).toMatchObject({
      AgentIPAddress: { type: 'REG_SZ', data: '10.127.132.10' },
      AgentPort: { type: 'REG_DWORD', data: 6642 },
      AgentPath: { type: 'REG_SZ', data: 'networking/v1' },
      AgentFormat: { type: 'REG_SZ', data: 'json' },
    });
  });

  it('refuses a partial agent override and a machine without hns, permanently', async () => {
    const partial = await run('ContainerHostVM1', 'install-private-cloud-plugin', [
      { name: 'AgentIPAddress', value: '10.0.0.1' },
    ]);
    expect(partial.result).toMatchObject({ ok: false, error: { code: 'InvalidParameters', permanent: true } });
    const port = await run('ContainerHostVM1', 'install-private-cloud-plugin', [
      { name: 'AgentIPAddress', value: '10.0.0.1' },
      { name: 'AgentPort', value: '99999' },
      { name: 'AgentPath', value: 'x' },
      { name: 'AgentFormat', value: 'xml' },
    ]);
    expect(port.result).toMatchObject({
      ok: false,
      error: { code: 'InvalidParameters', message: 'AgentPort must be between 1 and 65535.' },
    });
    const host = await run('HV01', 'install-private-cloud-plugin');
    expect(host.result).toMatchObject({ ok: false, error: { code: 'HnsNotFound', permanent: true } });
    expect((await arm.inspect('ContainerHostVM1')).services.hns?.restartCount).toBe(0);
    const slash = await run('ContainerHostVM1', 'install-private-cloud-plugin', [
      { name: 'AgentIPAddress', value: '10.0.0.1' },
      { name: 'AgentPort', value: '6642' },
      { name: 'AgentPath', value: '/x' },
      { name: 'AgentFormat', value: 'xml' },
    ]);
    expect(slash.view.exitCode).toBe(1);
    expect(slash.view.error).toMatch(/Cannot validate argument on parameter 'AgentPath'/);
  });

  it('fails with PluginDllMissing, permanently, changing nothing, when the DLL is not in System32', async () => {
    await arm.setMachine('ContainerHostVM1', { files: { 'C:\\Windows\\System32\\PrivateCloudHNSPlugin.dll': false } });
    const before = await arm.inspect('ContainerHostVM1');
    const { view, result } = await run('ContainerHostVM1', 'install-private-cloud-plugin');
    expect(view.exitCode).toBe(1);
    expect(result).toMatchObject({
      ok: false,
      changed: false,
      error: {
        code: 'PluginDllMissing',
        message:
          'C:\\Windows\\System32\\PrivateCloudHNSPlugin.dll is not there: copy the Private Cloud HNS plugin DLL onto ' +
          'the VM, then retry. Nothing was changed.',
        permanent: true,
      },
    });
    const after = await arm.inspect('ContainerHostVM1');
    expect(after.registry).toEqual(before.registry);
    expect(after.services.hns?.restartCount).toBe(0);
  });

  it('leaves an equivalent registration alone: REG_EXPAND_SZ path, other case', () => {
    const vm = seedMachines().find((candidate) => candidate.name === 'ContainerHostVM1')!;
    const install = () =>
      parseResultLine(runScriptOnMachine(vm, hostScripts['install-private-cloud-plugin'].text, []).output);
    expect(install()).toMatchObject({ changed: true });
    const inproc = `HKLM\\${CLSID_KEY}\\InprocServer32`;
    const expanded = { type: 'REG_EXPAND_SZ', data: '%SystemRoot%\\system32\\PrivateCloudHNSPlugin.dll' } as const;
    vm.registry.setValue(inproc, '', expanded);
    vm.registry.setValue(inproc, 'ThreadingModel', { type: 'REG_SZ', data: 'both' });
    expect(install()).toMatchObject({ ok: true, changed: false, registryValuesSet: 0, serviceAction: 'none' });
    expect(vm.registry.getValue(inproc, '')).toEqual(expanded);
    expect(vm.service('hns')?.restartCount).toBe(1);
    // Expanding to another folder is another registration.
    vm.registry.setValue(inproc, '', { type: 'REG_EXPAND_SZ', data: '%windir%\\SysWOW64\\PrivateCloudHNSPlugin.dll' });
    expect(install()).toMatchObject({ changed: true, registryValuesSet: 1 });
    expect(vm.registry.getValue(inproc, '')).toEqual({
      type: 'REG_SZ',
      data: 'c:\\windows\\system32\\PrivateCloudHNSPlugin.dll',
    });
  });

  it('takes ownership of a locked hns key, and fails permanently when even that does not open it', async () => {
    await arm.setMachine('ContainerHostVM1', { hnsKeyAcl: 'locked' });
    const locked = await run('ContainerHostVM1', 'install-private-cloud-plugin');
    expect(locked.result).toMatchObject({ ok: true, hnsKeyAccess: 'ownershipTaken', registryValuesSet: 7 });
    expect(locked.view.output).toContain(
      'took ownership of HKLM\\SYSTEM\\CurrentControlSet\\Services\\hns\\Parameters as S-1-5-18 and granted it full control',
    );
    expect((await arm.inspect('ContainerHostVM1')).switches.hnsKeyAcl).toBeUndefined();

    await arm.setMachine('ContainerHostVM2', { hnsKeyAcl: 'denied' });
    const denied = await run('ContainerHostVM2', 'install-private-cloud-plugin');
    expect(denied.result).toMatchObject({
      ok: false,
      changed: true,
      error: { code: 'RegistryAccessDenied', permanent: true },
    });
    expect((await arm.inspect('ContainerHostVM2')).services.hns?.restartCount).toBe(0);
  });
});

describe('step 4: ensure-container-network on the container host VM', () => {
  it('creates the l2bridge network, then finds it equal and changes nothing', async () => {
    const first = await run('ContainerHostVM1', 'ensure-container-network', networkParameters());
    expect(first.result).toMatchObject({
      ok: true,
      changed: true,
      action: 'created',
      network: {
        name: 'MyContainerOverlayNetwork',
        driver: 'l2bridge',
        subnet: '192.168.1.0/24',
        gateway: '192.168.1.1',
      },
      engineVersion: '20.10.24',
    });
    const networks = (await arm.inspect('ContainerHostVM1')).dockerNetworks;
    const created = networks.find((network) => network.name === 'MyContainerOverlayNetwork');
    expect(created).toMatchObject({
      driver: 'l2bridge',
      ipam: { driver: 'windows', config: [{ subnet: '192.168.1.0/24', gateway: '192.168.1.1' }] },
      options: { 'com.docker.network.windowsshim.networkname': 'MyContainerOverlayNetwork' },
    });
    expect(created?.options['com.docker.network.windowsshim.hnsid']).toMatch(/^[0-9A-F-]{36}$/);
    expect(first.result?.network).toMatchObject({ id: created?.id });

    const second = await run('ContainerHostVM1', 'ensure-container-network', networkParameters());
    expect(second.result).toMatchObject({ changed: false, action: 'exists', network: { id: created?.id } });
    expect((await arm.inspect('ContainerHostVM1')).dockerNetworks).toHaveLength(2);
  });

  it('fails clearly on a network with other settings and never deletes it', async () => {
    await run('ContainerHostVM1', 'ensure-container-network', networkParameters());
    const before = (await arm.inspect('ContainerHostVM1')).dockerNetworks;
    const conflict = await run(
      'ContainerHostVM1',
      'ensure-container-network',
      networkParameters({ Subnet: '192.168.2.0/24', Gateway: '192.168.2.1' }),
    );
    expect(conflict.view).toMatchObject({ executionState: 'Failed', exitCode: 1 });
    expect(conflict.result).toMatchObject({
      ok: false,
      changed: false,
      error: { code: 'NetworkConflict', permanent: true },
    });
    expect(conflict.result?.error?.message).toBe(
      "Docker network 'MyContainerOverlayNetwork' already exists with driver 'l2bridge', subnet '192.168.1.0/24', " +
        "gateway '192.168.1.1', but this attachment needs driver 'l2bridge', subnet '192.168.2.0/24', gateway " +
        "'192.168.2.1'. It was left untouched because containers may use it; an operator needs to remove or rename " +
        'it, or change the request.',
    );
    expect(conflict.view.error).toMatch(/^NetworkConflict: Docker network/);
    expect((await arm.inspect('ContainerHostVM1')).dockerNetworks).toEqual(before);

    const driver = await run('ContainerHostVM1', 'ensure-container-network', networkParameters({ Driver: 'l2tunnel' }));
    expect(driver.result).toMatchObject({ error: { code: 'NetworkConflict' } });
  });

  it('creates an l2tunnel network', async () => {
    const { result } = await run(
      'ContainerHostVM2',
      'ensure-container-network',
      networkParameters({ NetworkName: 'tunnel-net', Driver: 'l2tunnel' }),
    );
    expect(result).toMatchObject({ action: 'created', network: { name: 'tunnel-net', driver: 'l2tunnel' } });
  });

  it.each(['nat', 'NAT', 'none', 'Default'])(
    'refuses the reserved name %j before asking Docker, permanently',
    async (NetworkName) => {
      const { result } = await run('ContainerHostVM1', 'ensure-container-network', networkParameters({ NetworkName }));
      expect(result).toMatchObject({ changed: false, error: { code: 'NetworkNameReserved', permanent: true } });
      expect(result?.error?.message).toContain(`'${NetworkName}' is the name of one of Docker's predefined`);
    },
  );

  it.each([
    ['A network of this type can not be created because VFP is not available. (0x803b0037)', 'HyperVNotAvailable'],
    ['Pool overlaps with other one on this address space', 'SubnetInUse'],
    ['Invalid network type (0x803b000b)', 'DriverNotAvailable'],
    ['The device is not ready. (0x15)', 'DockerCommandFailed'],
  ])('classifies the create failure "%s" as %s', async (hnsFailure, code) => {
    await arm.setMachine('ContainerHostVM1', { hnsFailure });
    const { result } = await run('ContainerHostVM1', 'ensure-container-network', networkParameters());
    expect(result).toMatchObject({ ok: false, error: { code, permanent: code !== 'DockerCommandFailed' } });
    expect(result?.error?.message).toContain(`hnsCall failed in Win32: ${hnsFailure}`);
  });

  it('reports the CLI warnings apart from what it parses', async () => {
    const warning = 'WARNING: Error loading config file: C:\\.docker\\config.json: Access is denied.';
    await arm.setMachine('ContainerHostVM1', { dockerCliWarnings: [warning] });
    const { result } = await run('ContainerHostVM1', 'ensure-container-network', networkParameters());
    expect(result).toMatchObject({ ok: true, action: 'created', dockerWarnings: [warning] });
    await arm.setMachine('ContainerHostVM1', { dockerCliWarnings: null });
    expect((await run('ContainerHostVM1', 'ensure-container-network', networkParameters())).result).not.toHaveProperty(
      'dockerWarnings',
    );
  });

  it('refuses an engine before 1.13 permanently and creates nothing', async () => {
    await arm.setMachine('ContainerHostVM1', { dockerEngineVersion: '1.12.2-cs2-ws-beta' });
    const { result } = await run('ContainerHostVM1', 'ensure-container-network', networkParameters());
    expect(result).toMatchObject({ error: { code: 'DockerTooOld', permanent: true } });
    expect(result?.error?.message).toContain('version 1.12.2-cs2-ws-beta');
    expect((await arm.inspect('ContainerHostVM1')).dockerNetworks).toHaveLength(1);
  });

  it('reports an HNS failure as retryable, with the daemon text, and creates nothing', async () => {
    await arm.setMachine('ContainerHostVM1', { hnsFailure: 'The parameter is incorrect. (0x57)' });
    const { result } = await run('ContainerHostVM1', 'ensure-container-network', networkParameters());
    expect(result).toMatchObject({
      ok: false,
      error: {
        code: 'DockerCommandFailed',
        permanent: false,
        message:
          'docker network create failed: Error response from daemon: hnsCall failed in Win32: The parameter is incorrect. (0x57)',
      },
    });
    expect((await arm.inspect('ContainerHostVM1')).dockerNetworks).toHaveLength(1);
    await arm.setMachine('ContainerHostVM1', { hnsFailure: null });
    expect((await run('ContainerHostVM1', 'ensure-container-network', networkParameters())).result).toMatchObject({
      action: 'created',
    });
  });

  it('reports a stopped engine as retryable and a machine without Docker as permanent', async () => {
    await arm.setMachine('ContainerHostVM1', { services: { docker: 'Stopped' } });
    expect((await run('ContainerHostVM1', 'ensure-container-network', networkParameters())).result).toMatchObject({
      error: {
        code: 'DockerUnavailable',
        permanent: false,
        message: "The Docker engine service 'docker' is Stopped; it may still be starting, or need a start.",
      },
    });
    expect((await run('HV01', 'ensure-container-network', networkParameters())).result).toMatchObject({
      error: { code: 'DockerNotFound', permanent: true },
    });
  });
});
