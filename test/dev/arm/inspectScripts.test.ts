import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { runScriptOnMachine } from '../../../dev/arm/scriptEffects';
import { seedMachines } from '../../../dev/arm/seed';
import { parseResultLine } from '../../../shared/arc/resultLine';
import { hostScripts, inspectHyperVHostScript, type RunCommandParameter } from '../../../shared/arc/scripts';
import { enableNetworkProxyTable, type FactRow, installPrivateCloudPluginTable } from '../../shared/arc/factSheet';
import { startTestArmEmulator, type TestArmEmulator } from './harness';

let arm: TestArmEmulator;

beforeAll(async () => {
  arm = await startTestArmEmulator({ runDurationInMs: 15 });
});
afterAll(() => arm.close());
beforeEach(() => arm.reset());

/** The fact sheet's table as the inspection scripts report it, every value in one state. */
function valuesIn(rows: readonly FactRow[], state: string) {
  return rows.map((row) => ({
    key: row.key.replace(/^HKLM\\/, ''),
    name: row.name === '' ? '(default)' : row.name,
    state,
  }));
}

/** The state an inspection must leave exactly as it found it (the run log aside). */
async function stateOf(name: string) {
  const { scriptRuns: _runs, runCommands: _commands, ...rest } = await arm.inspect(name);
  return rest;
}

const network: RunCommandParameter[] = Object.entries({
  NetworkName: 'MyContainerOverlayNetwork',
  Driver: 'l2bridge',
  Subnet: '192.168.1.0/24',
  Gateway: '192.168.1.1',
}).map(([name, value]) => ({ name, value }));

describe('inspect-hyperv-host', () => {
  it('reports a host before step 2: every value Missing, no rules, the host agent running; changes nothing', async () => {
    const before = await stateOf('HV01');
    const { view, result } = await arm.runScript('HV01', 'inspect-hyperv-host');
    expect(view).toMatchObject({ executionState: 'Succeeded', exitCode: 0 });
    expect(result).toEqual({
      script: 'inspect-hyperv-host',
      version: 2,
      ok: true,
      changed: false,
      networkProxyEnabled: false,
      registryValues: valuesIn(enableNetworkProxyTable, 'Missing'),
      firewallRules: [
        { direction: 'Inbound', present: false, count: 0, toReplace: 0 },
        { direction: 'Outbound', present: false, count: 0, toReplace: 0 },
      ],
      firewallBlockRules: [],
      service: { name: 'nchostagent', installed: true, status: 'Running' },
    });
    // The result line is the whole output, well inside Run Command's 4,096-byte tail.
    expect(view.output?.trim().split('\n')).toHaveLength(1);
    expect(Buffer.byteLength(view.output ?? '')).toBeLessThan(3000);
    expect(await stateOf('HV01')).toEqual(before);
    expect((await arm.inspect('HV01')).scriptRuns.map((run) => run.script)).toEqual(['inspect-hyperv-host']);
  });

  it('reports exactly what step 2 leaves: every value Expected, one rule each way, enabled', async () => {
    await arm.runScript('HV01', 'enable-network-proxy');
    const { result } = await arm.runScript('HV01', 'inspect-hyperv-host');
    expect(result).toMatchObject({
      changed: false,
      networkProxyEnabled: true,
      registryValues: valuesIn(enableNetworkProxyTable, 'Expected'),
      firewallRules: [
        { direction: 'Inbound', present: true, count: 1 },
        { direction: 'Outbound', present: true, count: 1 },
      ],
    });
    await arm.setMachine('HV01', { services: { nchostagent: 'Stopped' } });
    expect((await arm.runScript('HV01', 'inspect-hyperv-host')).result).toMatchObject({
      networkProxyEnabled: false,
      service: { installed: true, status: 'Stopped' },
    });
  });

  it('tells a different value from a missing one, and counts duplicate rules', () => {
    const host = seedMachines().find((machine) => machine.name === 'HV01')!;
    expect(runScriptOnMachine(host, hostScripts['enable-network-proxy'].text, []).exitCode).toBe(0);
    const metadata =
      'HKLM\\SYSTEM\\CurrentControlSet\\Services\\NcHostAgent\\Parameters\\Plugins\\Vnet\\InfraServices\\MetadataServer';
    host.registry.setValue(metadata, 'Port', { type: 'REG_SZ', data: '6642' });
    host.registry.deleteValue(metadata, 'IP');
    // What a second run of Microsoft's ConfigureMCNP.ps1 does: netsh adds the same rule again.
    host.addFirewallRule({ ...host.firewallRules[0]! });
    const result = parseResultLine(runScriptOnMachine(host, inspectHyperVHostScript.text, []).output);
    const states = Object.fromEntries(
      (result?.registryValues as { key: string; name: string; state: string }[]).map((value) => [
        value.name,
        value.state,
      ]),
    );
    expect(states).toMatchObject({ Port: 'Different', IP: 'Missing', ProxyPort: 'Expected' });
    expect(result).toMatchObject({
      networkProxyEnabled: false,
      firewallRules: [
        { direction: 'Inbound', present: true, count: 2 },
        { direction: 'Outbound', present: true, count: 1 },
      ],
    });
  });

  it('reports a disabled rule of ours as one to replace, and a Block rule on inbound TCP 6642 as not enabled', () => {
    const host = seedMachines().find((machine) => machine.name === 'HV01')!;
    expect(runScriptOnMachine(host, hostScripts['enable-network-proxy'].text, []).exitCode).toBe(0);
    host.firewallRules[1]!.enabled = false;
    host.addFirewallRule({ ...host.firewallRules[0]!, displayName: 'Hoster', action: 'Block', localPort: '6000-6999' });
    host.addFirewallRule({ ...host.firewallRules[0]!, displayName: 'Hoster UDP', action: 'Block', protocol: 'UDP' });
    const result = parseResultLine(runScriptOnMachine(host, inspectHyperVHostScript.text, []).output);
    expect(result).toMatchObject({
      networkProxyEnabled: false,
      firewallRules: [
        { direction: 'Inbound', present: true, count: 1, toReplace: 0 },
        { direction: 'Outbound', present: false, count: 0, toReplace: 1 },
      ],
      firewallBlockRules: [{ displayName: 'Hoster', protocol: 'TCP', localPort: '6000-6999' }],
    });
  });

  it('reports a machine without the host agent as such, not as a failure', async () => {
    const { result } = await arm.runScript('ContainerHostVM1', 'inspect-hyperv-host');
    expect(result).toMatchObject({
      ok: true,
      networkProxyEnabled: false,
      service: { name: 'nchostagent', installed: false, status: null },
    });
  });

  it('takes no parameters', async () => {
    const { view } = await arm.runScript('HV01', 'inspect-hyperv-host', [{ name: 'NetworkName', value: 'x' }]);
    expect(view.error).toMatch(/^A parameter cannot be found that matches parameter name 'NetworkName'/);
  });
});

describe('inspect-container-host', () => {
  it('reports a VM before step 3: every value Missing, no agent settings, the DLL, hns running; changes nothing', async () => {
    const before = await stateOf('ContainerHostVM1');
    const { result } = await arm.runScript('ContainerHostVM1', 'inspect-container-host');
    expect(result).toEqual({
      script: 'inspect-container-host',
      version: 2,
      ok: true,
      changed: false,
      pluginInstalled: false,
      registryValues: valuesIn(installPrivateCloudPluginTable, 'Missing'),
      agentSettings: 'none',
      agent: null,
      pluginDllPresent: true,
      service: { name: 'hns', installed: true, status: 'Running' },
    });
    expect(await stateOf('ContainerHostVM1')).toEqual(before);
  });

  it('reports exactly what step 3 leaves, and agent settings already on the key', async () => {
    await arm.runScript('ContainerHostVM1', 'install-private-cloud-plugin');
    expect((await arm.runScript('ContainerHostVM1', 'inspect-container-host')).result).toMatchObject({
      pluginInstalled: true,
      registryValues: valuesIn(installPrivateCloudPluginTable, 'Expected'),
      agentSettings: 'none',
    });
    expect((await arm.runScript('ContainerHostVM2', 'inspect-container-host')).result).toMatchObject({
      pluginInstalled: false,
      agentSettings: 'complete',
      agent: { ipAddress: '10.127.132.20', port: 6642, path: '/metadata/v1', format: 'json' },
    });
    await arm.setMachine('ContainerHostVM1', { services: { hns: 'Stopped' } });
    expect((await arm.runScript('ContainerHostVM1', 'inspect-container-host')).result).toMatchObject({
      pluginInstalled: false,
      service: { status: 'Stopped' },
    });
  });

  it('reports partial agent settings without their values', () => {
    const vm = seedMachines().find((machine) => machine.name === 'ContainerHostVM2')!;
    vm.registry.deleteValue(
      'HKLM\\SYSTEM\\CurrentControlSet\\Services\\hns\\Parameters\\Plugins\\D5AAF7C4-1B3E-4b49-9CF9-9263FAB9DC6D',
      'AgentPath',
    );
    const result = parseResultLine(runScriptOnMachine(vm, hostScripts['inspect-container-host'].text, []).output);
    expect(result).toMatchObject({ agentSettings: 'partial', agent: null });
  });

  it('with a network name, reports the network of exactly that name: absent, then present with its settings', async () => {
    const absent = await arm.runScript('ContainerHostVM1', 'inspect-container-host', [network[0]!]);
    expect(absent.result).toMatchObject({
      network: { name: 'MyContainerOverlayNetwork', present: false },
      engineVersion: '20.10.24',
    });
    expect(Object.keys(absent.result?.network as object)).toEqual(['name', 'present']);

    const created = await arm.runScript('ContainerHostVM1', 'ensure-container-network', network);
    const id = (created.result?.network as { id: string }).id;
    await arm.raw('PUT', '/_emulator/machines/ContainerHostVM1/containers/web-1', {
      networks: ['MyContainerOverlayNetwork'],
    });
    const { id: containerId } = (await arm.raw('GET', '/_emulator/machines/ContainerHostVM1/containers/web-1'))
      .body as { id: string };
    const present = await arm.runScript('ContainerHostVM1', 'inspect-container-host', [network[0]!]);
    expect(present.result?.network).toEqual({
      name: 'MyContainerOverlayNetwork',
      present: true,
      id,
      driver: 'l2bridge',
      subnet: '192.168.1.0/24',
      gateway: '192.168.1.1',
      containers: [{ id: containerId.slice(0, 12), name: 'web-1' }],
      containerCount: 1,
    });
    // Exact names only: a prefix of the name is another, absent, network.
    const prefix = await arm.runScript('ContainerHostVM1', 'inspect-container-host', [
      { name: 'NetworkName', value: 'MyContainer' },
    ]);
    expect(prefix.result?.network).toEqual({ name: 'MyContainer', present: false });
  });

  it('asks Docker only when given a name, and never reports "absent" when the engine does not answer', async () => {
    await arm.setMachine('ContainerHostVM1', { services: { docker: 'Stopped' } });
    expect((await arm.runScript('ContainerHostVM1', 'inspect-container-host')).result).toMatchObject({ ok: true });
    expect((await arm.runScript('ContainerHostVM1', 'inspect-container-host', [network[0]!])).result).toMatchObject({
      ok: false,
      changed: false,
      error: { code: 'DockerUnavailable', permanent: false },
    });
    expect((await arm.runScript('HV01', 'inspect-container-host', [network[0]!])).result).toMatchObject({
      error: { code: 'DockerNotFound', permanent: true },
    });
  });

  it('refuses an engine before 1.13 permanently, and reports CLI warnings apart', async () => {
    await arm.setMachine('ContainerHostVM1', { dockerEngineVersion: '1.13.0' });
    await arm.setMachine('ContainerHostVM1', { dockerCliWarnings: ['WARNING: config.json'] });
    expect((await arm.runScript('ContainerHostVM1', 'inspect-container-host', [network[0]!])).result).toMatchObject({
      ok: true,
      engineVersion: '1.13.0',
      dockerWarnings: ['WARNING: config.json'],
    });
    await arm.setMachine('ContainerHostVM1', { dockerEngineVersion: '1.12.6' });
    expect((await arm.runScript('ContainerHostVM1', 'inspect-container-host', [network[0]!])).result).toMatchObject({
      error: { code: 'DockerTooOld', permanent: true },
    });
  });

  it('refuses a hostile network name before it runs', async () => {
    const { view } = await arm.runScript('ContainerHostVM1', 'inspect-container-host', [
      { name: 'NetworkName', value: 'x$(calc)' },
    ]);
    expect(view.error).toMatch(/^Cannot validate argument on parameter 'NetworkName'/);
    expect((await arm.inspect('ContainerHostVM1')).scriptRuns).toEqual([]);
  });
});
