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
          rates.withBacklog ? 'per Azurite core' : 'per Azurite core (prices the limit)',
          f(rates.perAzuriteCore.queueOpsPerSecond / 3),
          f(rates.perAzuriteCore.queueOpsPerSecond),
          f(rates.perAzuriteCore.tableUpdatesPerSecond),
          f(rates.perAzuriteCore.tableBatchesPerSecond),
          f(rates.perAzuriteCore.tableReadsPerSecond),
        ],
        ...(rates.withBacklog
          ? [
              [
                `queue with ${f(rates.withBacklog.residentMessages)} other messages stored, measured`,
                f(rates.withBacklog.queueCyclesPerSecond),
                f(rates.withBacklog.queueOpsPerSecond),
                '',
                '',
                '',
              ],
              [
                `queue with ${f(rates.withBacklog.residentMessages)} other messages stored, per Azurite core (prices queue operations)`,
                f(rates.withBacklog.perAzuriteCoreQueueOpsPerSecond / 3),
                f(rates.withBacklog.perAzuriteCoreQueueOpsPerSecond),
                '',
                '',
                '',
              ],
            ]
          : []),
      ],
    ),
    '',
    `Azurite's share of one core while measured: queue ${f(rates.azuriteCoreShare.queue * 100)}%, table updates ${f(rates.azuriteCoreShare.tableUpdate * 100)}%, transactions ${f(rates.azuriteCoreShare.tableBatch * 100)}%, reads ${f(rates.azuriteCoreShare.tableRead * 100)}%${rates.withBacklog ? `, queue with stored messages ${f(rates.withBacklog.azuriteCoreShare * 100)}%` : ''} (below ~90% the callers on the same two cores, or other work, held it back; the per-core row divides by these shares); other processes meanwhile: ${f(rates.otherCores, 2)} cores.`,
  ];
  if (needs) {
    lines.push(
      '',
      `Operations one attachment needs (counted by proxies in front of Azurite over ${needs.attachments} attachments): **${f(needs.queueOpsPerAttachment, 1)} queue + ${f(needs.tableOpsPerAttachment, 1)} table**, ${f(needs.storageMsPerAttachment, 2)} ms of Azurite time → storage limit **${f(needs.limitAttachmentsPerSecond, 1)} attachments/s**${rates.withBacklog ? ` (${f(needs.limitWithEmptyQueuesPerSecond, 1)} if Azurite's queues cost what they cost empty)` : ''}.`,
      ...(storage.residentMessages
        ? [
            '',
            `Messages stored in Azurite during the counted run (sent, not yet deleted): ${f(storage.residentMessages.meanAtOperation)} on average at each queue operation, ${f(storage.residentMessages.peak)} at the peak. Azurite 3.35 looks through every stored message of the account on each queue operation (its metadata store's expired-message sweep), so a queue operation's cost grows with this number; real Azure Storage does not behave so. The queue rate that prices the limit is therefore measured with that many messages stored.`,
          ]
        : []),
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
      `Cross-check: in the zero-latency run of ${largest.attachments} attachments Azurite used ${f(azurite.perAttachmentMs, 1)} ms CPU per attachment (${f(azurite.coreShare * 100)}% of a core), which on a full core would allow ${f(1000 / azurite.perAttachmentMs, 1)} attachments/s${needs ? ` (the priced mix says ${f(needs.storageMsPerAttachment, 1)} ms)` : ''}: the difference is what the priced mix leaves out (larger rows, background polls, first-use costs).`,
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
