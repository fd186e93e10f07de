import type { BenchResults } from '../results';
import { type Panel, renderSvg } from './svg';

interface CostPoint {
  label: string;
  attachments: number;
  appCpuMs?: number;
  ncKb?: number;
  storageOps?: number;
}

/** Every run's cost per attachment, smallest first: zero latency, counted, and the scale pair. */
function costByAttachments(results: BenchResults): CostPoint[] {
  const points: CostPoint[] = results.zeroLatency.map((r) => ({
    label: `${r.attachments.toLocaleString('en-US')}, zero latency`,
    attachments: r.attachments,
    appCpuMs: r.cpu.runner?.perAttachmentMs,
    ncKb: r.nc.bytesReadPerAttachment / 1024,
  }));
  const needs = results.storage?.needs;
  if (needs) {
    points.push({
      label: `${needs.attachments.toLocaleString('en-US')}, zero latency, counted`,
      attachments: needs.attachments,
      appCpuMs: results.storage?.countedRunCpu?.runner?.perAttachmentMs,
      storageOps: needs.queueOpsPerAttachment + needs.tableOpsPerAttachment,
    });
  }
  for (const r of results.scale ?? []) {
    points.push({
      label: `${r.attachments.toLocaleString('en-US')}, latencies ×${r.latencies.runDurationInMs / 20_000}`,
      attachments: r.attachments,
      appCpuMs: r.appCpuMsPerAttachment,
      ncKb: r.ncBytesReadPerAttachment / 1024,
      storageOps: r.storageOpsPerAttachment,
    });
  }
  return points.sort((a, b) => a.attachments - b.attachments);
}

/**
 * The chart in the README: cost per attachment against attachments (1 → 10,000) and against the controller's size
 * (NICs of other tenants), one panel per measure so every panel has one unit.
 */
export function renderChart(results: BenchResults): string {
  const byAttachments = costByAttachments(results);
  const panel = (title: string, unit: string, series: string, pick: (p: CostPoint) => number | undefined): Panel => ({
    title,
    unit,
    rows: byAttachments
      .filter((p) => pick(p) !== undefined)
      .map((p) => ({ label: p.label, bars: [{ series, value: pick(p) ?? Number.NaN }] })),
  });
  const panels: Panel[] = [
    {
      ...panel('App CPU per attachment vs attachments', 'ms', 'app CPU', (p) => p.appCpuMs),
      lines: [{ value: 12, label: 'target' }],
    },
    {
      ...panel(
        'Storage operations per attachment vs attachments',
        'operations',
        'storage operations',
        (p) => p.storageOps,
      ),
      lines: [{ value: 12, label: 'target' }],
    },
    panel('Network Controller bytes read per attachment vs attachments', 'KB', 'NC bytes', (p) => p.ncKb),
  ];
  const sizes = [...results.lookup].sort((a, b) => a.nicsInController - b.nicsInController);
  const sizeLabel = (nics: number) => `${nics.toLocaleString('en-US')} NICs in controller`;
  panels.push(
    {
      title: 'NC bytes read per attachment vs controller size (tenant network of 10 NICs)',
      unit: 'KB',
      rows: sizes.map((l) => ({
        label: sizeLabel(l.nicsInController),
        bars: [
          { series: 'mean', value: l.ncBytesRead.mean / 1024 },
          { series: 'first attachment', value: l.first.ncBytesRead / 1024 },
        ],
      })),
    },
    {
      title: 'Step 1 time vs controller size (tenant network of 10 NICs)',
      unit: 'ms',
      rows: sizes.map((l) => ({
        label: sizeLabel(l.nicsInController),
        bars: [
          { series: 'mean', value: l.step1Ms.mean },
          { series: 'first attachment', value: l.first.step1Ms },
        ],
      })),
    },
  );
  return renderSvg(`Cost per attachment${results.meta.quick ? ' (quick run)' : ''}`, panels);
}
