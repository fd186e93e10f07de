import { addArcMachines } from '../infra/armAdmin';
import { type CpuSample, sampleCpu } from '../infra/cpu';
import { peakRssMb } from '../infra/memory';
import type { RequestLogEntry } from '../infra/ncAdmin';
import type { InvocationStats } from '../infra/runnerProcess';
import { type SharedServices, startScenarioStack } from '../infra/stack';
import type { StorageCounts } from '../infra/storageProxy';
import { drive, type DriveResult, driveSequentially } from '../workload/driver';
import { type AttachmentPlan, planAttachments } from '../workload/requests';
import { fleetMachines, fleetResources, otherTenantsResources } from '../workload/topology';

/** Emulated external latencies of one run. */
export interface Latencies {
  ncGetLatencyInMs: number;
  provisioningDelayInMs: number;
  runDurationInMs: number;
}

export const ZERO_LATENCY: Latencies = { ncGetLatencyInMs: 0, provisioningDelayInMs: 0, runDurationInMs: 0 };

/** The realistic latencies (controller GET 20 ms, PUT provisioning 2 s, run command 20 s), scaled. */
export function realisticLatencies(timeFactor: number): Latencies {
  return {
    ncGetLatencyInMs: Math.round(20 * timeFactor),
    provisioningDelayInMs: Math.round(2_000 * timeFactor),
    runDurationInMs: Math.round(20_000 * timeFactor),
  };
}

export interface RunSpec {
  name: string;
  plan: AttachmentPlan;
  latencies: Latencies;
  /** NICs of other tenants in the controller besides the fleet's (controller size scenario). */
  otherTenantsNics?: number;
  countStorage?: boolean;
  /** One attachment at a time (each step 1 alone on the controller) instead of all at once. */
  sequential?: boolean;
  /** Bare submits (the floor) sent in the same burst, through the same runner. */
  floorRequests?: number;
  deadlineInMs: number;
}

export interface RawRun {
  spec: RunSpec;
  drive: DriveResult;
  ncLog: RequestLogEntry[];
  invocations: Record<string, InvocationStats>;
  /** Requests the app made to Azurite by kind (queue.* and table.*), when the run counted them. */
  storage?: {
    counts: StorageCounts;
    failures: StorageCounts;
    residentMessages: { meanAtOperation: number; peak: number };
  };
  /** CPU used by each process from the first submission until every attachment had ended. */
  cpu: { before: CpuSample; after: CpuSample };
  /** The runner's peak resident set size over its life (VmHWM), at the end of the run. */
  runnerPeakRssMb?: number;
  /** False when the runner's log never said all had ended: CPU and counts then include the bench's status reads. */
  endSnapshotFromLog: boolean;
  runnerTail: string[];
}

/**
 * One measured run: the controller back to its seed plus this run's NICs and latencies, a fresh Azurite, ARM
 * emulator and runner (so nothing is reused from an earlier run), the attachments driven to their end, then the
 * controller's request log and the runner's invocation counts collected.
 */
export async function runAttachments(shared: SharedServices, spec: RunSpec): Promise<RawRun> {
  const { ncAdmin } = shared;
  // Not the seed: the controller holds the fleet's networks and NICs (and other tenants'), nothing else.
  await ncAdmin.reset(false);
  await ncAdmin.load([...fleetResources(spec.plan.fleet), ...otherTenantsResources(spec.otherTenantsNics ?? 0)]);
  await ncAdmin.setProvisioningDelay(spec.latencies.provisioningDelayInMs);
  await ncAdmin.addGetLatency(spec.latencies.ncGetLatencyInMs);

  const stack = await startScenarioStack(shared, {
    runDurationInMs: spec.latencies.runDurationInMs,
    countStorage: spec.countStorage ?? false,
    floor: (spec.floorRequests ?? 0) > 0,
  });
  try {
    await addArcMachines(stack.arm.origin, shared.caCertPem, fleetMachines(spec.plan.fleet));
    await ncAdmin.clearRequests();
    for (const proxy of stack.proxies) proxy.reset();
    const attachments = planAttachments(spec.plan);
    const before = sampleCpu(stack.runner.pid, stack.azurite.pid);
    const snapshot = () => ({
      cpu: sampleCpu(stack.runner.pid, stack.azurite.pid),
      counts: Object.assign({}, ...stack.proxies.map((p) => p.counts)) as StorageCounts,
      failures: Object.assign({}, ...stack.proxies.map((p) => p.failures)) as StorageCounts,
      residentMessages: stack.proxies.find((p) => p.service === 'queue')?.residentMessages ?? {
        meanAtOperation: 0,
        peak: 0,
      },
    });
    // Taken when the log says every attachment ended, before the bench reads status documents (its own traffic).
    let atEnd: ReturnType<typeof snapshot> | undefined;
    const onEnded = () => (atEnd = snapshot());
    const result = spec.sequential
      ? await driveSequentially(stack.runner, attachments, spec.deadlineInMs, onEnded)
      : await drive(stack.runner, attachments, spec.deadlineInMs, onEnded, spec.floorRequests ?? 0);
    const end = atEnd ?? snapshot();
    const ncLog = await ncAdmin.requests();
    return {
      spec,
      drive: result,
      ncLog,
      invocations: Object.fromEntries(stack.runner.invocations),
      ...(spec.countStorage
        ? { storage: { counts: end.counts, failures: end.failures, residentMessages: end.residentMessages } }
        : {}),
      cpu: { before, after: end.cpu },
      runnerPeakRssMb: peakRssMb(stack.runner.pid),
      endSnapshotFromLog: atEnd !== undefined,
      runnerTail: stack.runner.tail(),
    };
  } finally {
    await stack.stop();
  }
}
