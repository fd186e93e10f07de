import { cpuReport } from '../analysis/cpu';
import { functionLoad } from '../analysis/invocations';
import { lookupCost } from '../analysis/lookup';
import { ncTraffic } from '../analysis/ncTraffic';
import { stepOverheads } from '../analysis/overhead';
import { queueBoundMedianMs } from '../analysis/queueBound';
import { round, summarize } from '../analysis/stats';
import { storageNeeds, workOperations } from '../analysis/storageOps';
import { timeline } from '../analysis/timeline';
import type { Sizes } from '../cli';
import { BARE_STEP_FUNCTION } from '../floor/names';
import { waitForQuietMachine } from '../infra/cpu';
import type { SharedServices } from '../infra/stack';
import type { AttachRunResult, BenchResults, CriticalPathRun, FloorResult, ScaleRun } from '../results';
import { planAttachments } from '../workload/requests';
import type { StatusDocument } from '../workload/statusDocument';
import type { Fleet } from '../workload/topology';
import {
  type Latencies,
  type RawRun,
  realisticLatencies,
  runAttachments,
  type RunSpec,
  ZERO_LATENCY,
} from './attachRun';
import { runSharedNic } from './sharedNic';
import { measureStorageRates } from './storageLimit';

type Parts = Pick<
  BenchResults,
  'storage' | 'zeroLatency' | 'realistic' | 'lookup' | 'floor' | 'scale' | 'sharedNic' | 'errors' | 'quietWaits'
>;

function progress(text: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${text}\n`);
}

function analyse(run: RawRun, withOverhead = true): AttachRunResult {
  const n = run.spec.plan.count;
  // The NIC each attachment's request named, as planned (the status detail may name it too).
  const nicByAttachment = new Map(
    planAttachments(run.spec.plan).map((a) => {
      const nic = a.body.nic as { resourceId?: string; privateIpAddress?: string };
      const vm = (a.body.containerHost as { machineName: string }).machineName;
      return [a.attachmentId, nic.resourceId ?? `${vm}_Net0`];
    }),
  );
  const nicOfDocument = (document: StatusDocument): string => {
    const fromDetail = document.steps[0]?.detail?.networkInterface;
    return typeof fromDetail === 'string' ? fromDetail : (nicByAttachment.get(document.id) ?? '');
  };
  return {
    attachments: n,
    fleet: run.spec.plan.fleet,
    latencies: run.spec.latencies,
    submitMs: summarize(run.drive.submissions.map((s) => s.answeredAtMs - s.sentAtMs)),
    ...(run.runnerPeakRssMb === undefined ? {} : { runnerPeakRssMb: run.runnerPeakRssMb }),
    timeline: timeline(run.drive, n),
    overhead: withOverhead
      ? stepOverheads({
          documents: run.drive.documents,
          ncLog: run.ncLog,
          provisioningDelayInMs: run.spec.latencies.provisioningDelayInMs,
          runDurationInMs: run.spec.latencies.runDurationInMs,
          nicIdOf: nicOfDocument,
        })
      : { byStep: {}, step1PhasesMs: {}, allStepsMs: summarize([]) },
    nc: ncTraffic(run.ncLog, n),
    functions: functionLoad(run.invocations, n),
    cpu: cpuReport(run.cpu.before, run.cpu.after, n),
    statusReadsWhileWaiting: run.drive.statusReadsWhileWaiting,
  };
}

/** Every tenant its own network and VMs; 100 tenants on 20 Hyper-V hosts (fewer tenants for fewer attachments). */
export function fleetFor(sizes: Sizes, tenants: number): Fleet {
  return {
    tenants,
    vmsPerTenant: sizes.vmsPerTenant,
    hyperVHosts: Math.max(1, Math.ceil(tenants / sizes.tenantsPerHost)),
  };
}

function batch(tag: string, count: number, sizes: Sizes, latencies: Latencies, countStorage = false): RunSpec {
  return {
    name: tag,
    plan: {
      tag,
      count,
      fleet: fleetFor(sizes, Math.min(sizes.tenants, count)),
      containersPerAttachment: sizes.containersPerAttachment,
      nicBy: 'privateIpAddress',
    },
    latencies,
    countStorage,
    deadlineInMs: sizes.deadlineInMs,
  };
}

function floorOf(run: RawRun, result: AttachRunResult): FloorResult {
  const bare = run.drive.bare;
  const step1 = Object.values(result.overhead.byStep)[0];
  return {
    attachments: result.attachments,
    bareRequests: run.spec.floorRequests ?? 0,
    bareStepsSucceeded: bare?.stepsSucceeded ?? 0,
    bareSubmitMs: summarize((bare?.submissions ?? []).map((s) => s.answeredAtMs - s.sentAtMs)),
    bareStepMs: summarize(run.invocations[BARE_STEP_FUNCTION]?.durationsInMs ?? []),
    productSubmitMs: result.submitMs,
    step1OverheadMs: step1?.overheadMs ?? summarize([]),
    step1InvocationMs: summarize(run.invocations.addIpConfigurations?.durationsInMs ?? []),
  };
}

function scaleOf(run: RawRun, result: AttachRunResult): ScaleRun {
  const n = result.attachments;
  const ops = workOperations(run.storage?.counts ?? {});
  return {
    attachments: n,
    fleet: result.fleet,
    latencies: result.latencies,
    completed: result.timeline.completed,
    notEnded: result.timeline.notEnded,
    makespanMs: result.timeline.makespanMs,
    storageOpsPerAttachment: round((ops.queue + ops.table) / n, 2),
    queueOpsPerAttachment: round(ops.queue / n, 2),
    tableOpsPerAttachment: round(ops.table / n, 2),
    appCpuMsPerAttachment: result.cpu.runner?.perAttachmentMs ?? Number.NaN,
    ncBytesReadPerAttachment: result.nc.bytesReadPerAttachment,
    ncRequestsPerAttachment: result.nc.requestsPerAttachment,
    ...(result.runnerPeakRssMb === undefined ? {} : { runnerPeakRssMb: result.runnerPeakRssMb }),
    endToEndMs: result.timeline.endToEndMs,
  };
}

/** The critical path's emulated latencies: the seed workflow's three reads, provisioning, one poll, three runs. */
export function criticalPath(latencies: Latencies): Record<string, number> {
  return {
    'NC reads (list NICs, subnet, ACL)': 3 * latencies.ncGetLatencyInMs,
    'NIC PUT provisioning': latencies.provisioningDelayInMs,
    'operation poll': latencies.ncGetLatencyInMs,
    'run commands (steps 2-4)': 3 * latencies.runDurationInMs,
  };
}

/** Runs every part; a part that fails is recorded and the others still run. */
export async function runSuite(shared: SharedServices, sizes: Sizes, timeFactor: number): Promise<Parts> {
  const parts: Parts = { zeroLatency: [], lookup: [], errors: [], quietWaits: [] };
  // BENCH_ONLY='zero latency, 1000|realistic' runs just the parts whose name contains one of the |-separated
  // texts (profiling, trying a setting; not a full report).
  const only = process.env.BENCH_ONLY?.split('|');
  const attempt = async (part: string, work: () => Promise<void>): Promise<void> => {
    if (only !== undefined && !only.some((text) => part.includes(text))) return;
    // The machine may be shared (another session's tests): let a burst of other work pass before each part.
    const quiet = await waitForQuietMachine(sizes.quietWaitPerPartMs);
    parts.quietWaits.push({ part, ...quiet });
    progress(part);
    try {
      await work();
    } catch (error) {
      parts.errors.push({ part, message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
      progress(`${part} failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  };

  // Counted first: the raw rates are then also measured with the backlog of stored messages this workload keeps.
  let counted: RawRun | undefined;
  await attempt(`storage operations per attachment (${sizes.countingAttachments}, counted)`, async () => {
    counted = await runAttachments(shared, batch('count', sizes.countingAttachments, sizes, ZERO_LATENCY, true));
  });
  await attempt('storage limit (raw Azurite rates)', async () => {
    const rates = await measureStorageRates(
      sizes.storageSecondsPerMeasure,
      counted?.storage?.residentMessages.meanAtOperation ?? 0,
    );
    parts.storage = { rates };
    if (!counted?.storage) throw new Error('no storage counts from the counted run');
    parts.storage.needs = storageNeeds(
      counted.storage.counts,
      counted.storage.failures,
      sizes.countingAttachments,
      rates,
    );
    parts.storage.residentMessages = counted.storage.residentMessages;
    parts.storage.countedRunCpu = cpuReport(counted.cpu.before, counted.cpu.after, sizes.countingAttachments);
  });
  for (const n of sizes.zeroLatencyCounts) {
    const withFloor = n === sizes.floorAt;
    await attempt(`zero latency, ${n} attachment(s)${withFloor ? ' with the floor' : ''}`, async () => {
      const raw = await runAttachments(shared, {
        ...batch(`zero${n}`, n, sizes, ZERO_LATENCY),
        ...(withFloor ? { floorRequests: n } : {}),
      });
      const result = analyse(raw);
      parts.zeroLatency.push(result);
      if (withFloor) parts.floor = floorOf(raw, result);
    });
  }
  const latencies = realisticLatencies(timeFactor);
  const path = criticalPath(latencies);
  const pathMs = Object.values(path).reduce((sum, v) => sum + v, 0);
  const runs: CriticalPathRun[] = [];
  for (const n of sizes.realisticCounts) {
    await attempt(`realistic latencies x${timeFactor}, ${n} attachment(s)`, async () => {
      const raw = await runAttachments(shared, batch(`real${n}`, n, sizes, latencies));
      const result = analyse(raw);
      const e2e = result.timeline.endToEndMs;
      const limit = parts.storage?.needs?.limitAttachmentsPerSecond;
      const ownPathMs = pathMs - (path['run commands (steps 2-4)'] ?? 0);
      const bound =
        limit !== undefined
          ? queueBoundMedianMs(
              raw.drive.documents.filter((d) => d.runtimeStatus === 'Completed'),
              limit,
              { criticalPathMs: pathMs, ownPathMs },
            )
          : Number.NaN;
      runs.push({
        ...result,
        ratio: {
          median: round(e2e.median / pathMs, 2),
          p95: round(e2e.p95 / pathMs, 2),
          makespan: round(result.timeline.makespanMs / pathMs, 2),
        },
        ...(Number.isFinite(bound) ? { storageBoundRatio: round(bound / pathMs, 2) } : {}),
      });
    });
  }
  parts.realistic = { latencies, criticalPathMs: pathMs, criticalPathParts: path, runs };

  for (const others of sizes.otherTenantsNics) {
    const total = sizes.lookupNetworkNics + others;
    await attempt(`controller size: ${total} NICs (${others} on other tenants' networks)`, async () => {
      const k = sizes.lookupAttachments;
      // One tenant whose network has lookupNetworkNics VMs; attachment a goes to VM a, one at a time.
      const run = await runAttachments(shared, {
        name: `controller size ${total}`,
        plan: {
          tag: `size${others}`,
          count: k,
          fleet: { tenants: 1, vmsPerTenant: sizes.lookupNetworkNics, hyperVHosts: 1 },
          containersPerAttachment: sizes.containersPerAttachment,
          nicBy: 'privateIpAddress',
        },
        latencies: ZERO_LATENCY,
        otherTenantsNics: others,
        sequential: true,
        deadlineInMs: sizes.deadlineInMs,
      });
      parts.lookup.push(lookupCost(run.drive.documents, run.ncLog, total, others, 'privateIpAddress'));
    });
  }

  const scale: ScaleRun[] = [];
  const scaleLatencies = realisticLatencies(sizes.scaleTimeFactor);
  for (const n of sizes.scaleCounts) {
    await attempt(`scale: ${n} attachments, latencies x${sizes.scaleTimeFactor}, counted`, async () => {
      const tenants = Math.max(1, Math.round(n / sizes.scaleAttachmentsPerTenant));
      const spec = batch(`scale${n}`, n, sizes, scaleLatencies, true);
      const raw = await runAttachments(shared, {
        ...spec,
        plan: { ...spec.plan, fleet: fleetFor(sizes, tenants) },
        deadlineInMs: sizes.scaleDeadlineInMs,
      });
      // No per-step overhead here: it is measured at 100 and 1,000, and its attribution is quadratic in the log.
      scale.push(scaleOf(raw, analyse(raw, false)));
    });
  }
  if (scale.length > 0) parts.scale = scale;

  await attempt(`${sizes.sharedNicAttachments} attachments on one NIC`, async () => {
    parts.sharedNic = await runSharedNic(shared, sizes.sharedNicAttachments, 2, latencies, sizes.deadlineInMs);
  });
  return parts;
}
