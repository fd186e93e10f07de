import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ArmChaosStats } from './support/chaos';
import type { ReliabilityStack } from './support/reliabilityStack';
import { printResult, runScenario, startChaosStack } from './support/scenario';

/**
 * The first property: 50 attachments across 10 tenants (submitted in waves, so work is under way for the
 * whole run) while about
 * a fifth of the Network Controller's and ARM's calls fail at random (5xx, 429 with Retry-After, answers lost to a
 * timeout) and a fifth of the run commands end TimedOut, with the runner killed with SIGKILL in the middle of each of
 * the four steps and started again. Two in seven are doomed by permanent faults (a NIC whose writes the controller
 * fails, a Hyper-V host whose Arc agent is too old) and must end Failed with that reason; the rest must end Completed,
 * with every NIC, machine and queue in the state the end-state checks describe (support/invariants.ts).
 * soak.test.ts (SOAK=1) adds Azurite restarts and more kills to the same workload.
 */
describe('faults and crashes: 50 attachments across 10 tenants', () => {
  let chaos: { stack: ReliabilityStack; armStats: ArmChaosStats; setArmChaos: (on: boolean) => void };

  beforeAll(async () => {
    chaos = await startChaosStack({ faultProbability: 0.2, timedOutProbability: 0.2 });
  });
  afterAll(() => chaos.stack.stop());

  it('ends every attachment as planned, with no duplicate or missing IP configuration and no extra run', async () => {
    const result = await runScenario(chaos, {
      count: 50,
      tenants: 10,
      prefix: 'fc',
      faultProbability: 0.2,
      timedOutProbability: 0.2,
      crash: true,
      extraKills: 4,
      waveSize: 10,
      waveIntervalInMs: 4_000,
      pauseBetweenKillsInMs: 2_000,
      endTimeoutInMs: 240_000,
    });
    printResult(result, 80);
    expect(result.report.problems).toEqual([]);
    // Each of the four steps lost a runner mid-invocation at least once.
    expect(new Set(result.kills.filter((k) => k.midInvocation).map((k) => k.step)).size).toBe(4);
    expect(result.ncFaultHits + result.arm.total).toBeGreaterThan(0);
  }, 300_000);
});
