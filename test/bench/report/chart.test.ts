import { describe, expect, it } from 'vitest';

import { summarize } from '../../../bench/analysis/stats';
import { renderChart } from '../../../bench/report/chart';
import { readmeTable } from '../../../bench/report/scaleSections';
import type { BenchResults } from '../../../bench/results';
import { scaleRunOf } from '../../support/benchFixtures';

const results = {
  meta: { quick: false },
  zeroLatency: [],
  lookup: [10, 10_010].map((nicsInController) => ({
    nicsInController,
    otherTenantsNics: nicsInController - 10,
    nicBy: 'privateIpAddress',
    attachments: 10,
    completed: 10,
    step1Ms: summarize([30]),
    ncBytesRead: summarize([4_096]),
    ncRequests: summarize([5]),
    first: { step1Ms: 60, ncBytesRead: 8_192 },
  })),
  scale: [scaleRunOf(10_000, { appCpuMs: 9.5 }), scaleRunOf(1_000, { appCpuMs: 8.25 })],
  targets: [
    {
      id: 'runner-peak-rss',
      target: 'long form',
      measured: { peakRssMb: 200 },
      detail: 'detail',
      short: { target: 'Runner peak RSS ≤ 300 MB at 10,000', measured: '200 MB' },
      pass: true,
    },
    {
      id: 'one-nic-puts',
      target: 'long form',
      measured: {},
      detail: 'not measured',
      short: { target: '50 on one NIC', measured: 'n/a' },
      pass: null,
    },
  ],
} as unknown as BenchResults;

describe('the README chart and table', () => {
  it('charts cost per attachment against attachments (smallest first) and against the controller size', () => {
    const svg = renderChart(results);
    expect(svg).toMatch(/^<svg /);
    expect(svg).toContain('App CPU per attachment vs attachments (ms)');
    expect(svg).toContain('Step 1 time vs controller size');
    expect(svg.indexOf('1,000, latencies ×0.05')).toBeLessThan(svg.indexOf('10,000, latencies ×0.05'));
    expect(svg).toContain('10,010 NICs in controller');
    expect(svg).toContain('>8.25<');
    expect(svg).not.toContain('NaN');
  });

  it('writes one short row per target with its verdict', () => {
    expect(readmeTable(results).trim().split('\n')).toEqual([
      '| Target | Measured | Result |',
      '| --- | --- | --- |',
      '| Runner peak RSS ≤ 300 MB at 10,000 | 200 MB | passes |',
      '| 50 on one NIC | n/a | not measured |',
    ]);
  });
});
