import type { BenchResults } from '../results';
import { f, ms, table } from './format';

export function storageSection(results: BenchResults): string[] {
  const storage = results.storage;
  if (!storage) return ['_Storage limit not measured._'];
  const { rates, needs } = storage;
  const lines = [
    `Raw Azurite on this machine (${rates.concurrency} concurrent callers, ${rates.secondsPerMeasure} s each):`,
    '',
    ...table(
      [
        'Rates',
        'Queue send+receive+delete (cycles/s)',
        'Queue ops/s',
        'Table updates/s',
        'Table transactions/s (update + insert)',
        'Table reads/s',
      ],
      [
        [
          'measured',
          f(rates.queueCyclesPerSecond),
          f(rates.queueOpsPerSecond),
          f(rates.tableUpdatesPerSecond),
          f(rates.tableBatchesPerSecond),
          f(rates.tableReadsPerSecond),
        ],
        [
          'per Azurite core (prices the limit)',
          f(rates.perAzuriteCore.queueOpsPerSecond / 3),
          f(rates.perAzuriteCore.queueOpsPerSecond),
          f(rates.perAzuriteCore.tableUpdatesPerSecond),
          f(rates.perAzuriteCore.tableBatchesPerSecond),
          f(rates.perAzuriteCore.tableReadsPerSecond),
        ],
      ],
    ),
    '',
    `Azurite's share of one core while measured: queue ${f(rates.azuriteCoreShare.queue * 100)}%, table updates ${f(rates.azuriteCoreShare.tableUpdate * 100)}%, transactions ${f(rates.azuriteCoreShare.tableBatch * 100)}%, reads ${f(rates.azuriteCoreShare.tableRead * 100)}% (below ~90% the callers on the same two cores, or other work, held it back; the per-core row divides by these shares); other processes meanwhile: ${f(rates.otherCores, 2)} cores.`,
  ];
  if (needs) {
    lines.push(
      '',
      `Operations one attachment needs (counted by proxies in front of Azurite over ${needs.attachments} attachments): **${f(needs.queueOpsPerAttachment, 1)} queue + ${f(needs.tableOpsPerAttachment, 1)} table**, ${f(needs.storageMsPerAttachment, 2)} ms of Azurite time → storage limit **${f(needs.limitAttachmentsPerSecond, 1)} attachments/s**.`,
      '',
      ...table(
        ['Operation', 'Per attachment'],
        [
          ...Object.entries(needs.perAttachment).map(([k, v]) => [k, f(v, 2)]),
          ...Object.entries(needs.backgroundPerAttachment).map(([k, v]) => [`${k} (background, not priced)`, f(v, 2)]),
        ],
      ),
    );
    const failures = Object.entries(needs.failures);
    if (failures.length > 0)
      lines.push('', `Storage answers ≥ 400: ${failures.map(([k, v]) => `${k} ×${v}`).join(', ')}.`);
  }
  // Cross-check: Azurite's CPU per attachment in the largest zero-latency run, against the priced operation mix.
  const largest = [...results.zeroLatency].sort((a, b) => b.attachments - a.attachments)[0];
  const azurite = largest?.cpu.azurite;
  if (largest && azurite && azurite.perAttachmentMs > 0) {
    lines.push(
      '',
      `Cross-check: in the zero-latency run of ${largest.attachments} attachments Azurite used ${f(azurite.perAttachmentMs, 1)} ms CPU per attachment (${f(azurite.coreShare * 100)}% of a core), which on a full core would allow ${f(1000 / azurite.perAttachmentMs, 1)} attachments/s${needs ? ` (the priced mix says ${f(needs.storageMsPerAttachment, 1)} ms)` : ''}: the app's real storage traffic (larger rows, background polls, first-use costs) costs Azurite more than the counted operations at raw rates.`,
    );
  }
  return lines;
}

export function runsSection(results: BenchResults): string[] {
  const rows = [
    ...results.zeroLatency.map((r) => ({ label: 'zero latency', r, ratio: undefined as number | undefined })),
    ...(results.realistic?.runs ?? []).map((r) => ({ label: 'realistic', r, ratio: r.ratio.median })),
  ];
  return table(
    [
      'Latencies',
      'Attachments',
      'Completed',
      'Throughput (attachments/s)',
      'End-to-end median / p95 (ms)',
      'Makespan (ms)',
      'Critical-path ratio (median)',
    ],
    rows.map(({ label, r, ratio }) => [
      label,
      String(r.attachments),
      `${r.timeline.completed}${
        r.timeline.failed
          ? ` (${r.timeline.failed} failed: ${Object.entries(r.timeline.failureCodes)
              .map(([c, n]) => `${c} ×${n}`)
              .join(', ')})`
          : ''
      }${r.timeline.notEnded ? ` (${r.timeline.notEnded} not ended)` : ''}`,
      f(r.timeline.throughputPerSecond, 1),
      ms(r.timeline.endToEndMs),
      f(r.timeline.makespanMs),
      ratio === undefined ? '' : f(ratio, 2),
    ]),
  );
}
