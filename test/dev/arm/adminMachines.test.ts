import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { LAB, startTestArmEmulator, type TestArmEmulator } from './harness';

let arm: TestArmEmulator;

beforeAll(async () => {
  arm = await startTestArmEmulator({ runDurationInMs: 15 });
});
afterAll(() => arm.close());
beforeEach(() => arm.reset());

const API = 'api-version=2025-01-13';
const OTHER_SUBSCRIPTION = '11111111-2222-4333-8444-555555555555';
const machinePath = (
  name: string,
  resourceGroup: string = LAB.resourceGroup,
  subscription: string = LAB.subscriptionId,
) =>
  `/subscriptions/${subscription}/resourceGroups/${resourceGroup}/providers/Microsoft.HybridCompute/machines/${name}?${API}`;

describe('admin route: machines onboarded at run time', () => {
  it('POST adds Hyper-V hosts and container host VMs that ARM then serves like the seeded ones', async () => {
    const added = await arm.raw('POST', '/_emulator/machines', {
      machines: [
        { name: 'hv-t1', role: 'HyperVHost' },
        { name: 'vm-t1.a', role: 'ContainerHostVm', resourceGroup: 'tenant-1', subscriptionId: OTHER_SUBSCRIPTION },
      ],
    });
    expect(added).toMatchObject({
      status: 201,
      body: {
        value: [
          { name: 'hv-t1', role: 'HyperVHost', subscriptionId: LAB.subscriptionId, resourceGroup: LAB.resourceGroup },
          { name: 'vm-t1.a', role: 'ContainerHostVm', subscriptionId: OTHER_SUBSCRIPTION, resourceGroup: 'tenant-1' },
        ],
      },
    });
    const [host, vm] = (added.body as { value: { vmId: string }[] }).value;
    expect(host?.vmId).not.toBe(vm?.vmId);

    expect(await arm.raw('GET', machinePath('HV-T1'))).toMatchObject({
      status: 200,
      body: { name: 'hv-t1', properties: { status: 'Connected', vmId: host?.vmId } },
    });
    expect((await arm.raw('GET', machinePath('vm-t1.a', 'tenant-1', OTHER_SUBSCRIPTION))).status).toBe(200);
    // Only where it was onboarded.
    expect((await arm.raw('GET', machinePath('vm-t1.a'))).status).toBe(404);

    const hostState = await arm.inspect('hv-t1');
    expect(hostState.services).toMatchObject({ nchostagent: { status: 'Running' }, vmms: { status: 'Running' } });
    const vmState = await arm.inspect('vm-t1.a');
    expect(vmState.services).toMatchObject({ docker: { status: 'Running' }, hns: { status: 'Running' } });
    expect(vmState.dockerNetworks.map((n) => n.name)).toEqual(['nat']);
  });

  it('runs a product script on an added machine', async () => {
    await arm.raw('POST', '/_emulator/machines', { machines: [{ name: 'hv-run', role: 'HyperVHost' }] });
    const { view, result } = await arm.runScript('hv-run', 'enable-network-proxy');
    expect(view.executionState).toBe('Succeeded');
    expect(result?.ok).toBe(true);
    expect((await arm.inspect('hv-run')).scriptRuns).toHaveLength(1);
    // The seeded host was not touched.
    expect((await arm.inspect('HV01')).scriptRuns).toHaveLength(0);
  });

  it('refuses a name already taken, in the emulator or twice in the body, and then adds nothing', async () => {
    const before = (await arm.raw('GET', '/_emulator/machines')).body as { value: unknown[] };
    for (const machines of [
      [{ name: 'hv01', role: 'HyperVHost' }],
      [
        { name: 'new-1', role: 'HyperVHost' },
        { name: 'NEW-1', role: 'ContainerHostVm' },
      ],
    ]) {
      expect(await arm.raw('POST', '/_emulator/machines', { machines })).toMatchObject({
        status: 409,
        body: { error: { code: 'Conflict' } },
      });
    }
    expect(((await arm.raw('GET', '/_emulator/machines')).body as { value: unknown[] }).value).toHaveLength(
      before.value.length,
    );
    expect((await arm.raw('GET', '/_emulator/machines/new-1')).status).toBe(404);
  });

  it.each([
    [undefined],
    ['{"machines":'],
    [{}],
    [{ machines: [] }],
    [{ machines: [{ name: 'x' }] }],
    [{ machines: [{ name: 'x', role: 'DomainController' }] }],
    [{ machines: [{ name: '-x', role: 'HyperVHost' }] }],
    [{ machines: [{ name: 'x;calc', role: 'HyperVHost' }] }],
    [{ machines: [{ name: '../HV01', role: 'HyperVHost' }] }],
    [{ machines: [{ name: 'x'.repeat(65), role: 'HyperVHost' }] }],
    [{ machines: [{ name: 'x', role: 'HyperVHost', resourceGroup: 'rg.' }] }],
    [{ machines: [{ name: 'x', role: 'HyperVHost', subscriptionId: 'not-a-guid' }] }],
    [{ machines: [{ name: 'x', role: 'HyperVHost', status: 'Connected' }] }],
    [{ machines: Array.from({ length: 5_001 }, (_, i) => ({ name: `m${i}`, role: 'HyperVHost' })) }],
  ])('refuses the body %j with 400 and adds nothing', async (body) => {
    const response = await arm.raw('POST', '/_emulator/machines', body);
    expect(response).toMatchObject({ status: 400, body: { error: { code: 'InvalidRequestContent' } } });
    expect((await arm.raw('GET', '/_emulator/machines/x')).status).toBe(404);
  });

  it('forgets added machines on reset', async () => {
    await arm.raw('POST', '/_emulator/machines', { machines: [{ name: 'hv-gone', role: 'HyperVHost' }] });
    await arm.reset();
    expect((await arm.raw('GET', '/_emulator/machines/hv-gone')).status).toBe(404);
    expect((await arm.raw('GET', '/_emulator/machines/HV01')).status).toBe(200);
  });

  it('allows only GET and POST on the collection', async () => {
    expect((await arm.raw('DELETE', '/_emulator/machines')).status).toBe(405);
    expect((await arm.raw('PUT', '/_emulator/machines', { machines: [] })).status).toBe(405);
  });
});
