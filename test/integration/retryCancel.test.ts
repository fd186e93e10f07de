import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { seedRequest } from '../support/seed';
import { type Stack, startStack } from '../support/stack';

describe('retry and cancel through the runner', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({ env: { MACHINE_TASK_REUSE_MS: '0' } });
  });
  afterAll(() => stack.stop());
  beforeEach(async () => {
    await stack.nc.admin('POST', '/_emulator/reset');
    await stack.armAdmin('POST', '/_emulator/reset');
  });

  it('restarts a Failed attachment from its failed step and takes it to Completed', async () => {
    await stack.nc.admin('POST', '/_emulator/faults', {
      method: 'PUT',
      path: '^/networkInterfaces/',
      status: 400,
      error: { code: 'ReferencedResourceNotProvisioned', message: 'The ACL is still Updating.' },
    });
    await stack.api('POST', '/tenants/contoso/attachments', { ...seedRequest(), attachmentId: 'retry-me' });
    const failed = await stack.waitForEnd('contoso', 'retry-me');
    expect(failed).toMatchObject({ runtimeStatus: 'Failed', lastError: { code: 'ReferencedResourceNotProvisioned' } });

    expect((await stack.api('POST', '/tenants/contoso/attachments/retry-me/cancel')).status).toBe(409);
    await stack.nc.admin('DELETE', '/_emulator/faults');
    const retried = await stack.api('POST', '/tenants/contoso/attachments/retry-me/retry');
    expect(retried.status).toBe(202);
    expect(retried.headers.get('location')).toBe(`${stack.apiUrl}/tenants/contoso/attachments/retry-me`);
    const done = await stack.waitForEnd('contoso', 'retry-me');
    expect(done).toMatchObject({ runtimeStatus: 'Completed', lastError: null });
    expect((done.steps as { attempts: number }[])[0]?.attempts).toBe(1);
    expect((done.history as { type: string }[]).map((e) => e.type)).toContain('Retried');

    expect((await stack.api('POST', '/tenants/contoso/attachments/retry-me/retry')).status).toBe(409);
    expect((await stack.api('POST', '/tenants/contoso/attachments/nope/retry')).status).toBe(404);
  });

  it('cancels a Running attachment at the next step boundary', async () => {
    // Slow the Hyper-V host's run so the attachment is surely inside step 2 when the cancel arrives.
    await stack.armAdmin('POST', '/_emulator/faults', {
      method: 'GET',
      path: '/machines/HV01$',
      latencyInMs: 2500,
      times: 1,
    });
    await stack.api('POST', '/tenants/contoso/attachments', { ...seedRequest(), attachmentId: 'cancel-me' });
    for (let i = 0; i < 100; i++) {
      const status = await stack.api('GET', '/tenants/contoso/attachments/cancel-me');
      // Running, not merely current: a cancel before the claim ends the attachment at step 2 instead.
      const steps = status.body.steps as { status: string }[] | undefined;
      if (steps?.[1]?.status === 'Running') break;
      expect(status.body.runtimeStatus).not.toBe('Completed');
      await new Promise((r) => setTimeout(r, 50));
    }
    const canceled = await stack.api('POST', '/tenants/contoso/attachments/cancel-me/cancel');
    expect(canceled.status).toBe(202);
    const status = await stack.waitForEnd('contoso', 'cancel-me');
    expect(status).toMatchObject({
      runtimeStatus: 'Canceled',
      currentStep: 'installPrivateCloudPlugin',
      steps: [{ status: 'Succeeded' }, { status: 'Succeeded' }, { status: 'Canceled' }, { status: 'Pending' }],
    });
    expect((await stack.api('POST', '/tenants/contoso/attachments/cancel-me/cancel')).status).toBe(409);
  });
});
