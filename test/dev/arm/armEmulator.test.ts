import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { hostScripts } from '../../../shared/arc/scripts';
import { LAB, startTestArmEmulator, type TestArmEmulator } from './harness';

let arm: TestArmEmulator;

beforeAll(async () => {
  arm = await startTestArmEmulator({ runDurationInMs: 90 });
});
afterAll(() => arm.close());
beforeEach(() => arm.reset());

const API = 'api-version=2025-01-13';
const HV01 = `/subscriptions/${LAB.subscriptionId}/resourceGroups/${LAB.resourceGroup}/providers/Microsoft.HybridCompute/machines/HV01`;
const script = hostScripts['enable-network-proxy'].text;
const putBody = (properties: Record<string, unknown> = {}, location: unknown = 'westus2') => ({
  location,
  properties: { source: { script }, parameters: [], timeoutInSeconds: 60, ...properties },
});

interface RunCommandBody {
  name: string;
  properties: { provisioningState: string; instanceView?: Record<string, unknown>; protectedParameters: unknown[] };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Every state of a run command from now until it ends, polled every few milliseconds. */
async function observe(path: string): Promise<RunCommandBody[]> {
  const seen: RunCommandBody[] = [];
  for (;;) {
    const body = (await arm.raw('GET', path)).body as RunCommandBody;
    seen.push(body);
    if (!['Pending', 'Running'].includes(String(body.properties.instanceView?.executionState))) return seen;
    await sleep(3);
  }
}

describe('ARM emulator: machines', () => {
  it('serves the machine resource, ids compared without case', async () => {
    const response = await arm.raw('GET', `${HV01.toLowerCase().replace('hv01', 'Hv01')}?${API}`);
    expect(response.status).toBe(200);
    expect(response.headers['x-ms-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(response.body).toMatchObject({
      id: HV01,
      name: 'HV01',
      type: 'Microsoft.HybridCompute/machines',
      location: 'westus2',
      properties: {
        status: 'Connected',
        agentVersion: '1.45.02800.1640',
        osSku: 'Windows Server 2019 Datacenter',
        agentConfiguration: { extensionsBlockList: [] },
      },
    });
    expect((await arm.raw('GET', `${HV01}?api-version=2024-07-10`)).status).toBe(200);
  });

  it("serves fabrikam's container host FabrikamVM1 next to the others, set up like ContainerHostVM1", async () => {
    const path = HV01.replace('HV01', 'FabrikamVM1');
    const response = await arm.raw('GET', `${path}?${API}`);
    expect(response.status).toBe(200);
    const vm1 = (await arm.raw('GET', `${HV01.replace('HV01', 'ContainerHostVM1')}?${API}`)).body as {
      kind: string;
      properties: { vmId: string; osSku: string };
    };
    expect(response.body).toMatchObject({
      id: path,
      name: 'FabrikamVM1',
      type: 'Microsoft.HybridCompute/machines',
      location: 'westus2',
      kind: vm1.kind,
      properties: {
        status: 'Connected',
        agentVersion: '1.45.02800.1640',
        osSku: vm1.properties.osSku,
        vmId: '5a1d2b3c-0000-4000-8000-000000000005',
      },
    });
    const fabrikam = await arm.inspect('FabrikamVM1');
    const contoso = await arm.inspect('ContainerHostVM1');
    expect(fabrikam.role).toBe('ContainerHostVm');
    expect(fabrikam.services).toEqual(contoso.services);
    expect(fabrikam.services.docker?.status).toBe('Running');
    const networks = (machine: typeof fabrikam) => machine.dockerNetworks.map((n) => [n.name, n.driver]);
    expect(networks(fabrikam)).toEqual(networks(contoso));
    expect(fabrikam.registry).toEqual(contoso.registry);
  });

  it.each([
    [
      `/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/sdn-lab/providers/Microsoft.HybridCompute/machines/HV01?${API}`,
      'SubscriptionNotFound',
    ],
    [
      `/subscriptions/${LAB.subscriptionId}/resourceGroups/other/providers/Microsoft.HybridCompute/machines/HV01?${API}`,
      'ResourceGroupNotFound',
    ],
    [`${HV01.replace('HV01', 'HV77')}?${API}`, 'ResourceNotFound'],
    [`${HV01.replace('HV01', 'HV77')}/runCommands/x?${API}`, 'ParentResourceNotFound'],
    [`${HV01}/runCommands/missing?${API}`, 'ResourceNotFound'],
    [`/subscriptions/${LAB.subscriptionId}/providers/Microsoft.Compute/virtualMachines?${API}`, 'InvalidResourceType'],
  ])('404 %s → %s', async (path, code) => {
    const response = await arm.raw('GET', path);
    expect(response).toMatchObject({ status: 404, body: { error: { code } } });
  });

  it('checks api-version', async () => {
    expect(await arm.raw('GET', HV01)).toMatchObject({
      status: 400,
      body: { error: { code: 'MissingApiVersionParameter' } },
    });
    expect(await arm.raw('GET', `${HV01}?api-version=2019-01-01`)).toMatchObject({
      status: 400,
      body: { error: { code: 'InvalidApiVersionParameter' } },
    });
    // The stable 2024-07-10 has machines but no run commands.
    expect(await arm.raw('PUT', `${HV01}/runCommands/rc?api-version=2024-07-10`, putBody())).toMatchObject({
      status: 400,
      body: { error: { code: 'InvalidApiVersionParameter' } },
    });
    expect((await arm.raw('PUT', `${HV01}/runCommands/rc?api-version=2024-11-10-preview`, putBody())).status).toBe(201);
  });

  it('refuses a malformed bearer header', async () => {
    expect(await arm.raw('GET', `${HV01}?${API}`, undefined, { authorization: 'Basic abc' })).toMatchObject({
      status: 401,
      body: { error: { code: 'InvalidAuthenticationToken' } },
    });
    expect((await arm.raw('GET', `${HV01}?${API}`, undefined, { authorization: 'Bearer abc' })).status).toBe(200);
  });
});

describe('ARM emulator: run command validation', () => {
  it.each([
    ['no location', { properties: putBody().properties }, 'LocationRequired'],
    ['another location', putBody({}, 'eastus'), 'InvalidResourceLocation'],
    ['no source', { location: 'westus2', properties: { source: {} } }, 'InvalidParameter'],
    ['two sources', putBody({ source: { script, commandId: 'RunPowerShellScript' } }), 'InvalidParameter'],
    ['a parameter without value', putBody({ parameters: [{ name: 'x' }] }), 'InvalidRequestContent'],
    ['not JSON', '{"location":', 'InvalidRequestContent'],
  ])('400 for %s', async (_case, body, code) => {
    expect(await arm.raw('PUT', `${HV01}/runCommands/rc?${API}`, body)).toMatchObject({
      status: 400,
      body: { error: { code } },
    });
  });

  it('accepts the location with other spelling and checks the name pattern', async () => {
    expect((await arm.raw('PUT', `${HV01}/runCommands/rc?${API}`, putBody({}, 'West US 2'))).status).toBe(201);
    expect(await arm.raw('PUT', `${HV01}/runCommands/bad%20name!?${API}`, putBody())).toMatchObject({
      status: 400,
      body: { error: { code: 'InvalidResourceName' } },
    });
  });
});

describe('ARM emulator: run command lifecycle', () => {
  it('moves Pending → Running → Succeeded with times, and a PUT again re-runs', async () => {
    const created = await arm.raw('PUT', `${HV01}/runCommands/rc?${API}`, putBody());
    expect(created.status).toBe(201);
    expect(created.headers['azure-asyncoperation']).toMatch(
      new RegExp(
        `^${arm.origin}/subscriptions/${LAB.subscriptionId}/providers/Microsoft.HybridCompute/locations/westus2/operationStatuses/`,
      ),
    );
    expect(created.headers.location).toMatch(/operationResults/);
    expect(created.headers['retry-after']).toBe('1');
    expect(created.body).toMatchObject({
      type: 'Microsoft.HybridCompute/machines/runcommands',
      properties: {
        provisioningState: 'Creating',
        protectedParameters: [],
        instanceView: { executionState: 'Pending' },
      },
    });

    const seen = await observe(`${HV01}/runCommands/RC?${API}`);
    expect([...new Set(seen.map((body) => body.properties.instanceView?.executionState))]).toEqual([
      'Pending',
      'Running',
      'Succeeded',
    ]);
    const running = seen.find((body) => body.properties.instanceView?.executionState === 'Running')!;
    expect(running.properties.instanceView).toMatchObject({ startTime: expect.any(String) as unknown });
    expect(running.properties.instanceView?.endTime).toBeUndefined();
    expect(running.properties.provisioningState).toBe('Creating');

    const done = (await arm.raw('GET', `${HV01}/runCommands/rc?${API}`)).body as RunCommandBody;
    expect(done.properties.provisioningState).toBe('Succeeded');
    expect(done.properties.instanceView).toMatchObject({
      executionState: 'Succeeded',
      exitCode: 0,
      endTime: expect.any(String) as unknown,
    });
    expect(done.properties.instanceView?.output).toMatch(
      /SDNATTACH-RESULT \{"script":"enable-network-proxy","version":2,"ok":true,"changed":true/,
    );

    const rerun = await arm.raw('PUT', `${HV01}/runCommands/rc?${API}`, putBody());
    expect(rerun.status).toBe(200);
    expect(rerun.body).toMatchObject({
      properties: { provisioningState: 'Updating', instanceView: { executionState: 'Pending' } },
    });
    await sleep(100);
    expect((await arm.inspect('HV01')).scriptRuns).toHaveLength(2);
  });

  it('never echoes protected parameters', async () => {
    const body = putBody({ protectedParameters: [{ name: 'Secret', value: 's3cret' }] });
    const created = await arm.raw('PUT', `${HV01}/runCommands/rc?${API}`, body);
    await sleep(100);
    const read = await arm.raw('GET', `${HV01}/runCommands/rc?${API}`);
    for (const response of [created, read]) expect(JSON.stringify(response.body)).not.toContain('s3cret');
    // The script has no such parameter, so PowerShell would refuse to bind it.
    expect(read.body).toMatchObject({ properties: { instanceView: { executionState: 'Failed', exitCode: 1 } } });
  });

  it('serves the opaque async-operation and operation-result URLs', async () => {
    const created = await arm.raw('PUT', `${HV01}/runCommands/rc?${API}`, putBody());
    const statusPath = new URL(String(created.headers['azure-asyncoperation'])).pathname;
    const resultPath = new URL(String(created.headers.location)).pathname;
    expect(await arm.raw('GET', statusPath)).toMatchObject({ status: 200, body: { status: 'InProgress' } });
    expect((await arm.raw('GET', resultPath)).status).toBe(202);
    await sleep(100);
    expect(await arm.raw('GET', statusPath)).toMatchObject({
      status: 200,
      body: { status: 'Succeeded', endTime: expect.any(String) as unknown },
    });
    expect(await arm.raw('GET', resultPath)).toMatchObject({ status: 200, body: { name: 'rc' } });
    await arm.raw('PUT', `${HV01}/runCommands/rc?${API}`, putBody());
    expect(await arm.raw('GET', statusPath)).toMatchObject({ body: { status: 'Canceled' } });
  });

  it('completes provisioning at the start with asyncExecution', async () => {
    await arm.raw('PUT', `${HV01}/runCommands/rc?${API}`, putBody({ asyncExecution: true }));
    const seen = await observe(`${HV01}/runCommands/rc?${API}`);
    const running = seen.filter((body) => body.properties.instanceView?.executionState === 'Running');
    expect(running.length).toBeGreaterThan(0);
    for (const body of running) expect(body.properties.provisioningState).toBe('Succeeded');
  });

  it('lists run commands, with the instance view only on $expand', async () => {
    await arm.raw('PUT', `${HV01}/runCommands/a?${API}`, putBody());
    await arm.raw('PUT', `${HV01}/runCommands/b?${API}`, putBody());
    const plain = (await arm.raw('GET', `${HV01}/runCommands?${API}`)).body as { value: RunCommandBody[] };
    expect(plain.value.map((item) => item.name)).toEqual(['a', 'b']);
    expect(plain.value[0]?.properties.instanceView).toBeUndefined();
    const expanded = (await arm.raw('GET', `${HV01}/runCommands?${API}&$expand=instanceView`)).body as {
      value: RunCommandBody[];
    };
    expect(expanded.value[0]?.properties.instanceView).toBeDefined();
  });

  it('deletes: 202 while running (and stops it), 200 when finished, 204 when absent', async () => {
    await arm.raw('PUT', `${HV01}/runCommands/rc?${API}`, putBody());
    expect((await arm.raw('DELETE', `${HV01}/runCommands/rc?${API}`)).status).toBe(202);
    await sleep(100);
    expect((await arm.inspect('HV01')).scriptRuns).toEqual([]);
    await arm.raw('PUT', `${HV01}/runCommands/rc?${API}`, putBody());
    await sleep(100);
    expect((await arm.raw('DELETE', `${HV01}/runCommands/rc?${API}`)).status).toBe(200);
    expect((await arm.raw('DELETE', `${HV01}/runCommands/rc?${API}`)).status).toBe(204);
  });

  it('fails an unknown script with exit 1 and says why', async () => {
    await arm.raw('PUT', `${HV01}/runCommands/rc?${API}`, putBody({ source: { script: 'Write-Output hello' } }));
    await sleep(100);
    const body = (await arm.raw('GET', `${HV01}/runCommands/rc?${API}`)).body as RunCommandBody;
    expect(body.properties.instanceView).toMatchObject({ executionState: 'Failed', exitCode: 1, output: '' });
    expect(body.properties.instanceView?.error).toMatch(/does not run PowerShell.*sdn-attach-script/);
  });

  it("binds parameters against the script's own param block, like PowerShell", async () => {
    const vm = HV01.replace('HV01', 'ContainerHostVM1');
    const network = hostScripts['ensure-container-network'].text;
    const parameters = [
      { name: 'NetworkName', value: 'net;calc' },
      { name: 'Driver', value: 'l2bridge' },
      { name: 'Subnet', value: '192.168.1.0/24' },
      { name: 'Gateway', value: '192.168.1.1' },
    ];
    await arm.raw('PUT', `${vm}/runCommands/rc?${API}`, putBody({ source: { script: network }, parameters }));
    await arm.raw(
      'PUT',
      `${vm}/runCommands/rc2?${API}`,
      putBody({ source: { script: network }, parameters: parameters.slice(1) }),
    );
    await sleep(100);
    const bad = (await arm.raw('GET', `${vm}/runCommands/rc?${API}`)).body as RunCommandBody;
    expect(bad.properties.instanceView).toMatchObject({ executionState: 'Failed', exitCode: 1 });
    expect(bad.properties.instanceView?.error).toMatch(
      /^Cannot validate argument on parameter 'NetworkName'\. The argument "net;calc" does not match/,
    );
    const missing = (await arm.raw('GET', `${vm}/runCommands/rc2?${API}`)).body as RunCommandBody;
    expect(missing.properties.instanceView?.error).toMatch(/missing mandatory parameters: NetworkName/);
    expect((await arm.inspect('ContainerHostVM1')).scriptRuns).toEqual([]);
  });

  it('keeps a run Pending while its machine is Disconnected', async () => {
    const hv02 = HV01.replace('HV01', 'HV02');
    await arm.raw('PUT', `${hv02}/runCommands/rc?${API}`, putBody());
    await sleep(120);
    expect((await arm.raw('GET', `${hv02}/runCommands/rc?${API}`)).body).toMatchObject({
      properties: { instanceView: { executionState: 'Pending' } },
    });
    await arm.setMachine('HV02', { status: 'Connected' });
    await sleep(120);
    expect((await arm.raw('GET', `${hv02}/runCommands/rc?${API}`)).body).toMatchObject({
      properties: { instanceView: { executionState: 'Succeeded' } },
    });
  });

  it.each([
    [{ runCommandOutcome: 'TimedOut' }, { executionState: 'TimedOut' }, 'Succeeded'],
    [{ runCommandOutcome: 'Canceled' }, { executionState: 'Canceled' }, 'Succeeded'],
    [{ runCommandOutcome: 'Failed' }, { executionState: 'Failed' }, 'Failed'],
    [{ runCommandOutcome: { exitCode: 5 } }, { executionState: 'Failed', exitCode: 5 }, 'Succeeded'],
    [
      { extensionsBlockList: ['microsoft.cplat.core/runcommandhandlerwindows'] },
      { executionState: 'Failed' },
      'Failed',
    ],
  ])('machine switch %j', async (switches, instanceView, provisioningState) => {
    await arm.setMachine('HV01', switches);
    await arm.raw('PUT', `${HV01}/runCommands/rc?${API}`, putBody());
    await sleep(100);
    expect((await arm.raw('GET', `${HV01}/runCommands/rc?${API}`)).body).toMatchObject({
      properties: { provisioningState, instanceView },
    });
    expect((await arm.inspect('HV01')).services.nchostagent?.restartCount).toBe(0);
  });

  it('stops a run that takes longer than its timeoutInSeconds', async () => {
    const slow = await startTestArmEmulator({ runDurationInMs: 5_000 });
    try {
      await slow.raw('PUT', `${HV01}/runCommands/rc?${API}`, putBody({ timeoutInSeconds: 1 }));
      await sleep(1_050);
      expect((await slow.raw('GET', `${HV01}/runCommands/rc?${API}`)).body).toMatchObject({
        properties: {
          instanceView: { executionState: 'TimedOut', executionMessage: expect.stringMatching(/1 seconds/) as unknown },
        },
      });
      expect((await slow.inspect('HV01')).scriptRuns).toEqual([]);
    } finally {
      await slow.close();
    }
  });

  it('cuts output and error to the configured tail', async () => {
    await arm.setMachine('HV01', { outputTailBytes: 100 });
    await arm.raw('PUT', `${HV01}/runCommands/rc?${API}`, putBody());
    await sleep(100);
    const body = (await arm.raw('GET', `${HV01}/runCommands/rc?${API}`)).body as RunCommandBody;
    expect(Buffer.byteLength(String(body.properties.instanceView?.output))).toBe(100);
    await arm.setMachine('HV01', { outputTailBytes: null });
    expect((await arm.inspect('HV01')).switches.outputTailBytes).toBe(4096);
  });
});

describe('ARM emulator: faults and control', () => {
  it('injects 429 with Retry-After for a number of times, never on /_emulator', async () => {
    await arm.addFault({ path: '/machines/HV01$', method: 'get', status: 429, retryAfterInSeconds: 3, times: 1 });
    await arm.addFault({ path: '_emulator', status: 500 });
    const throttled = await arm.raw('GET', `${HV01}?${API}`);
    expect(throttled).toMatchObject({ status: 429, body: { error: { code: 'TooManyRequests' } } });
    expect(throttled.headers['retry-after']).toBe('3');
    expect((await arm.raw('GET', `${HV01}?${API}`)).status).toBe(200);
    expect((await arm.raw('GET', '/_emulator/machines/HV01')).status).toBe(200);
    const listed = (await arm.raw('GET', '/_emulator/faults')).body as {
      value: { hits: number; remaining?: number }[];
    };
    expect(listed.value[0]).toMatchObject({ hits: 1, remaining: 0 });
    expect((await arm.raw('DELETE', '/_emulator/faults')).status).toBe(204);
  });

  it('injects an ARM error body and latency', async () => {
    await arm.addFault({
      path: 'runCommands',
      status: 409,
      error: { code: 'Conflict', message: 'Another operation is in progress.' },
    });
    await arm.addFault({ path: 'HV01$', latencyInMs: 150 });
    expect(await arm.raw('PUT', `${HV01}/runCommands/rc?${API}`, putBody())).toMatchObject({
      status: 409,
      body: { error: { code: 'Conflict', message: 'Another operation is in progress.' } },
    });
    const started = Date.now();
    expect((await arm.raw('GET', `${HV01}?${API}`)).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('refuses a bad fault rule and bad machine switches', async () => {
    expect((await arm.raw('POST', '/_emulator/faults', { path: '(' })).status).toBe(400);
    expect((await arm.raw('PUT', '/_emulator/machines/HV01', { status: 'Sleeping' })).status).toBe(400);
    expect((await arm.raw('PUT', '/_emulator/machines/HV01', { hnsFailure: 'x' })).status).toBe(400);
    expect((await arm.raw('GET', '/_emulator/machines/HV77')).status).toBe(404);
  });

  it('inspects a machine and resets to the seed', async () => {
    const vm = await arm.inspect('containerhostvm1');
    expect(vm).toMatchObject({
      name: 'ContainerHostVM1',
      status: 'Connected',
      services: { docker: { status: 'Running', restartCount: 0 }, hns: { status: 'Running', restartCount: 0 } },
      firewallRules: [],
      runCommands: [],
      scriptRuns: [],
    });
    expect(vm.dockerNetworks.map((network) => [network.name, network.driver])).toEqual([['nat', 'nat']]);
    const all = (await arm.raw('GET', '/_emulator/machines')).body as { value: { name: string; status: string }[] };
    expect(all.value.map((machine) => [machine.name, machine.status])).toEqual([
      ['HV01', 'Connected'],
      ['ContainerHostVM1', 'Connected'],
      ['HV02', 'Disconnected'],
      ['ContainerHostVM2', 'Connected'],
      ['FabrikamVM1', 'Connected'],
    ]);
    await arm.setMachine('HV01', { status: 'Disconnected' });
    await arm.reset();
    expect((await arm.inspect('HV01')).status).toBe('Connected');
  });
});
