import { describe, expect, it } from 'vitest';

import { summarize } from '../../../bench/analysis/stats';
import { sizesFor } from '../../../bench/cli';
import { judgeTargets } from '../../../bench/report/targets';
import type { BenchResults, FloorResult } from '../../../bench/results';
import { lookupCostOf, scaleRunOf } from '../../support/benchFixtures';

const sizes = sizesFor({ quick: false, timeFactor: 1 });

const floor: FloorResult = {
  attachments: 100,
  bareRequests: 100,
  bareStepsSucceeded: 100,
  bareSubmitMs: summarize([50, 100]),
  bareStepMs: summarize([10, 10, 10]),
  productSubmitMs: summarize([100, 250]),
  step1OverheadMs: summarize([15, 15, 15]),
  step1InvocationMs: summarize([40]),
};

function results(parts: Partial<BenchResults>): Omit<BenchResults, 'targets'> {
  return { zeroLatency: [], lookup: [], errors: [], quietWaits: [], ...parts } as Omit<BenchResults, 'targets'>;
}

const byId = (targets: ReturnType<typeof judgeTargets>, id: string) => targets.find((t) => t.id === id);

describe('judgeTargets', () => {
  it('reports every target with a stable id, numbers in measured, and null where nothing was measured', () => {
    const targets = judgeTargets(results({}), sizes);
    expect(targets.map((t) => t.id)).toEqual([
      'reads-scale-with-tenant-network',
      'critical-path-ratio',
      'scale-per-attachment',
      'runner-peak-rss',
      'step1-overhead-vs-floor',
      'submit-p95-vs-floor',
      'storage-ops-per-attachment',
      'app-cpu-per-attachment',
      'throughput-vs-storage',
      'one-nic-puts',
    ]);
    for (const t of targets) {
      expect(t.pass).toBeNull();
      for (const value of Object.values(t.measured)) expect(typeof value).toBe('number');
    }
  });

  it('judges reads against the tenant network alone: every ratio, mean and first attachment, within 1.2×', () => {
    const pass = byId(
      judgeTargets(results({ lookup: [lookupCostOf(0, 10_000, 100), lookupCostOf(10_000, 11_000, 110)] }), sizes),
      'reads-scale-with-tenant-network',
    );
    expect(pass).toMatchObject({ pass: true, measured: { bytesMeanRatio: 1.1, step1MeanRatio: 1.1 } });
    const coldFails = byId(
      judgeTargets(
        results({ lookup: [lookupCostOf(0, 10_000, 100), lookupCostOf(10_000, 11_000, 110, 2_000_000)] }),
        sizes,
      ),
      'reads-scale-with-tenant-network',
    );
    expect(coldFails).toMatchObject({ pass: false, measured: { bytesFirstRatio: 200 } });
  });

  it('judges the floor ratios and keeps the absolute figures beside them', () => {
    const targets = judgeTargets(results({ floor }), sizes);
    expect(byId(targets, 'step1-overhead-vs-floor')).toMatchObject({
      pass: true,
      measured: { ratio: 1.5, step1OverheadMs: 15, bareStepMs: 10 },
    });
    expect(byId(targets, 'submit-p95-vs-floor')).toMatchObject({
      pass: false,
      measured: { ratio: 2.5, submitP95Ms: 250, bareSubmitP95Ms: 100 },
    });
    expect(byId(targets, 'submit-p95-vs-floor')?.detail).toContain('250 ms p95');
  });

  it('judges the scale pair per attachment and the runner memory at the larger size', () => {
    const targets = judgeTargets(
      results({
        scale: [
          scaleRunOf(1_000, { opsPerAttachment: 15, appCpuMs: 20, ncBytes: 13_000, rssMb: 180 }),
          scaleRunOf(10_000, { opsPerAttachment: 16, appCpuMs: 25, ncBytes: 13_500, rssMb: 320 }),
        ],
      }),
      sizes,
    );
    expect(byId(targets, 'scale-per-attachment')).toMatchObject({
      pass: false,
      measured: { storageOpsRatio: 1.07, appCpuRatio: 1.25, ncBytesRatio: 1.04 },
    });
    expect(byId(targets, 'runner-peak-rss')).toMatchObject({ pass: false, measured: { peakRssMb: 320 } });
  });
});
