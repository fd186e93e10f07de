import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ArmChaosStats } from './support/chaos';
import type { ReliabilityStack } from './support/reliabilityStack';
import { printResult, runScenario, startChaosStack } from './support/scenario';

/**
 * detachFaults.test.ts's workload and faults with the runner killed with SIGKILL in the middle of each detach step
 * (removeContainerNetwork, removeIpConfigurations) and three times more at random detach steps, as
 * faultsAndCrashes.test.ts does for the attach steps. The same end states must hold: every attachment Detached (or
 * Failed at removeIpConfigurations with PortProfileRejected on the NIC the controller refuses), nothing of a Detached
 * attachment on any NIC or VM, and no script run beyond what the kills, lost answers and faults justify.
 */
describe('detach under faults and crashes: 15 attachments across 5 tenants', () => {
  let chaos: { stack: ReliabilityStack; armStats: ArmChaosStats; setArmChaos: (on: boolean) => void };

  beforeAll(async () => {
    chaos = await startChaosStack({ faultProbability: 0.2, timedOutProbability: 0.2 });
  });
  afterAll(() => chaos.stack.stop());

  it('detaches every attachment as planned across runner kills inside the detach steps', async () => {
    const result = await runScenario(chaos, {
      count: 15,
      tenants: 5,
      prefix: 'dc',
      faultProbability: 0.2,
      timedOutProbability: 0.2,
      detach: true,
      crash: true,
      crashSteps: ['removeContainerNetwork', 'removeIpConfigurations'],
      extraKills: 3,
      pauseBetweenKillsInMs: 1_500,
      endTimeoutInMs: 120_000,
    });
    printResult(result, 80);
    expect(result.report.problems).toEqual([]);
    // Each detach step lost a runner mid-invocation at least once.
    expect(new Set(result.kills.filter((k) => k.midInvocation).map((k) => k.step)).size).toBe(2);
  }, 170_000);
});
