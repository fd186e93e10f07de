import type { BenchResults } from '../results';
import { type Panel, renderSvg } from './svg';

/** The chart: throughput against the storage limit, latency, per-step overhead, controller bytes, lookup cost. */
export function renderChart(results: BenchResults, overheadAt: number): string {
  const panels: Panel[] = [];
  const limit = results.storage?.needs?.limitAttachmentsPerSecond;
  panels.push({
    title: 'Throughput, zero latency',
    unit: 'attachments/s',
    rows: results.zeroLatency.map((r) => ({
      label: `${r.attachments} attachment(s)`,
      bars: [{ series: 'throughput', value: r.timeline.throughputPerSecond }],
    })),
    lines:
      limit === undefined
        ? []
        : [
            { value: limit, label: 'storage limit' },
            { value: limit / 2, label: '50% target' },
          ],
  });
  panels.push({
    title: 'End-to-end latency',
    unit: 'ms',
    rows: [
      ...results.zeroLatency.map((r) => ({ label: `zero latency ×${r.attachments}`, r })),
      ...(results.realistic?.runs ?? []).map((r) => ({ label: `realistic ×${r.attachments}`, r })),
    ].map(({ label, r }) => ({
      label,
      bars: [
        { series: 'median', value: r.timeline.endToEndMs.median },
        { series: 'p95', value: r.timeline.endToEndMs.p95 },
      ],
    })),
    lines: results.realistic
      ? [
          { value: results.realistic.criticalPathMs, label: 'critical path' },
          { value: results.realistic.criticalPathMs * 1.2, label: '1.2×' },
        ]
      : [],
  });
  const overheadRun = results.zeroLatency.find((r) => r.attachments === overheadAt);
  if (overheadRun) {
    panels.push({
      title: `Per-step overhead, ${overheadAt} attachments`,
      unit: 'ms',
      rows: Object.entries(overheadRun.overhead.byStep).map(([name, s]) => ({
        label: name,
        bars: [
          { series: 'median', value: s.overheadMs.median },
          { series: 'p95', value: s.overheadMs.p95 },
        ],
      })),
      lines: [{ value: 30, label: 'target' }],
    });
  }
  panels.push({
    title: 'Network Controller bytes read per attachment',
    unit: 'KB',
    rows: [
      ...results.zeroLatency.map((r) => ({ label: `zero latency ×${r.attachments}`, r })),
      ...(results.realistic?.runs ?? []).map((r) => ({ label: `realistic ×${r.attachments}`, r })),
    ].map(({ label, r }) => ({
      label,
      bars: [
        { series: 'product', value: r.nc.bytesReadPerAttachment / 1024 },
        { series: 'seed workflow', value: r.nc.seedWorkflow.bytesRead / 1024 },
      ],
    })),
  });
  panels.push({
    title: 'Step 1 time when finding the NIC (mean per attachment)',
    unit: 'ms',
    rows: results.lookup.map((l) => ({
      label: `${l.nicsInController.toLocaleString('en-US')} NICs, by ${l.nicBy === 'resourceId' ? 'resourceId' : 'IP'}`,
      bars: [{ series: 'step 1', value: l.step1Ms.mean }],
    })),
  });
  return renderSvg(`SDN container attach benchmark${results.meta.quick ? ' (quick)' : ''}`, panels);
}
