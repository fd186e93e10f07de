import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { runScriptOnMachine } from '../../../dev/arm/scriptEffects';
import { seedMachines } from '../../../dev/arm/seed';
import { parseResultLine } from '../../../shared/arc/resultLine';
import { hostScripts, removePrivateCloudPluginScript } from '../../../shared/arc/scripts';
import { installPrivateCloudPluginTable, PLUGIN_KEY } from '../../shared/arc/factSheet';
import { startTestArmEmulator, type TestArmEmulator } from './harness';

let arm: TestArmEmulator;

beforeAll(async () => {
  arm = await startTestArmEmulator({ runDurationInMs: 15 });
});
afterAll(() => arm.close());
beforeEach(() => arm.reset());

const VM = 'ContainerHostVM1';
const CLASS_KEY = 'HKLM\\Software\\Classes\\CLSID\\{D5AAF7C4-1B3E-4b49-9CF9-9263FAB9DC6D}';
const REMOVED_KEYS = [PLUGIN_KEY, CLASS_KEY].map((key) => key.replace(/^HKLM\\/, ''));
const registrationKeys = new Set(installPrivateCloudPluginTable.map((row) => row.key.toLowerCase()));

/** The registry keys of the plugin's registration that the machine still has values under. */
async function registrationLeft(name: string): Promise<string[]> {
  const { registry } = await arm.inspect(name);
  return Object.keys(registry).filter((key) => registrationKeys.has(key.toLowerCase()));
}

describe('remove-private-cloud-plugin on the emulator', () => {
  it('finds nothing registered on a fresh VM: ok, unchanged, hns left alone', async () => {
    const { view, result } = await arm.runScript(VM, 'remove-private-cloud-plugin');
    expect(view).toMatchObject({ executionState: 'Succeeded', exitCode: 0 });
    expect(result).toEqual({
      script: 'remove-private-cloud-plugin',
      version: 2,
      ok: true,
      changed: false,
      removedKeys: [],
      agentSettingsRemoved: false,
      serviceAction: 'none',
      serviceStatus: 'Running',
    });
    expect((await arm.inspect(VM)).services.hns?.restartCount).toBe(0);
  });

  it('removes both keys step 3 wrote, restarts hns once, and a second run changes nothing', async () => {
    await arm.runScript(VM, 'install-private-cloud-plugin');
    expect(await registrationLeft(VM)).toHaveLength(3);
    const first = await arm.runScript(VM, 'remove-private-cloud-plugin');
    expect(first.result).toEqual({
      script: 'remove-private-cloud-plugin',
      version: 2,
      ok: true,
      changed: true,
      removedKeys: REMOVED_KEYS,
      agentSettingsRemoved: false,
      serviceAction: 'restarted',
      serviceStatus: 'Running',
    });
    expect(first.view.output).toContain(`removed HKLM\\${REMOVED_KEYS[1]}`);
    expect(await registrationLeft(VM)).toEqual([]);
    const vm = await arm.inspect(VM);
    expect(vm.services.hns).toEqual({ status: 'Running', restartCount: 2 });
    // The hns Parameters key itself, which the VM had before step 3, is still there.
    expect((await arm.runScript(VM, 'inspect-container-host')).result).toMatchObject({
      pluginInstalled: false,
      agentSettings: 'none',
    });

    const second = await arm.runScript(VM, 'remove-private-cloud-plugin');
    expect(second.result).toMatchObject({ changed: false, removedKeys: [], serviceAction: 'none' });
    expect((await arm.inspect(VM)).services.hns?.restartCount).toBe(2);
    expect((await arm.inspect(VM)).scriptRuns.map((run) => run.script)).toEqual([
      'install-private-cloud-plugin',
      'remove-private-cloud-plugin',
      'inspect-container-host',
      'remove-private-cloud-plugin',
    ]);
  });

  it('removes the plugin key with the agent settings on it, and says so', async () => {
    const { result } = await arm.runScript('ContainerHostVM2', 'remove-private-cloud-plugin');
    expect(result).toMatchObject({
      changed: true,
      removedKeys: [REMOVED_KEYS[0]],
      agentSettingsRemoved: true,
      serviceAction: 'restarted',
    });
    expect((await arm.inspect('ContainerHostVM2')).registry[PLUGIN_KEY]).toBeUndefined();
  });

  it('completes what Microsoft -remove leaves: a plugin key without its class', () => {
    const vm = seedMachines().find((machine) => machine.name === VM)!;
    runScriptOnMachine(vm, hostScripts['install-private-cloud-plugin'].text, []);
    vm.registry.deleteKeyTree(CLASS_KEY);
    // InstallPrivateCloudPlugin.ps1 -remove recreates the plugin key empty with New-Item -Force.
    vm.registry.newItemForce(PLUGIN_KEY);
    const result = parseResultLine(runScriptOnMachine(vm, removePrivateCloudPluginScript.text, []).output);
    expect(result).toMatchObject({ ok: true, changed: true, removedKeys: [REMOVED_KEYS[0]] });
    expect(vm.registry.hasKey(PLUGIN_KEY)).toBe(false);
  });

  it('removes nothing while an l2bridge or l2tunnel network needs the plugin, and succeeds once it is gone', async () => {
    await arm.runScript(VM, 'install-private-cloud-plugin');
    const network = [
      { name: 'NetworkName', value: 'MyContainerOverlayNetwork' },
      { name: 'Driver', value: 'l2tunnel' },
      { name: 'Subnet', value: '192.168.1.0/24' },
      { name: 'Gateway', value: '192.168.1.1' },
    ];
    await arm.runScript(VM, 'ensure-container-network', network);
    const refused = await arm.runScript(VM, 'remove-private-cloud-plugin');
    expect(refused.view).toMatchObject({ executionState: 'Failed', exitCode: 1 });
    expect(refused.result).toEqual({
      script: 'remove-private-cloud-plugin',
      version: 2,
      ok: false,
      changed: false,
      error: {
        code: 'ContainerNetworksStillPresent',
        permanent: false,
        message:
          '1 l2bridge or l2tunnel Docker network(s) still use the plugin: MyContainerOverlayNetwork. Nothing was ' +
          'removed; remove those networks first, then retry.',
      },
      networks: [{ name: 'MyContainerOverlayNetwork', driver: 'l2tunnel' }],
      networkCount: 1,
    });
    expect(await registrationLeft(VM)).toHaveLength(3);
    expect((await arm.inspect(VM)).services.hns?.restartCount).toBe(1);

    await arm.runScript(VM, 'remove-container-network', network.slice(0, 1));
    expect((await arm.runScript(VM, 'remove-private-cloud-plugin')).result).toMatchObject({ ok: true, changed: true });
  });

  it('needs an answering engine only when there is something to remove', async () => {
    await arm.setMachine(VM, { services: { docker: 'Stopped' } });
    expect((await arm.runScript(VM, 'remove-private-cloud-plugin')).result).toMatchObject({ ok: true, changed: false });
    await arm.setMachine(VM, { services: { docker: 'Running' } });
    await arm.runScript(VM, 'install-private-cloud-plugin');
    await arm.setMachine(VM, { services: { docker: 'Stopped' } });
    expect((await arm.runScript(VM, 'remove-private-cloud-plugin')).result).toMatchObject({
      ok: false,
      error: { code: 'DockerUnavailable', permanent: false },
    });
    expect(await registrationLeft(VM)).toHaveLength(3);
  });

  it('takes no parameters', async () => {
    const { view } = await arm.runScript(VM, 'remove-private-cloud-plugin', [{ name: 'Force', value: 'true' }]);
    expect(view.error).toMatch(/^A parameter cannot be found that matches parameter name 'Force'/);
  });
});
