import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { runScriptOnMachine } from '../../../dev/arm/scriptEffects';
import { seedMachines } from '../../../dev/arm/seed';
import { parseResultLine } from '../../../shared/arc/resultLine';
import { removeContainerNetworkScript, type RunCommandParameter } from '../../../shared/arc/scripts';
import { startTestArmEmulator, type TestArmEmulator } from './harness';

let arm: TestArmEmulator;

beforeAll(async () => {
  arm = await startTestArmEmulator({ runDurationInMs: 15 });
});
afterAll(() => arm.close());
beforeEach(() => arm.reset());

const VM = 'ContainerHostVM1';
const NAME = 'MyContainerOverlayNetwork';

const parametersOf = (values: Record<string, string>): RunCommandParameter[] =>
  Object.entries(values).map(([name, value]) => ({ name, value }));

const created = { NetworkName: NAME, Driver: 'l2bridge', Subnet: '192.168.1.0/24', Gateway: '192.168.1.1' };

async function createNetwork(overrides: Record<string, string> = {}): Promise<string> {
  const { result } = await arm.runScript(VM, 'ensure-container-network', parametersOf({ ...created, ...overrides }));
  expect(result).toMatchObject({ ok: true, action: 'created' });
  return (result?.network as { id: string }).id;
}

const remove = (values: Record<string, string> = created) =>
  arm.runScript(VM, 'remove-container-network', parametersOf(values));

async function connect(container: string, networks: string[]): Promise<void> {
  const response = await arm.raw('PUT', `/_emulator/machines/${VM}/containers/${container}`, { networks });
  expect([200, 201]).toContain(response.status);
}

describe('remove-container-network on the emulator', () => {
  it('treats an absent network as done: ok, unchanged, and recorded in the run log', async () => {
    const { view, result } = await remove();
    expect(view).toMatchObject({ executionState: 'Succeeded', exitCode: 0 });
    expect(result).toEqual({
      script: 'remove-container-network',
      version: 2,
      ok: true,
      changed: false,
      action: 'absent',
      network: null,
      engineVersion: '20.10.24',
    });
    const vm = await arm.inspect(VM);
    expect(vm.scriptRuns.map((run) => [run.script, run.version, run.parameters])).toEqual([
      ['remove-container-network', 2, created],
    ]);
  });

  it('removes the network it is asked for, verifies it is gone, and a second run changes nothing', async () => {
    const id = await createNetwork();
    await createNetwork({ NetworkName: `${NAME}2`, Subnet: '192.168.2.0/24', Gateway: '192.168.2.1' });
    const first = await remove();
    expect(first.result).toEqual({
      script: 'remove-container-network',
      version: 2,
      ok: true,
      changed: true,
      action: 'removed',
      network: { name: NAME, id, driver: 'l2bridge', subnet: '192.168.1.0/24', gateway: '192.168.1.1' },
      engineVersion: '20.10.24',
    });
    expect(first.view.output).toContain(`removed docker network '${NAME}' (${id})`);
    // Exact names: the network whose name starts the same is still there, and so is nat.
    expect((await arm.inspect(VM)).dockerNetworks.map((network) => network.name)).toEqual(['nat', `${NAME}2`]);

    const second = await remove();
    expect(second.result).toMatchObject({ ok: true, changed: false, action: 'absent' });
    // A name that only starts another network's name is absent, even though docker's name filter would match it.
    expect((await remove({ NetworkName: 'MyContainerOverlay' })).result).toMatchObject({ action: 'absent' });
    expect((await arm.inspect(VM)).dockerNetworks.map((network) => network.name)).toEqual(['nat', `${NAME}2`]);
  });

  it('removes with the name alone, and an l2tunnel network', async () => {
    await createNetwork({ Driver: 'l2tunnel' });
    expect((await remove({ NetworkName: NAME })).result).toMatchObject({
      changed: true,
      action: 'removed',
      network: { driver: 'l2tunnel' },
    });
  });

  it('refuses while containers are connected, naming them, and succeeds once they are gone', async () => {
    await createNetwork();
    await connect('web-1', [NAME]);
    await connect('web-2', [NAME, 'nat']);
    await connect('other', ['nat']);
    const vm = await arm.inspect(VM);
    const ids = Object.fromEntries(vm.dockerContainers.map((container) => [container.name, container.id]));
    const listed = [
      { id: ids['web-1']!.slice(0, 12), name: 'web-1' },
      { id: ids['web-2']!.slice(0, 12), name: 'web-2' },
    ].sort((a, b) => (a.id < b.id ? -1 : 1));

    const refused = await remove();
    expect(refused.view).toMatchObject({ executionState: 'Failed', exitCode: 1 });
    expect(refused.result).toMatchObject({
      ok: false,
      changed: false,
      error: {
        code: 'ContainersStillConnected',
        permanent: false,
        message:
          `Docker network '${NAME}' still has 2 connected container(s): ${listed.map((c) => c.name).join(', ')}. ` +
          'It was left in place; disconnect or stop them, then retry.',
      },
      network: { name: NAME, driver: 'l2bridge' },
      containers: listed,
      containerCount: 2,
    });
    expect(refused.view.error).toMatch(/^ContainersStillConnected: /);
    expect((await arm.inspect(VM)).dockerNetworks.map((network) => network.name)).toContain(NAME);

    expect((await arm.raw('DELETE', `/_emulator/machines/${VM}/containers/web-1`)).status).toBe(204);
    await connect('web-2', ['nat']);
    expect((await remove()).result).toMatchObject({ ok: true, changed: true, action: 'removed' });
  });

  it('keeps the result line inside the 4,096-byte tail with many containers', async () => {
    await createNetwork();
    for (let index = 0; index < 25; index++) await connect(`container-${String(index).padStart(2, '0')}`, [NAME]);
    const { view, result } = await remove();
    expect(result).toMatchObject({ error: { code: 'ContainersStillConnected' }, containerCount: 25 });
    expect(result?.containers).toHaveLength(20);
    expect(result?.error?.message).toMatch(/25 connected container\(s\): (container-\d\d, ){5}and 20 more\./);
    const line = view.output?.trim().split('\n').at(-1) ?? '';
    expect(Buffer.byteLength(line)).toBeLessThan(4096);
  });

  it.each(['nat', 'none', 'default'])('refuses the predefined network %j and touches nothing', async (name) => {
    const { result } = await remove({ NetworkName: name });
    expect(result).toMatchObject({
      ok: false,
      changed: false,
      error: { code: 'PredefinedNetwork', permanent: true },
    });
    expect((await arm.inspect(VM)).dockerNetworks.map((network) => network.name)).toEqual(['nat']);
  });

  it('refuses a network with other settings than the attachment created, and leaves it', async () => {
    await createNetwork();
    const { result } = await remove({ ...created, Subnet: '192.168.2.0/24', Gateway: '192.168.2.1' });
    expect(result).toMatchObject({
      ok: false,
      error: {
        code: 'NetworkMismatch',
        permanent: true,
        message:
          `Docker network '${NAME}' has subnet '192.168.1.0/24' (expected '192.168.2.0/24'), gateway '192.168.1.1' ` +
          "(expected '192.168.2.1'): it is not the network this attachment created, so it was left in place.",
      },
      network: { name: NAME, subnet: '192.168.1.0/24' },
    });
    expect((await remove({ NetworkName: NAME, Driver: 'l2tunnel' })).result).toMatchObject({
      error: { code: 'NetworkMismatch' },
    });
    expect((await arm.inspect(VM)).dockerNetworks.map((network) => network.name)).toContain(NAME);
  });

  it('reports an HNS failure on removal as retryable and keeps the network', async () => {
    await createNetwork();
    await arm.setMachine(VM, { hnsFailure: 'The device is not ready. (0x15)' });
    const { result } = await remove();
    expect(result).toMatchObject({
      ok: false,
      error: {
        code: 'DockerCommandFailed',
        permanent: false,
        message:
          'docker network rm failed: Error response from daemon: hnsCall failed in Win32: The device is not ready. (0x15)',
      },
    });
    await arm.setMachine(VM, { hnsFailure: null });
    expect((await remove()).result).toMatchObject({ action: 'removed' });
  });

  it('reports a stopped engine as retryable and a machine without Docker as permanent', async () => {
    await arm.setMachine(VM, { services: { docker: 'Stopped' } });
    expect((await remove()).result).toMatchObject({ error: { code: 'DockerUnavailable', permanent: false } });
    expect((await arm.runScript('HV01', 'remove-container-network', parametersOf(created))).result).toMatchObject({
      error: { code: 'DockerNotFound', permanent: true },
    });
  });

  it('refuses an engine before 1.13 permanently, and reports CLI warnings apart', async () => {
    await createNetwork();
    await arm.setMachine(VM, { dockerEngineVersion: '1.12.2-cs2-ws-beta' });
    expect((await remove()).result).toMatchObject({ error: { code: 'DockerTooOld', permanent: true } });
    await arm.setMachine(VM, { dockerEngineVersion: '20.10.24', dockerCliWarnings: ['WARNING: config.json'] });
    expect((await remove()).result).toMatchObject({ action: 'removed', dockerWarnings: ['WARNING: config.json'] });
  });

  it("binds parameters against the script's own param block", async () => {
    const { view } = await remove({ NetworkName: 'net;calc' });
    expect(view.error).toMatch(/^Cannot validate argument on parameter 'NetworkName'/);
    expect((await arm.inspect(VM)).scriptRuns).toEqual([]);
  });
});

describe('remove-container-network against networks only Docker can make', () => {
  function runOn(setup: (docker: NonNullable<ReturnType<typeof seedMachines>[number]['docker']>) => void) {
    const vm = seedMachines().find((machine) => machine.name === VM)!;
    setup(vm.docker!);
    const outcome = runScriptOnMachine(vm, removeContainerNetworkScript.text, [{ name: 'NetworkName', value: NAME }]);
    return { vm, outcome, result: parseResultLine(outcome.output) };
  }

  it.each(['transparent', 'nat', 'ics'])('never removes a %s network (not one this product creates)', (driver) => {
    const { vm, result } = runOn((docker) => docker.create({ name: NAME, driver }));
    expect(result).toMatchObject({
      ok: false,
      changed: false,
      error: {
        code: 'NetworkNotManaged',
        permanent: true,
        message: `Docker network '${NAME}' has driver '${driver}'; this product only creates l2bridge and l2tunnel networks, so it leaves this one alone.`,
      },
      network: { name: NAME, driver },
    });
    expect(vm.docker!.list().map((network) => network.name)).toContain(NAME);
  });
});
