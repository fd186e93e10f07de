import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import type { NetworkInterface } from '../../shared/networkController/resources';
import { seedRequest } from '../support/seed';
import { type Stack, startStack } from '../support/stack';

interface MachineSnapshot {
  dockerNetworks: { name: string }[];
  scriptRuns: { script: string }[];
}

describe('detach through the runner and both emulators', () => {
  let stack: Stack;
  const nicConfigs = async (nic = 'ContainerHostVM1_Net0') =>
    (
      (await stack.nc.admin('GET', `/networking/v1/networkInterfaces/${nic}`)) as NetworkInterface
    ).properties.ipConfigurations.map((c) => c.properties.privateIPAddress);
  const networks = async (machine = 'ContainerHostVM1') =>
    ((await stack.armAdmin('GET', `/_emulator/machines/${machine}`)) as MachineSnapshot).dockerNetworks.map(
      (n) => n.name,
    );
  const attach = async (attachmentId: string, overrides: Record<string, unknown> = {}) => {
    const accepted = await stack.api('POST', '/tenants/contoso/attachments', {
      ...seedRequest(),
      attachmentId,
      ...overrides,
    });
    expect(accepted.status).toBe(202);
    return stack.waitForEnd('contoso', attachmentId);
  };
  const detach = async (attachmentId: string) => {
    const accepted = await stack.api('DELETE', `/tenants/contoso/attachments/${attachmentId}`);
    expect(accepted.status).toBe(202);
    expect(accepted.headers.get('location')).toBe(`${stack.apiUrl}/tenants/contoso/attachments/${attachmentId}`);
    return stack.waitForEnd('contoso', attachmentId);
  };

  beforeAll(async () => {
    // Every verification reads the machines afresh: the test reboots one between two of them.
    stack = await startStack({ env: { MACHINE_TASK_REUSE_MS: '0', INSPECTION_REUSE_MS: '0' } });
  });
  afterAll(() => stack.stop());
  beforeEach(async () => {
    await stack.nc.admin('POST', '/_emulator/reset');
    await stack.armAdmin('POST', '/_emulator/reset');
  });

  it('takes the seed example back off, and the same addresses attach again', async () => {
    expect(await attach('first')).toMatchObject({ runtimeStatus: 'Completed' });
    expect(await nicConfigs()).toHaveLength(11);
    expect(await networks()).toContain('MyContainerOverlayNetwork');

    const detached = await detach('first');
    expect(detached).toMatchObject({
      runtimeStatus: 'Detached',
      currentStep: null,
      detachSteps: [
        { name: 'removeContainerNetwork', status: 'Succeeded', detail: { removed: true } },
        { name: 'removeIpConfigurations', status: 'Succeeded' },
      ],
    });
    expect(await nicConfigs()).toEqual(['192.168.1.9']);
    expect(await networks()).not.toContain('MyContainerOverlayNetwork');

    // Asking again answers the same detach.
    const again = await stack.api('DELETE', '/tenants/contoso/attachments/first');
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ runtimeStatus: 'Detached' });

    expect(await attach('second')).toMatchObject({ runtimeStatus: 'Completed' });
    expect(await nicConfigs()).toHaveLength(11);
    expect(await networks()).toContain('MyContainerOverlayNetwork');
  });

  it('keeps a network another attachment uses, and removes it with the last one', async () => {
    // A network of their own: attachments of the other tests are still on record and would count as users.
    const network = { name: 'SharedNet', driver: 'l2bridge' };
    await attach('left', { network, containerIps: { addresses: ['192.168.1.101', '192.168.1.102'] } });
    await attach('right', { network, containerIps: { addresses: ['192.168.1.103'] } });

    const first = await detach('left');
    expect(first).toMatchObject({
      runtimeStatus: 'Detached',
      detachSteps: [
        { status: 'Succeeded', detail: { removed: false, reason: 'kept, in use by 1 other attachment(s)' } },
        {},
      ],
    });
    expect(await networks()).toContain('SharedNet');
    expect(await nicConfigs()).toEqual(['192.168.1.9', '192.168.1.103']);

    expect(await detach('right')).toMatchObject({ runtimeStatus: 'Detached' });
    expect(await networks()).not.toContain('SharedNet');
    expect(await nicConfigs()).toEqual(['192.168.1.9']);
  });

  it('releases what a Failed attachment holds, so the corrected request completes', async () => {
    // The app's identity may not run commands on the VM: step 3 fails for good after step 1 took the addresses.
    await stack.armAdmin('POST', '/_emulator/faults', {
      method: 'PUT',
      path: '/machines/ContainerHostVM1/runCommands/',
      status: 403,
    });
    const failed = await attach('denied');
    expect(failed).toMatchObject({
      runtimeStatus: 'Failed',
      currentStep: 'installPrivateCloudPlugin',
      lastError: { code: 'AuthorizationFailed' },
    });
    await stack.armAdmin('DELETE', '/_emulator/faults');
    const again = await attach('again');
    expect(again).toMatchObject({ runtimeStatus: 'Failed', lastError: { code: 'PrivateIPAddressInUse' } });
    // The error names the caller's own attachment that holds the addresses.
    expect(String((again.lastError as { message: string }).message)).toMatch(/attachment denied of this tenant/);

    expect(await detach('denied')).toMatchObject({ runtimeStatus: 'Detached' });
    expect((await stack.api('POST', '/tenants/contoso/attachments/again/retry')).status).toBe(202);
    expect(await stack.waitForEnd('contoso', 'again')).toMatchObject({ runtimeStatus: 'Completed' });
  });

  it('changes nothing for a request naming a machine that does not exist (the look ahead refuses it)', async () => {
    const failed = await attach('typo', { containerHost: { machineName: 'ContainerHostVM9' } });
    expect(failed).toMatchObject({
      runtimeStatus: 'Failed',
      currentStep: 'addIpConfigurations',
      lastError: { code: 'ResourceNotFound' },
    });
    expect(String((failed.lastError as { message: string }).message)).toMatch(/^containerHost \(ContainerHostVM9\)/);
    expect(await nicConfigs()).toEqual(['192.168.1.9']);
  });

  it('cancels a Running attachment first, then detaches what it had done', async () => {
    await stack.armAdmin('POST', '/_emulator/faults', {
      method: 'GET',
      path: '/machines/HV01$',
      latencyInMs: 1500,
      times: 1,
    });
    await stack.api('POST', '/tenants/contoso/attachments', { ...seedRequest(), attachmentId: 'midway' });
    for (let i = 0; i < 100; i++) {
      const status = await stack.api('GET', '/tenants/contoso/attachments/midway');
      if ((status.body.steps as { status: string }[] | undefined)?.[1]?.status === 'Running') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const detached = await detach('midway');
    expect(detached).toMatchObject({
      runtimeStatus: 'Detached',
      steps: [{ status: 'Succeeded' }, { status: 'Succeeded' }, { status: 'Canceled' }, { status: 'Pending' }],
      detachSteps: [
        { detail: { removed: false, reason: 'this attachment never reached step 4' } },
        { status: 'Succeeded' },
      ],
    });
    expect(await nicConfigs()).toEqual(['192.168.1.9']);
    const types = (detached.history as { type: string }[]).map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['DetachRequested', 'Canceled', 'DetachStarted', 'Detached']));
  });

  it('detaches from the entry queue too, and poisons a detach it cannot run', async () => {
    await attach('queued', { containerIps: { addresses: ['192.168.1.120'] } });
    await stack.sendToQueue('attach-requests', {
      schemaVersion: 1,
      action: 'detach',
      tenantId: 'contoso',
      attachmentId: 'queued',
    });
    for (let i = 0; i < 200; i++) {
      const status = await stack.api('GET', '/tenants/contoso/attachments/queued');
      if (status.body.runtimeStatus === 'Detached') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await stack.waitForEnd('contoso', 'queued')).toMatchObject({ runtimeStatus: 'Detached' });

    const hostile = { action: 'detach', tenantId: 'contoso', attachmentId: 'nope', extra: 'x' };
    await stack.sendToQueue('attach-requests', hostile);
    for (let i = 0; i < 100 && (await stack.peekRaw('attach-requests-poison')).length === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect((await stack.peekRaw('attach-requests-poison')).length).toBeGreaterThan(0);
  });

  it('verifies what an attachment made, finds the network lost in a reboot, and repairs only that', async () => {
    const network = { name: 'RebootNet', driver: 'l2bridge' };
    await attach('rebooted', { network, containerIps: { addresses: ['192.168.1.130'] } });
    const before = await stack.api('GET', '/tenants/contoso/attachments/rebooted/verification');
    expect(before.status).toBe(200);
    expect(before.body).toMatchObject({ verification: { intact: true, missing: [] } });
    expect((await stack.api('POST', '/tenants/contoso/attachments/rebooted/repair')).status).toBe(200);

    await stack.armAdmin('PUT', '/_emulator/machines/ContainerHostVM1', { reboot: true });
    const runs = async () =>
      ((await stack.armAdmin('GET', '/_emulator/machines/ContainerHostVM1')) as MachineSnapshot).scriptRuns
        .map((r) => r.script)
        .filter((script) => !script.startsWith('inspect-'));
    const runsBefore = (await runs()).length;
    const after = await stack.api('GET', '/tenants/contoso/attachments/rebooted/verification');
    expect(after.body).toMatchObject({
      verification: {
        intact: false,
        missing: ['createContainerNetwork'],
        steps: [{ state: 'Intact' }, { state: 'Intact' }, { state: 'Intact' }, { state: 'Missing' }],
      },
    });

    const repair = await stack.api('POST', '/tenants/contoso/attachments/rebooted/repair');
    expect(repair.status).toBe(202);
    expect(repair.body).toMatchObject({ repairing: ['createContainerNetwork'] });
    const repaired = await stack.waitForEnd('contoso', 'rebooted');
    expect(repaired).toMatchObject({ runtimeStatus: 'Completed', steps: [{ attempts: 1 }, {}, {}, { attempts: 1 }] });
    expect(await networks()).toContain('RebootNet');
    expect((await runs()).slice(runsBefore)).toEqual(['ensure-container-network']);
  });

  it('answers 404 for an unknown attachment and 400 for a hostile id', async () => {
    expect((await stack.api('DELETE', '/tenants/contoso/attachments/nope')).status).toBe(404);
    expect((await stack.api('DELETE', `/tenants/contoso/attachments/${encodeURIComponent('a/../b')}`)).status).toBe(
      400,
    );
  });
});
