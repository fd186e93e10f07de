import type { BenchResults } from '../results';
import { f, kb, table } from './format';

export function ncSection(results: BenchResults): string[] {
  const runs = [
    ...results.zeroLatency.map((r) => ({ label: `zero latency ×${r.attachments}`, r })),
    ...(results.realistic?.runs ?? []).map((r) => ({ label: `realistic ×${r.attachments}`, r })),
  ];
  const kinds = ['listNics', 'listSubnets', 'getSubnet', 'getAcl', 'getNic', 'putNic', 'getOperation'] as const;
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
