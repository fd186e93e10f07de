import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ArmChaosStats } from './support/chaos';
import { ownershipProblems } from './support/invariants';
import { expectCompleted, expectDetached, labOf } from './support/lab';
import type { ReliabilityStack } from './support/reliabilityStack';
import { printResult, runScenario, startChaosStack } from './support/scenario';
import { requestDetach } from './support/workload';

/**
 * The way back under the faults the attach suite injects (faultsAndCrashes.test.ts): 15 attachments across 5 tenants
 * on shared NICs and networks, attached and then detached while about a fifth of the Network Controller's and ARM's
 * calls fail at random (5xx, 429 with Retry-After, answers lost to a timeout, NIC operations that end Failed with
 * RetryableError) and a fifth of the run commands end TimedOut. Every third attachment is detached while its attach
 * still runs (it is canceled at the next step boundary, then detaches what it did), the others once their attach
 * ended, Completed or Failed. Every one must end Detached, except those doomed at the controller: their NIC fails
 * every write for good, so their detach must end Failed at removeIpConfigurations with the controller's code
 * (PortProfileRejected). The end-state checks (support/invariants.ts) then find no IP configuration of a Detached
 * attachment on any NIC, no Docker network left that no attachment uses, and no script run nothing justified.
 */
describe('detach under faults: 15 attachments across 5 tenants attached, then detached', () => {
  let chaos: { stack: ReliabilityStack; armStats: ArmChaosStats; setArmChaos: (on: boolean) => void };
  const { request, waitForEnd, nic } = labOf(() => chaos.stack);

  beforeAll(async () => {
    chaos = await startChaosStack({ faultProbability: 0.2, timedOutProbability: 0.2 });
  });
  afterAll(() => chaos.stack.stop());

  it('detaches every attachment, from Running, Completed and Failed, and leaves nothing of them behind', async () => {
    const result = await runScenario(chaos, {
      count: 15,
      tenants: 5,
      prefix: 'df',
      faultProbability: 0.2,
      timedOutProbability: 0.2,
      crash: false,
      detach: true,
      endTimeoutInMs: 100_000,
    });
    printResult(result, 80);
    expect(result.report.problems).toEqual([]);
    // The detaches met attachments in each state: still running, Completed and Failed.
    expect(Object.keys(result.detachedFrom).sort()).toEqual(['Completed', 'Failed', 'Running']);
    expect(result.ncFaultHits + result.arm.total).toBeGreaterThan(0);
  }, 150_000);

  // The documented permanent fault, alone (the scenario's faults are off by now): the release write's operation ends
  // Failed with the controller's own code. Writing the NIC again would get the same answer, so the detach fails at
  // once with that code, as step 1 does; once the cause is gone, DELETE again resumes it at the failed step.
  it('a release the controller fails for good ends the detach Failed at once; DELETE again resumes it', async () => {
    const { stack } = chaos;
    const body = request('df-refused', {
      nic: { resourceId: 'ContainerHostVM2_Net0' },
      containerHost: { machineName: 'ContainerHostVM2' },
      containerIps: { addresses: ['192.168.1.201', '192.168.1.202'] },
      network: { name: 'RefusedNet', driver: 'l2bridge' },
    });
    expect((await stack.api('POST', '/tenants/df-x/attachments', body)).status).toBe(202);
    expectCompleted(await waitForEnd('df-x', 'df-refused'));
    await stack.ncAdmin('POST', '/_emulator/faults', {
      method: 'PUT',
      path: '^/networkInterfaces/ContainerHostVM2_Net0$',
      times: 1,
      operation: {
        status: 'Failed',
        error: { code: 'PortProfileRejected', message: 'Port profile rejected (injected).' },
      },
    });
    await requestDetach(stack, { tenantId: 'df-x', attachmentId: 'df-refused' });
    const failed = await waitForEnd('df-x', 'df-refused');
    expect(`${failed.runtimeStatus} ${failed.currentStep} ${failed.lastError?.code}`).toBe(
      'Failed removeIpConfigurations PortProfileRejected',
    );
    expect(failed.detachSteps?.map((s) => `${s.status} ${s.attempts}`)).toEqual(['Succeeded 1', 'Failed 1']);

    await requestDetach(stack, { tenantId: 'df-x', attachmentId: 'df-refused' });
    const detached = await waitForEnd('df-x', 'df-refused');
    expectDetached(detached);
    const held = (await nic('ContainerHostVM2_Net0')).properties;
    expect(held.provisioningState).toBe('Succeeded');
    expect(
      await ownershipProblems(stack, [{ tenantId: 'df-x', attachmentId: 'df-refused', request: body, doc: detached }]),
    ).toEqual([]);
  });
});
