import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';

import type { ArmChaosStats } from './support/chaos';
import type { ReliabilityStack } from './support/reliabilityStack';
import { printResult, runScenario, startChaosStack } from './support/scenario';

/**
 * The same workload and end-state checks as faultsAndCrashes.test.ts, with Azurite (on disk, on fixed ports so the
 * runner's connection string stays valid) stopped and started again twice in the middle of the run while the runner
 * keeps going, under the same random emulator faults. Completions the runner attempted while storage was down
 * failed; those messages would come back only after the runner's 10-minute lease, which the queue proxy ends early.
 */
describe('storage restart: 12 attachments across 4 tenants with Azurite restarted on disk mid-run', () => {
  let chaos: { stack: ReliabilityStack; armStats: ArmChaosStats; setArmChaos: (on: boolean) => void };

  beforeAll(async () => {
    chaos = await startChaosStack({ faultProbability: 0.2, timedOutProbability: 0.2, onDiskAzurite: true });
  });
  afterAll(() => chaos.stack.stop());

  it('ends every attachment as planned across two storage outages', async () => {
    // A run that overstays its budget ends without a report; the runners' last lines say where it stood.
    onTestFailed(() => console.log(chaos.stack.output.slice(-150).join('\n')));
    const result = await runScenario(chaos, {
      count: 12,
      tenants: 4,
      prefix: 'sr',
      faultProbability: 0.2,
      timedOutProbability: 0.2,
      crash: false,
      azuriteRestarts: 2,
      downForInMs: 2_500,
      endTimeoutInMs: 150_000,
    });
    printResult(result, 80);
    expect(result.azuriteRestarts).toBe(2);
    expect(result.report.problems).toEqual([]);
    // Alone it takes about 30 s; the budget covers endTimeoutInMs plus start, outages, checks and a loaded machine.
  }, 300_000);
});
