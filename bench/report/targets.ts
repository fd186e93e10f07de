import { round } from '../analysis/stats';
import type { Sizes } from '../cli';
import type { BenchResults, TargetResult } from '../results';

const f = (value: number | undefined, digits = 1): string =>
  value !== undefined && Number.isFinite(value) ? value.toFixed(digits) : 'n/a';
const n = (value: number): string => value.toLocaleString('en-US');
const ratio = (a: number | undefined, b: number | undefined): number =>
  a === undefined || b === undefined || !(b > 0) ? Number.NaN : round(a / b, 2);
const judged = (values: number[], ok: (values: number[]) => boolean): boolean | null =>
  values.length > 0 && values.every((v) => Number.isFinite(v)) ? ok(values) : null;

type Results = Omit<BenchResults, 'targets'>;

/** Target 1: step 1 on a tenant network of 10 NICs, alone vs with 10,000 other tenants' NICs in the controller. */
function readsScaleWithTenantNetwork(results: Results, sizes: Sizes): TargetResult {
  const most = Math.max(...sizes.otherTenantsNics);
  const alone = results.lookup.find((l) => l.otherTenantsNics === 0);
  const crowded = results.lookup.find((l) => l.otherTenantsNics === most);
  const measured = {
    otherTenantsNics: most,
    bytesMeanRatio: ratio(crowded?.ncBytesRead.mean, alone?.ncBytesRead.mean),
    step1MeanRatio: ratio(crowded?.step1Ms.mean, alone?.step1Ms.mean),
    bytesFirstRatio: ratio(crowded?.first.ncBytesRead, alone?.first.ncBytesRead),
    step1FirstRatio: ratio(crowded?.first.step1Ms, alone?.first.step1Ms),
    aloneBytesMean: Math.round(alone?.ncBytesRead.mean ?? Number.NaN),
    crowdedBytesMean: Math.round(crowded?.ncBytesRead.mean ?? Number.NaN),
    aloneStep1MeanMs: round(alone?.step1Ms.mean ?? Number.NaN),
    crowdedStep1MeanMs: round(crowded?.step1Ms.mean ?? Number.NaN),
    aloneFirstBytes: alone?.first.ncBytesRead ?? Number.NaN,
    crowdedFirstBytes: crowded?.first.ncBytesRead ?? Number.NaN,
    aloneFirstStep1Ms: alone?.first.step1Ms ?? Number.NaN,
    crowdedFirstStep1Ms: crowded?.first.step1Ms ?? Number.NaN,
  };
  const ratios = [measured.bytesMeanRatio, measured.step1MeanRatio, measured.bytesFirstRatio, measured.step1FirstRatio];
  return {
    id: 'reads-scale-with-tenant-network',
    target: `Step 1 on a tenant network of ${sizes.lookupNetworkNics} NICs with ${n(most)} other tenants' NICs in the controller: ≤ 1.2× the NC bytes read and the step 1 time of the same with only those ${sizes.lookupNetworkNics} (mean per attachment, and the fresh runner's first attachment)`,
    measured,
    detail:
      alone && crowded
        ? `NC bytes per attachment ${n(measured.crowdedBytesMean)} vs ${n(measured.aloneBytesMean)} (${f(measured.bytesMeanRatio, 2)}×), first attachment ${n(measured.crowdedFirstBytes)} vs ${n(measured.aloneFirstBytes)} (${f(measured.bytesFirstRatio, 2)}×); step 1 ${f(measured.crowdedStep1MeanMs, 0)} ms vs ${f(measured.aloneStep1MeanMs, 0)} ms (${f(measured.step1MeanRatio, 2)}×), first attachment ${f(measured.crowdedFirstStep1Ms, 0)} ms vs ${f(measured.aloneFirstStep1Ms, 0)} ms (${f(measured.step1FirstRatio, 2)}×)`
        : 'not measured',
    short: {
      target: `Reads with ${n(most)} other NICs ≤ 1.2×`,
      measured: `bytes ${f(Math.max(measured.bytesMeanRatio, measured.bytesFirstRatio), 2)}×, step 1 ${f(Math.max(measured.step1MeanRatio, measured.step1FirstRatio), 2)}× (worst of mean, first)`,
    },
    pass: alone && crowded ? judged(ratios, (v) => v.every((r) => r <= 1.2)) : null,
  };
}

/** Target 2: the realistic fleet's critical-path ratio. */
function criticalPathRatio(results: Results, sizes: Sizes): TargetResult {
  const realistic = results.realistic;
  const at = Math.max(...sizes.realisticCounts);
  const run = realistic?.runs.find((r) => r.attachments === at);
  const measured = {
    attachments: at,
    median: run?.ratio.median ?? Number.NaN,
    p95: run?.ratio.p95 ?? Number.NaN,
    makespan: run?.ratio.makespan ?? Number.NaN,
    storageBound: run?.storageBoundRatio ?? Number.NaN,
    criticalPathMs: realistic?.criticalPathMs ?? Number.NaN,
    endToEndMedianMs: run?.timeline.endToEndMs.median ?? Number.NaN,
    completed: run?.timeline.completed ?? Number.NaN,
  };
  return {
    id: 'critical-path-ratio',
    target: `Critical-path ratio ≤ 1.1 median at ${n(at)} attachments over ${run?.fleet.tenants ?? sizes.tenants} tenants (own network, ${sizes.vmsPerTenant} container host VMs each, ${run?.fleet.hyperVHosts ?? '?'} Hyper-V hosts)`,
    measured,
    detail:
      run && realistic
        ? `median ${f(measured.median, 2)} (p95 ${f(measured.p95, 2)}, batch makespan ${f(measured.makespan, 2)}); critical path ${realistic.criticalPathMs} ms, end-to-end median ${f(measured.endToEndMedianMs, 0)} ms; ${run.timeline.completed}/${run.attachments} completed${run.storageBoundRatio !== undefined ? `; best possible on this machine for these submissions: ${f(run.storageBoundRatio, 2)}` : ''}`
        : 'not measured',
    short: { target: `Critical-path ratio ≤ 1.1 at ${n(at)}`, measured: `median ${f(measured.median, 2)}` },
    pass: run && run.timeline.completed > 0 ? measured.median <= 1.1 : null,
  };
}

/** Target 3: per-attachment costs at 10,000 against 1,000, and the runner's memory. */
function scaleTargets(results: Results, sizes: Sizes): TargetResult[] {
  const [smallAt, largeAt] = sizes.scaleCounts;
  const small = results.scale?.find((r) => r.attachments === smallAt);
  const large = results.scale?.find((r) => r.attachments === largeAt);
  const measured = {
    storageOpsRatio: ratio(large?.storageOpsPerAttachment, small?.storageOpsPerAttachment),
    appCpuRatio: ratio(large?.appCpuMsPerAttachment, small?.appCpuMsPerAttachment),
    ncBytesRatio: ratio(large?.ncBytesReadPerAttachment, small?.ncBytesReadPerAttachment),
    smallStorageOps: small?.storageOpsPerAttachment ?? Number.NaN,
    largeStorageOps: large?.storageOpsPerAttachment ?? Number.NaN,
    smallAppCpuMs: small?.appCpuMsPerAttachment ?? Number.NaN,
    largeAppCpuMs: large?.appCpuMsPerAttachment ?? Number.NaN,
    smallNcBytes: small?.ncBytesReadPerAttachment ?? Number.NaN,
    largeNcBytes: large?.ncBytesReadPerAttachment ?? Number.NaN,
    largeCompleted: large?.completed ?? Number.NaN,
  };
  const complete = small !== undefined && large !== undefined && large.completed === large.attachments;
  const rss = large?.runnerPeakRssMb;
  return [
    {
      id: 'scale-per-attachment',
      target: `At ${n(largeAt)} attachments (latencies ×${sizes.scaleTimeFactor}) storage operations, app CPU and NC bytes per attachment within 1.2× of ${n(smallAt)}`,
      measured,
      detail:
        small && large
          ? `storage operations ${f(measured.largeStorageOps, 2)} vs ${f(measured.smallStorageOps, 2)} (${f(measured.storageOpsRatio, 2)}×), app CPU ${f(measured.largeAppCpuMs, 1)} vs ${f(measured.smallAppCpuMs, 1)} ms (${f(measured.appCpuRatio, 2)}×), NC bytes ${n(measured.largeNcBytes)} vs ${n(measured.smallNcBytes)} (${f(measured.ncBytesRatio, 2)}×); ${large.completed}/${large.attachments} completed over ${n(large.fleet.tenants)} tenants`
          : 'not measured',
      short: {
        target: `Per attachment at ${n(largeAt)} ≤ 1.2× ${n(smallAt)}`,
        measured: `ops ${f(measured.storageOpsRatio, 2)}×, CPU ${f(measured.appCpuRatio, 2)}×, bytes ${f(measured.ncBytesRatio, 2)}×`,
      },
      pass: complete
        ? judged([measured.storageOpsRatio, measured.appCpuRatio, measured.ncBytesRatio], (v) =>
            v.every((r) => r <= 1.2),
          )
        : small && large
          ? false
          : null,
    },
    {
      id: 'runner-peak-rss',
      target: `Runner peak RSS ≤ 300 MB over ${n(largeAt)} attachments`,
      measured: { attachments: largeAt, peakRssMb: rss ?? Number.NaN, atSmallMb: small?.runnerPeakRssMb ?? Number.NaN },
      detail:
        rss === undefined
          ? 'not measured'
          : `${f(rss, 0)} MB (VmHWM of the runner process; ${f(small?.runnerPeakRssMb, 0)} MB over ${n(smallAt)})`,
      short: { target: `Runner peak RSS ≤ 300 MB at ${n(largeAt)}`, measured: `${f(rss, 0)} MB` },
      pass: rss === undefined ? null : rss <= 300,
    },
  ];
}

/** Target 4: latency against the floor measured in the same burst, and the cost per attachment. */
function floorTargets(results: Results, sizes: Sizes): TargetResult[] {
  const floor = results.floor;
  const overheadRatio = ratio(floor?.step1OverheadMs.median, floor?.bareStepMs.median);
  const submitRatio = ratio(floor?.productSubmitMs.p95, floor?.bareSubmitMs.p95);
  const at = floor?.attachments ?? sizes.floorAt;
  const needs = results.storage?.needs;
  const storageOps = needs ? round(needs.queueOpsPerAttachment + needs.tableOpsPerAttachment, 2) : Number.NaN;
  const cpuRun = results.zeroLatency.find((r) => r.attachments === sizes.throughputAt);
  const cpuMs = cpuRun?.cpu.runner?.perAttachmentMs ?? Number.NaN;
  return [
    {
      id: 'step1-overhead-vs-floor',
      target: `Step 1 overhead (median) ≤ 2× a bare queue-triggered step's (one table write, one queue send) at ${at}, same burst, same runner`,
      measured: {
        ratio: overheadRatio,
        step1OverheadMs: floor?.step1OverheadMs.median ?? Number.NaN,
        bareStepMs: floor?.bareStepMs.median ?? Number.NaN,
        step1InvocationMs: floor?.step1InvocationMs.median ?? Number.NaN,
      },
      detail: floor
        ? `${f(overheadRatio, 2)}×: step 1 overhead ${f(floor.step1OverheadMs.median, 0)} ms median (p95 ${f(floor.step1OverheadMs.p95, 0)}), bare step ${f(floor.bareStepMs.median, 0)} ms median (p95 ${f(floor.bareStepMs.p95, 0)}; ${floor.bareStepsSucceeded}/${floor.bareRequests}); step 1 invocations ${f(floor.step1InvocationMs.median, 0)} ms median`
        : 'not measured',
      short: {
        target: 'Step 1 overhead ≤ 2× bare step',
        measured: `${f(overheadRatio, 2)}× (${f(floor?.step1OverheadMs.median, 0)} / ${f(floor?.bareStepMs.median, 0)} ms)`,
      },
      pass: floor ? judged([overheadRatio], ([r = Number.NaN]) => r <= 2) : null,
    },
    {
      id: 'submit-p95-vs-floor',
      target: `Submit p95 ≤ 2× a bare HTTP submit's (one insert, one send), burst of ${at} attachments and ${floor?.bareRequests ?? at} bare submits, ${50} in flight`,
      measured: {
        ratio: submitRatio,
        submitP95Ms: floor?.productSubmitMs.p95 ?? Number.NaN,
        submitMedianMs: floor?.productSubmitMs.median ?? Number.NaN,
        bareSubmitP95Ms: floor?.bareSubmitMs.p95 ?? Number.NaN,
        bareSubmitMedianMs: floor?.bareSubmitMs.median ?? Number.NaN,
      },
      detail: floor
        ? `${f(submitRatio, 2)}×: submit ${f(floor.productSubmitMs.median, 0)} ms median, ${f(floor.productSubmitMs.p95, 0)} ms p95; bare submit ${f(floor.bareSubmitMs.median, 0)} ms median, ${f(floor.bareSubmitMs.p95, 0)} ms p95`
        : 'not measured',
      short: {
        target: 'Submit p95 ≤ 2× bare submit',
        measured: `${f(submitRatio, 2)}× (${f(floor?.productSubmitMs.p95, 0)} / ${f(floor?.bareSubmitMs.p95, 0)} ms)`,
      },
      pass: floor ? judged([submitRatio], ([r = Number.NaN]) => r <= 2) : null,
    },
    {
      id: 'storage-ops-per-attachment',
      target: `≤ 12 storage operations per attachment at ${n(sizes.countingAttachments)}, zero latency`,
      measured: {
        perAttachment: storageOps,
        queue: needs?.queueOpsPerAttachment ?? Number.NaN,
        table: needs?.tableOpsPerAttachment ?? Number.NaN,
      },
      detail: needs
        ? `${f(storageOps, 1)} (${f(needs.queueOpsPerAttachment, 1)} queue + ${f(needs.tableOpsPerAttachment, 1)} table)`
        : 'not measured',
      short: { target: 'Storage ops per attachment ≤ 12', measured: f(storageOps, 1) },
      pass: needs ? storageOps <= 12 : null,
    },
    {
      id: 'app-cpu-per-attachment',
      target: `≤ 12 ms of the app process's CPU per attachment at ${n(sizes.throughputAt)}, zero latency`,
      measured: { perAttachmentMs: cpuMs },
      detail: cpuRun ? `${f(cpuMs, 1)} ms (runner process, first submission to last end)` : 'not measured',
      short: { target: 'App CPU per attachment ≤ 12 ms', measured: `${f(cpuMs, 1)} ms` },
      pass: cpuRun ? judged([cpuMs], ([v = Number.NaN]) => v <= 12) : null,
    },
  ];
}

/** The issue's targets, judged on this run's numbers (reported, never asserted). */
export function judgeTargets(results: Results, sizes: Sizes): TargetResult[] {
  const throughputRun = results.zeroLatency.find((r) => r.attachments === sizes.throughputAt);
  const needs = results.storage?.needs;
  const throughput = throughputRun?.timeline.throughputPerSecond ?? Number.NaN;
  const share = ratio(throughput, needs?.limitAttachmentsPerSecond);
  const shared = results.sharedNic;
  return [
    readsScaleWithTenantNetwork(results, sizes),
    criticalPathRatio(results, sizes),
    ...scaleTargets(results, sizes),
    ...floorTargets(results, sizes),
    {
      id: 'throughput-vs-storage',
      target: `Throughput at ${n(sizes.throughputAt)} attachments ≥ 50% of what the measured storage limit allows`,
      measured: {
        throughputPerSecond: throughput,
        limitPerSecond: needs?.limitAttachmentsPerSecond ?? Number.NaN,
        share,
        limitWithEmptyQueuesPerSecond: needs?.limitWithEmptyQueuesPerSecond ?? Number.NaN,
      },
      detail:
        throughputRun && needs
          ? `${f(throughput)} attachments/s vs storage limit ${f(needs.limitAttachmentsPerSecond)}/s (queue operations priced with the run's stored messages) = ${f(share * 100, 0)}%; against the limit with empty queues (${f(needs.limitWithEmptyQueuesPerSecond)}/s): ${f((throughput / needs.limitWithEmptyQueuesPerSecond) * 100, 0)}%`
          : 'not measured',
      short: {
        target: `Throughput at ${n(sizes.throughputAt)} ≥ 50% of storage limit`,
        measured: `${f(throughput)}/s of ${f(needs?.limitAttachmentsPerSecond)}/s = ${f(share * 100, 0)}%`,
      },
      pass: Number.isFinite(share) ? share >= 0.5 : null,
    },
    {
      id: 'one-nic-puts',
      target: `${sizes.sharedNicAttachments} attachments on one NIC need ≤ 5 PUTs and each reports its own result`,
      measured: {
        attachments: shared?.attachments ?? Number.NaN,
        puts: shared?.puts ?? Number.NaN,
        ownResults: shared?.ownResults ?? Number.NaN,
        completed: shared?.timeline.completed ?? Number.NaN,
      },
      detail: shared
        ? `${shared.puts} PUTs (${Object.entries(shared.putStatuses)
            .map(([s, c]) => `${c}× ${s}`)
            .join(
              ', ',
            )}); ${shared.timeline.completed}/${shared.attachments} completed, ${shared.ownResults} with exactly their own addresses; NIC holds ${shared.addressesOnNic}/${shared.addressesAsked} addresses`
        : 'not measured',
      short: {
        target: `${sizes.sharedNicAttachments} on one NIC: ≤ 5 PUTs, own results`,
        measured: shared ? `${shared.puts} PUTs, ${shared.ownResults}/${shared.attachments} own` : 'n/a',
      },
      pass: shared ? shared.puts <= 5 && shared.ownResults === shared.attachments : null,
    },
  ];
}
