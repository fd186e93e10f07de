import type { Sizes } from '../cli';
import type { BenchResults, TargetResult } from '../results';

const f = (value: number, digits = 1): string => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');

/** The issue's targets, judged on this run's numbers (reported, never asserted). */
export function judgeTargets(results: Omit<BenchResults, 'targets'>, sizes: Sizes): TargetResult[] {
  const targets: TargetResult[] = [];

  const overheadRun = results.zeroLatency.find((r) => r.attachments === sizes.overheadAt);
  const steps = Object.entries(overheadRun?.overhead.byStep ?? {});
  targets.push({
    id: 'step-overhead',
    target: `Per-step overhead ≤ 30 ms median at ${sizes.overheadAt} attachments (every step)`,
    measured: overheadRun
      ? `${steps.map(([name, s]) => `${name} ${f(s.overheadMs.median, 0)} ms`).join(', ')} (all steps pooled: median ${f(overheadRun.overhead.allStepsMs.median, 0)} ms, p95 ${f(overheadRun.overhead.allStepsMs.p95, 0)} ms)`
      : 'not measured',
    pass: overheadRun && steps.length > 0 ? steps.every(([, s]) => s.overheadMs.median <= 30) : null,
  });

  const throughputRun = results.zeroLatency.find((r) => r.attachments === sizes.throughputAt);
  const needs = results.storage?.needs;
  const share =
    throughputRun && needs ? throughputRun.timeline.throughputPerSecond / needs.limitAttachmentsPerSecond : Number.NaN;
  targets.push({
    id: 'throughput-vs-storage',
    target: `Throughput at ${sizes.throughputAt} attachments ≥ 50% of what the measured storage limit allows`,
    measured:
      throughputRun && needs
        ? `${f(throughputRun.timeline.throughputPerSecond)} attachments/s vs storage limit ${f(needs.limitAttachmentsPerSecond)} attachments/s (${f(needs.queueOpsPerAttachment)} queue + ${f(needs.tableOpsPerAttachment)} table operations per attachment, queue operations priced with the run's stored messages) = ${f(share * 100, 0)}%; against the limit with empty queues (${f(needs.limitWithEmptyQueuesPerSecond)}/s): ${f((throughputRun.timeline.throughputPerSecond / needs.limitWithEmptyQueuesPerSecond) * 100, 0)}%`
        : 'not measured',
    pass: Number.isFinite(share) ? share >= 0.5 : null,
  });

  const realistic = results.realistic;
  const largest = realistic?.runs.reduce<(typeof realistic.runs)[number] | undefined>(
    (best, run) => (best === undefined || run.attachments > best.attachments ? run : best),
    undefined,
  );
  targets.push({
    id: 'critical-path-ratio',
    target: `Critical-path ratio ≤ 1.2 at ${Math.max(...sizes.realisticCounts)} attachments (median end-to-end / emulated critical path)`,
    measured:
      largest && realistic
        ? `median ${f(largest.ratio.median, 2)} (p95 ${f(largest.ratio.p95, 2)}, batch makespan ${f(largest.ratio.makespan, 2)}); critical path ${realistic.criticalPathMs} ms, end-to-end median ${f(largest.timeline.endToEndMs.median, 0)} ms at ${largest.attachments} attachments${largest.storageBoundRatio !== undefined ? `; best possible on this machine for these submissions (step 1 starts no faster than the storage limit): ${f(largest.storageBoundRatio, 2)}` : ''}`
        : 'not measured',
    pass: largest && largest.timeline.completed > 0 ? largest.ratio.median <= 1.2 : null,
  });

  const most = Math.max(...sizes.lookupNicCounts);
  const byIp = results.lookup.find((l) => l.nicsInController === most && l.nicBy === 'privateIpAddress');
  const byId = results.lookup.find((l) => l.nicsInController === most && l.nicBy === 'resourceId');
  const timeRatio = byIp && byId ? byIp.step1Ms.mean / byId.step1Ms.mean : Number.NaN;
  const bytesRatio = byIp && byId ? byIp.ncBytesRead.mean / byId.ncBytesRead.mean : Number.NaN;
  targets.push({
    id: 'lookup-by-ip',
    target: `Finding a NIC by IP at ${most.toLocaleString('en-US')} NICs costs ≤ 2× a lookup by resourceId (step 1 time and NC bytes read, mean per attachment)`,
    measured:
      byIp && byId
        ? `step 1 ${f(byIp.step1Ms.mean, 0)} ms vs ${f(byId.step1Ms.mean, 0)} ms (${f(timeRatio, 2)}×); NC bytes ${Math.round(byIp.ncBytesRead.mean)} vs ${Math.round(byId.ncBytesRead.mean)} (${f(bytesRatio, 2)}×)`
        : 'not measured',
    pass: Number.isFinite(timeRatio) && Number.isFinite(bytesRatio) ? timeRatio <= 2 && bytesRatio <= 2 : null,
  });

  const shared = results.sharedNic;
  targets.push({
    id: 'one-nic-puts',
    target: `${sizes.sharedNicAttachments} attachments on one NIC need ≤ 5 PUTs and each reports its own result`,
    measured: shared
      ? `${shared.puts} PUTs (${Object.entries(shared.putStatuses)
          .map(([s, c]) => `${c}× ${s}`)
          .join(
            ', ',
          )}); ${shared.timeline.completed}/${shared.attachments} completed, ${shared.ownResults} with exactly their own addresses; NIC holds ${shared.addressesOnNic}/${shared.addressesAsked} addresses`
      : 'not measured',
    pass: shared ? shared.puts <= 5 && shared.ownResults === shared.attachments : null,
  });
  return targets;
}
