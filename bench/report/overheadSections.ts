import type { BenchResults } from '../results';
import { f, ms, table } from './format';

export function overheadSection(results: BenchResults, at: number): string[] {
  const run = results.zeroLatency.find((r) => r.attachments === at);
  if (!run) return [`_No zero-latency run of ${at} attachments._`];
  const lines = [
    ...table(
      [
        'Step',
        'Duration median / p95 (ms)',
        'External median (ms)',
        'Overhead median / p95 (ms)',
        'Host step: ran / waited / reused (overhead median ms)',
      ],
      Object.entries(run.overhead.byStep).map(([name, s]) => [
        name,
        ms(s.durationMs),
        f(s.externalMs.median),
        ms(s.overheadMs),
        s.roles
          ? (['ran', 'waited', 'reused'] as const)
              .map((role) => `${s.roles?.[role].count ?? 0} (${f(s.roles?.[role].overheadMs.median)})`)
              .join(' / ')
          : '',
      ]),
    ),
    '',
    'Step 1 cut at its own NIC requests (from the controller log):',
    '',
    ...table(
      ['Phase', 'Median / p95 (ms)'],
      Object.entries(run.overhead.step1PhasesMs).map(([k, s]) => [k, ms(s)]),
    ),
    '',
    'Queue hand-offs (next step start − previous step end; submit → step 1 from createdTime):',
    '',
    ...table(
      ['Hand-off', 'Median / p95 (ms)'],
      Object.entries(run.timeline.handoffGapMs).map(([k, s]) => [k, ms(s)]),
    ),
    '',
    'Runner invocations per attachment (from the runner\'s "Executed" lines; getAttachment is the bench reading status documents after the end):',
    '',
    ...table(
      ['Function', 'Invocations / attachment', 'Duration median / p95 (ms)', 'Busy ms / attachment'],
      Object.entries(run.functions).map(([name, l]) => [
        name,
        f(l.perAttachment, 2),
        ms(l.durationMs),
        f(l.busyMsPerAttachment, 1),
      ]),
    ),
  ];
  return lines;
}

export function cpuSection(results: BenchResults): string[] {
  const runs = [
    ...results.zeroLatency.map((r) => ({ label: `zero latency ×${r.attachments}`, cpu: r.cpu })),
    ...(results.realistic?.runs ?? []).map((r) => ({ label: `realistic ×${r.attachments}`, cpu: r.cpu })),
    ...(results.storage?.countedRunCpu
      ? [
          {
            label: `counted ×${results.storage.needs?.attachments ?? ''} (proxies in path)`,
            cpu: results.storage.countedRunCpu,
          },
        ]
      : []),
  ];
  const cell = (p: { perAttachmentMs: number; coreShare: number } | undefined): string =>
    p ? `${f(p.perAttachmentMs, 1)} ms (${f(p.coreShare * 100)}%)` : 'n/a';
  return table(
    [
      'Run',
      'Wall (ms)',
      'Runner (app) CPU / attachment (core share)',
      'Azurite',
      'Bench process (NC + ARM emulators, driver)',
      'Other processes on the machine (cores)',
    ],
    runs.map(({ label, cpu }) => [
      label,
      f(cpu.wallMs),
      cell(cpu.runner),
      cell(cpu.azurite),
      cell(cpu.bench),
      f(cpu.otherCores, 2),
    ]),
  );
}

/** Overhead at every size: what grows with load (contention, backlog) separates from what every attachment pays. */
export function overheadBySizeSection(results: BenchResults): string[] {
  const runs = [
    ...results.zeroLatency.map((r) => ({ label: `zero latency ×${r.attachments}`, r })),
    ...(results.realistic?.runs ?? []).map((r) => ({ label: `realistic ×${r.attachments}`, r })),
  ];
  const steps = Object.keys(runs[0]?.r.overhead.byStep ?? {});
  return table(
    ['Run', ...steps.map((s) => `${s} median / p95 (ms)`), 'All steps median / p95 (ms)'],
    runs.map(({ label, r }) => [
      label,
      ...steps.map((s) => ms(r.overhead.byStep[s]?.overheadMs)),
      ms(r.overhead.allStepsMs),
    ]),
  );
}
