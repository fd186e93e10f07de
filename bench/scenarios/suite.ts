import { cpuReport } from '../analysis/cpu';
import { functionLoad } from '../analysis/invocations';
import { lookupCost } from '../analysis/lookup';
import { ncTraffic } from '../analysis/ncTraffic';
import { stepOverheads } from '../analysis/overhead';
import { queueBoundMedianMs } from '../analysis/queueBound';
import { round } from '../analysis/stats';
import { storageNeeds } from '../analysis/storageOps';
import { timeline } from '../analysis/timeline';
import type { Sizes } from '../cli';
import { waitForQuietMachine } from '../infra/cpu';
import type { SharedServices } from '../infra/stack';
import type { AttachRunResult, BenchResults, CriticalPathRun } from '../results';
import type { StatusDocument } from '../workload/statusDocument';
import { nicIdFor } from '../workload/topology';
import { type Latencies, type RawRun, realisticLatencies, runAttachments, ZERO_LATENCY } from './attachRun';
import { runSharedNic } from './sharedNic';
import { measureStorageRates } from './storageLimit';

type Parts = Pick<
  BenchResults,
  'storage' | 'zeroLatency' | 'realistic' | 'lookup' | 'sharedNic' | 'errors' | 'quietWaits'
>;

function progress(text: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${text}\n`);
}

function nicOfDocument(document: StatusDocument): string {
  const fromDetail = document.steps[0]?.detail?.networkInterface;
  if (typeof fromDetail === 'string') return fromDetail;
  return nicIdFor(Number(/-a(\d+)$/.exec(document.id)?.[1]));
}

function analyse(run: RawRun): AttachRunResult {
  const n = run.spec.plan.count;
  return {
    attachments: n,
    latencies: run.spec.latencies,
    timeline: timeline(run.drive, n),
    overhead: stepOverheads({
      documents: run.drive.documents,
      ncLog: run.ncLog,
      provisioningDelayInMs: run.spec.latencies.provisioningDelayInMs,
      runDurationInMs: run.spec.latencies.runDurationInMs,
      nicIdOf: nicOfDocument,
    }),
    nc: ncTraffic(run.ncLog, n),
    functions: functionLoad(run.invocations, n),
    cpu: cpuReport(run.cpu.before, run.cpu.after, n),
    statusReadsWhileWaiting: run.drive.statusReadsWhileWaiting,
  };
}

function batch(tag: string, count: number, sizes: Sizes, latencies: Latencies, countStorage = false) {
  return {
    name: tag,
    plan: {
      tag,
      count,
      tenants: Math.min(sizes.tenants, count),
      containersPerAttachment: sizes.containersPerAttachment,
      nicBy: 'privateIpAddress' as const,
    },
    latencies,
    countStorage,
    deadlineInMs: sizes.deadlineInMs,
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
    await attempt(`zero latency, ${n} attachment(s)`, async () => {
      parts.zeroLatency.push(analyse(await runAttachments(shared, batch(`zero${n}`, n, sizes, ZERO_LATENCY))));
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

  for (const nics of sizes.lookupNicCounts) {
    for (const nicBy of ['privateIpAddress', 'resourceId'] as const) {
      await attempt(`NIC lookup by ${nicBy}, ${nics} NICs`, async () => {
        const k = sizes.lookupAttachments;
        const run = await runAttachments(shared, {
          name: `lookup ${nicBy} ${nics}`,
          plan: {
            tag: `look${nics}${nicBy === 'resourceId' ? 'id' : 'ip'}`,
            count: k,
            tenants: k,
            containersPerAttachment: sizes.containersPerAttachment,
            nicBy,
          },
          latencies: ZERO_LATENCY,
          // The seed holds 4 NICs; the bench adds one per attachment and fills the rest.
          fillerNics: Math.max(0, nics - k - 4),
          sequential: true,
          deadlineInMs: sizes.deadlineInMs,
        });
        parts.lookup.push(lookupCost(run.drive.documents, run.ncLog, nics, nicBy));
      });
    }
  }
  await attempt(`${sizes.sharedNicAttachments} attachments on one NIC`, async () => {
    parts.sharedNic = await runSharedNic(shared, sizes.sharedNicAttachments, 2, latencies, sizes.deadlineInMs);
  });
  return parts;
}
