import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { SimulatedDocker } from '../../../dev/arm/SimulatedDocker';
import type { RunCommandParameter } from '../../../shared/arc/scripts';
import { startTestArmEmulator, type TestArmEmulator } from './harness';

let arm: TestArmEmulator;

beforeAll(async () => {
  arm = await startTestArmEmulator({ runDurationInMs: 15 });
});
afterAll(() => arm.close());
beforeEach(() => arm.reset());

const VM = 'ContainerHostVM1';
const network: RunCommandParameter[] = Object.entries({
  NetworkName: 'MyContainerOverlayNetwork',
  Driver: 'l2bridge',
  Subnet: '192.168.1.0/24',
  Gateway: '192.168.1.1',
}).map(([name, value]) => ({ name, value }));

/** Steps 3 and 4 done, and a container on the network. */
async function attached(): Promise<void> {
  expect((await arm.runScript(VM, 'install-private-cloud-plugin')).result).toMatchObject({ ok: true });
  expect((await arm.runScript(VM, 'ensure-container-network', network)).result).toMatchObject({ ok: true });
  await arm.raw('PUT', `/_emulator/machines/${VM}/containers/web-1`, { networks: ['MyContainerOverlayNetwork'] });
}

describe('simulated reboot', () => {
  it('loses the l2bridge network and the endpoints, keeps the plugin registration, services and run log', async () => {
    await attached();
    const before = await arm.inspect(VM);
    const nat = before.dockerNetworks.find((candidate) => candidate.name === 'nat')!;
    const response = await arm.raw('PUT', `/_emulator/machines/${VM}`, { reboot: true });
    expect(response.status).toBe(200);

    const after = await arm.inspect(VM);
    expect(after.reboots).toBe(1);
    expect(after.registry).toEqual(before.registry);
    expect(after.services).toEqual(before.services);
    expect(after.scriptRuns).toEqual(before.scriptRuns);
    // The daemon makes the default nat network again, with a new id (docker/for-win#2588).
    expect(after.dockerNetworks.map((candidate) => candidate.name)).toEqual(['nat']);
    expect(after.dockerNetworks[0]!.id).not.toBe(nat.id);
    expect(after.dockerContainers).toEqual([{ id: before.dockerContainers[0]!.id, name: 'web-1', networks: [] }]);

    // What verify sees, and what a repair (step 4 again) does.
    expect((await arm.runScript(VM, 'inspect-container-host', network.slice(0, 1))).result).toMatchObject({
      pluginInstalled: true,
      network: { name: 'MyContainerOverlayNetwork', present: false },
    });
    expect((await arm.runScript(VM, 'ensure-container-network', network)).result).toMatchObject({
      action: 'created',
    });
  });

  it('keeps the networks of a machine flagged persistent, but still drops the endpoints', async () => {
    await attached();
    const before = await arm.inspect(VM);
    await arm.setMachine(VM, { persistentNetworks: true, reboot: true });
    const after = await arm.inspect(VM);
    expect(after.switches.persistentNetworks).toBe(true);
    expect(after.dockerNetworks.map(({ containers: _containers, ...rest }) => rest)).toEqual(
      before.dockerNetworks.map(({ containers: _containers, ...rest }) => rest),
    );
    expect(after.dockerNetworks.every((candidate) => Object.keys(candidate.containers).length === 0)).toBe(true);
    expect((await arm.runScript(VM, 'remove-container-network', network.slice(0, 1))).result).toMatchObject({
      action: 'removed',
    });
    await arm.setMachine(VM, { persistentNetworks: null });
    expect((await arm.inspect(VM)).switches.persistentNetworks).toBeUndefined();
  });

  it('reboots a Hyper-V host without Docker, keeping what step 2 wrote', async () => {
    await arm.runScript('HV01', 'enable-network-proxy');
    const before = await arm.inspect('HV01');
    await arm.setMachine('HV01', { reboot: true });
    const after = await arm.inspect('HV01');
    expect(after).toMatchObject({ reboots: 1, registry: before.registry, firewallRules: before.firewallRules });
    expect((await arm.runScript('HV01', 'inspect-hyperv-host')).result).toMatchObject({ networkProxyEnabled: true });
  });

  it.each([
    { reboot: false },
    { reboot: 'yes' },
    { reboot: 1 },
    { persistentNetworks: 'true' },
    { reboot: true, x: 1 },
  ])('refuses %j with 400 and does not reboot', async (body) => {
    const response = await arm.raw('PUT', `/_emulator/machines/${VM}`, body);
    expect(response).toMatchObject({ status: 400, body: { error: { code: 'InvalidRequestContent' } } });
    expect((await arm.inspect(VM)).reboots).toBe(0);
  });

  it('does not reboot when another switch in the same body is refused', async () => {
    const response = await arm.raw('PUT', `/_emulator/machines/${VM}`, { services: { nope: 'Stopped' }, reboot: true });
    expect(response).toMatchObject({ status: 400, body: { error: { code: 'NoSuchService' } } });
    expect((await arm.inspect(VM)).reboots).toBe(0);
  });
});

describe('SimulatedDocker.reboot', () => {
  it('keeps nat networks (the daemon makes them again) and loses every other driver', () => {
    const docker = new SimulatedDocker();
    const natNetwork = docker.create({ name: 'natnet', driver: 'nat', subnet: '172.30.0.0/24', gateway: '172.30.0.1' });
    for (const driver of ['l2bridge', 'l2tunnel', 'transparent']) docker.create({ name: driver, driver });
    docker.reboot({ persistentNetworks: false });
    expect(docker.list().map((network) => network.name)).toEqual(['nat', 'natnet']);
    expect(docker.inspect('natnet').id).toBe(natNetwork.id);
  });
});
