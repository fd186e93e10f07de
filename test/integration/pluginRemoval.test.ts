import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { seedRequest } from '../support/seed';
import { type Stack, startStack } from '../support/stack';

interface MachineSnapshot {
  registry: Record<string, Record<string, unknown>>;
  scriptRuns: { script: string }[];
}

const PLUGIN = 'D5AAF7C4-1B3E-4b49-9CF9-9263FAB9DC6D';
const REMOVE = '/admin/machines/ContainerHostVM1/private-cloud-plugin/remove';

describe('the operator removes the plugin registration from a VM no attachment uses (runner and emulators)', () => {
  let stack: Stack;
  const vm = async () => (await stack.armAdmin('GET', '/_emulator/machines/ContainerHostVM1')) as MachineSnapshot;
  /** The registry keys step 3 writes (the HNS plugin key, the COM class and its InprocServer32), as the VM has them. */
  const registration = async () =>
    Object.keys((await vm()).registry).filter((key) => key.toUpperCase().includes(PLUGIN.toUpperCase()));

  beforeAll(async () => {
    stack = await startStack();
    await stack.armAdmin('POST', '/_emulator/reset');
  });
  afterAll(() => stack.stop());

  it('is refused while the seed example is attached, removes the plugin once it is Detached, and step 3 installs again', async () => {
    expect((await stack.api('POST', '/tenants/contoso/attachments', seedRequest())).status).toBe(202);
    expect(await stack.waitForEnd('contoso', 'seed-1')).toMatchObject({ runtimeStatus: 'Completed' });
    expect((await registration()).length).toBeGreaterThan(0);

    const refused = await stack.api('POST', REMOVE);
    expect(refused.status, refused.text).toBe(409);
    expect(refused.body).toMatchObject({ error: { code: 'MachineInUse' } });
    expect(refused.text).toContain('contoso/seed-1');
    expect((await registration()).length).toBeGreaterThan(0);

    expect((await stack.api('DELETE', '/tenants/contoso/attachments/seed-1')).status).toBe(202);
    expect(await stack.waitForEnd('contoso', 'seed-1')).toMatchObject({ runtimeStatus: 'Detached' });
    expect((await registration()).length).toBeGreaterThan(0);

    const removed = await stack.api('POST', REMOVE);
    expect(removed.status, removed.text).toBe(200);
    expect(removed.body).toMatchObject({
      machine: { machineName: 'ContainerHostVM1' },
      changed: true,
      serviceAction: 'restarted',
      task: { status: 'Applied', script: 'remove-private-cloud-plugin' },
    });
    expect(await registration()).toEqual([]);
    expect((await vm()).scriptRuns.map((run) => run.script)).toContain('remove-private-cloud-plugin');

    // Nothing left to remove: success, unchanged.
    const again = await stack.api('POST', REMOVE);
    expect(again.status, again.text).toBe(200);
    expect(again.body).toMatchObject({ changed: false });

    // The next attachment's step 3 does not reuse the old install: it runs the install script again.
    const next = { ...seedRequest(), attachmentId: 'seed-2' };
    expect((await stack.api('POST', '/tenants/contoso/attachments', next)).status).toBe(202);
    const attached = await stack.waitForEnd('contoso', 'seed-2');
    expect(attached).toMatchObject({ runtimeStatus: 'Completed' });
    const step3 = (attached.steps as { name: string; detail: { reused?: boolean } }[]).find(
      (step) => step.name === 'installPrivateCloudPlugin',
    );
    expect(step3?.detail.reused).toBe(false);
    expect((await registration()).length).toBeGreaterThan(0);
  });

  it('answers hostile machine names with 400 or 404 through the runner, and runs nothing', async () => {
    const runsBefore = (await vm()).scriptRuns.length;
    for (const name of ['..%2FContainerHostVM1', '%2e%2e', 'x%27%20or%20true', 'a%00b', 'a'.repeat(65)]) {
      const response = await stack.api('POST', `/admin/machines/${name}/private-cloud-plugin/remove`);
      expect([400, 404], `${name}: ${response.text}`).toContain(response.status);
    }
    const badQuery = await stack.api('POST', `${REMOVE}?subscriptionId=%27%20or%201%20eq%201`);
    expect(badQuery.status).toBe(400);
    expect(badQuery.body).toMatchObject({ error: { details: [{ target: 'subscriptionId' }] } });
    expect((await vm()).scriptRuns).toHaveLength(runsBefore);
  });
});
