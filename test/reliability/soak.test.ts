import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ArmChaosStats } from './support/chaos';
import type { ReliabilityStack } from './support/reliabilityStack';
import { printResult, runScenario, startChaosStack } from './support/scenario';

/**
 * The full size: 50 attachments across 10 tenants under random emulator faults (about a fifth of the calls,
 * a fifth of the run commands TimedOut), the runner killed with SIGKILL in the middle of each step and `SOAK_KILLS`
 * (default 8) more times, and Azurite (on disk) restarted twice mid-run. Same end-state checks as the default
 * suite's smaller variant. Skipped unless SOAK=1:
 *
 *   npm run build && SOAK=1 npx vitest run test/reliability/soak.test.ts
 *
 * SOAK_COUNT, SOAK_TENANTS, SOAK_KILLS, SOAK_WAVE_SIZE (attachments submitted together, every 6 s; 50 = all at once)
 * and SOAK_FAULT_PROBABILITY change the size.
 */
const SOAK = process.env.SOAK === '1';
const number = (name: string, fallback: number) => {
  const value = Number(process.env[name]);
  return Number.isFinite(value) && value > 0 ? value : fallback;
};

describe.skipIf(!SOAK)('soak: 50 attachments across 10 tenants, faults, crashes and storage restarts', () => {
  let chaos: { stack: ReliabilityStack; armStats: ArmChaosStats; setArmChaos: (on: boolean) => void };
  const probability = number('SOAK_FAULT_PROBABILITY', 0.2);

  beforeAll(async () => {
    chaos = await startChaosStack({
      faultProbability: probability,
      timedOutProbability: probability,
      onDiskAzurite: true,
    });
  });
  afterAll(() => chaos.stack.stop());

  it(
    'ends every attachment as planned',
    async () => {
      const result = await runScenario(chaos, {
        count: number('SOAK_COUNT', 50),
        tenants: number('SOAK_TENANTS', 10),
        prefix: 'soak',
        faultProbability: probability,
        timedOutProbability: probability,
        crash: true,
        extraKills: number('SOAK_KILLS', 8),
        azuriteRestarts: 2,
        downForInMs: 2_500,
        azuriteRestartIntervalInMs: 20_000,
        // Waves keep work under way for the whole run, so crashes and outages keep landing mid-step.
        waveSize: number('SOAK_WAVE_SIZE', 5),
        waveIntervalInMs: 6_000,
        pauseBetweenKillsInMs: 3_000,
        endTimeoutInMs: 9 * 60_000,
      });
      printResult(result, 150);
      expect(result.report.problems).toEqual([]);
      expect(new Set(result.kills.filter((k) => k.midInvocation).map((k) => k.step)).size).toBe(4);
      expect(result.azuriteRestarts).toBe(2);
    },
    12 * 60_000,
  );
});
