import type { BenchResults } from '../results';
import { f, kb, ms, table } from './format';

/** The floor next to the product, same run, same runner, same burst. */
export function floorSection(results: BenchResults): string[] {
  const floor = results.floor;
  if (!floor) return ['_Not measured._'];
  const row = (label: string, summary: typeof floor.bareSubmitMs) => [
    label,
    f(summary.median),
    f(summary.p95),
    String(summary.count),
  ];
  return table(
    ['Measured in one burst', 'Median (ms)', 'p95 (ms)', 'Count'],
    [
      row('Submit (POST attachment)', floor.productSubmitMs),
      row('Bare submit (one insert, one send)', floor.bareSubmitMs),
      row('Step 1 overhead', floor.step1OverheadMs),
      row('Step 1 invocation (runner)', floor.step1InvocationMs),
      [
        'Bare step invocation (one write, one send)',
        f(floor.bareStepMs.median),
        f(floor.bareStepMs.p95),
        `${floor.bareStepsSucceeded}/${floor.bareRequests}`,
      ],
    ],
  );
}

/** The scale pair: per-attachment costs at both sizes, and the runner's memory. */
export function scaleSection(results: BenchResults): string[] {
  const runs = results.scale ?? [];
  if (runs.length === 0) return ['_Not measured._'];
  return table(
    [
      'Attachments',
      'Tenants / VMs / hosts',
      'Completed',
      'Makespan (s)',
      'Storage ops / att. (queue + table)',
      'App CPU / att.',
      'NC bytes / att.',
      'NC requests / att.',
      'End-to-end median / p95 (ms)',
      'Runner peak RSS',
    ],
    runs.map((r) => [
      r.attachments.toLocaleString('en-US'),
      `${r.fleet.tenants} / ${r.fleet.tenants * r.fleet.vmsPerTenant} / ${r.fleet.hyperVHosts}`,
      `${r.completed}${r.notEnded > 0 ? ` (${r.notEnded} not ended)` : ''}`,
      f(r.makespanMs / 1000, 1),
      `${f(r.storageOpsPerAttachment, 2)} (${f(r.queueOpsPerAttachment, 2)} + ${f(r.tableOpsPerAttachment, 2)})`,
      `${f(r.appCpuMsPerAttachment, 1)} ms`,
      kb(r.ncBytesReadPerAttachment),
      f(r.ncRequestsPerAttachment, 2),
      ms(r.endToEndMs),
      r.runnerPeakRssMb === undefined ? 'n/a' : `${f(r.runnerPeakRssMb)} MB`,
    ]),
  );
}

/** Step 1 on one tenant's network of 10 NICs as the controller fills with other tenants' NICs. */
export function controllerSizeSection(results: BenchResults): string[] {
  return table(
    [
      'NICs in controller (other tenants)',
      'Attachments (one at a time)',
      'Step 1 mean / median (ms)',
      'NC bytes read mean / median',
      'NC requests mean',
      'First attachment: step 1 ms / bytes',
    ],
    [...results.lookup]
      .sort((a, b) => a.nicsInController - b.nicsInController)
      .map((l) => [
        `${l.nicsInController.toLocaleString('en-US')} (${l.otherTenantsNics.toLocaleString('en-US')})`,
        `${l.completed}/${l.attachments}`,
        `${f(l.step1Ms.mean)} / ${f(l.step1Ms.median)}`,
        `${kb(l.ncBytesRead.mean)} / ${kb(l.ncBytesRead.median)}`,
        f(l.ncRequests.mean, 1),
        `${f(l.first.step1Ms)} / ${kb(l.first.ncBytesRead)}`,
      ]),
  );
}

/** The short table the README's Performance section carries (copied from bench-results/readme-table.md). */
export function readmeTable(results: BenchResults): string {
  const verdict = (pass: boolean | null) => (pass === null ? 'not measured' : pass ? 'passes' : 'fails');
  return `${table(
    ['Target', 'Measured', 'Result'],
    results.targets.map((t) => [t.short.target, t.short.measured, verdict(t.pass)]),
  ).join('\n')}\n`;
}
