import type { BenchResults } from '../results';
import { f, kb, table } from './format';

export function ncSection(results: BenchResults): string[] {
  const runs = [
    ...results.zeroLatency.map((r) => ({ label: `zero latency ×${r.attachments}`, r })),
    ...(results.realistic?.runs ?? []).map((r) => ({ label: `realistic ×${r.attachments}`, r })),
  ];
  const kinds = ['listNics', 'getSubnet', 'getAcl', 'getNic', 'putNic', 'getOperation'] as const;
  return table(
    [
      'Run',
      'NC requests / attachment',
      'NC bytes read / attachment',
      'Seed workflow: requests / bytes',
      ...kinds.map((k) => `${k} / att.`),
    ],
    runs.map(({ label, r }) => [
      label,
      f(r.nc.requestsPerAttachment, 2),
      kb(r.nc.bytesReadPerAttachment),
      `${r.nc.seedWorkflow.requests} / ${kb(r.nc.seedWorkflow.bytesRead)}`,
      ...kinds.map((k) => f(r.nc.byKind[k]?.requestsPerAttachment ?? 0, 2)),
    ]),
  );
}

/** How the cold (first) lookup grows from the smallest to the largest controller, per way of naming the NIC. */
function lookupScaling(results: BenchResults): string[] {
  const lines: string[] = [];
  for (const nicBy of ['privateIpAddress', 'resourceId'] as const) {
    const rows = results.lookup
      .filter((l) => l.nicBy === nicBy)
      .sort((a, b) => a.nicsInController - b.nicsInController);
    const small = rows[0];
    const large = rows[rows.length - 1];
    if (!small || !large || small === large) continue;
    const growth = large.nicsInController / small.nicsInController;
    lines.push(
      `By ${nicBy}, ${small.nicsInController.toLocaleString('en-US')} → ${large.nicsInController.toLocaleString('en-US')} NICs (×${f(growth)}): first attachment's step 1 ×${f(large.first.step1Ms / small.first.step1Ms, 1)}, its NC bytes ×${f(large.first.ncBytesRead / small.first.ncBytesRead, 1)}; mean step 1 ×${f(large.step1Ms.mean / small.step1Ms.mean, 1)}, mean NC bytes ×${f(large.ncBytesRead.mean / small.ncBytesRead.mean, 1)}.`,
    );
  }
  return lines.length > 0 ? ['', ...lines] : [];
}

export function lookupSection(results: BenchResults): string[] {
  return [...lookupTable(results), ...lookupScaling(results)];
}

function lookupTable(results: BenchResults): string[] {
  return table(
    [
      'NICs in controller',
      'NIC named by',
      'Attachments (one at a time)',
      'Step 1 mean / median (ms)',
      'NC bytes read mean / median',
      'NC requests mean',
      'First attachment: step 1 ms / bytes',
    ],
    results.lookup.map((l) => [
      l.nicsInController.toLocaleString('en-US'),
      l.nicBy,
      `${l.completed}/${l.attachments}`,
      `${f(l.step1Ms.mean)} / ${f(l.step1Ms.median)}`,
      `${kb(l.ncBytesRead.mean)} / ${kb(l.ncBytesRead.median)}`,
      f(l.ncRequests.mean, 1),
      `${f(l.first.step1Ms)} / ${kb(l.first.ncBytesRead)}`,
    ]),
  );
}
