import type { CpuReport } from './analysis/cpu';
import type { FunctionLoad } from './analysis/invocations';
import type { LookupCost } from './analysis/lookup';
import type { NcTraffic } from './analysis/ncTraffic';
import type { OverheadReport } from './analysis/overhead';
import type { Summary } from './analysis/stats';
import type { StorageNeeds } from './analysis/storageOps';
import type { Timeline } from './analysis/timeline';
import type { Latencies } from './scenarios/attachRun';
import type { SharedNicResult } from './scenarios/sharedNic';
import type { StorageRates } from './scenarios/storageLimit';
import type { Fleet } from './workload/topology';

/** One batch of attachments submitted together and driven to their end. */
export interface AttachRunResult {
  attachments: number;
  fleet: Fleet;
  latencies: Latencies;
  /** HTTP submit, sent → answered, as the bench's client saw it. */
  submitMs: Summary;
  /** The runner's peak resident set size (VmHWM) at the end of the run, MB. */
  runnerPeakRssMb?: number;
  timeline: Timeline;
  overhead: OverheadReport;
  nc: NcTraffic;
  functions: Record<string, FunctionLoad>;
  cpu: CpuReport;
  statusReadsWhileWaiting: number;
}

export interface CriticalPathRun extends AttachRunResult {
  /** Observed end-to-end over the critical path's emulated latencies: per attachment (median, p95) and batch. */
  ratio: { median: number; p95: number; makespan: number };
  /**
   * The median ratio no app could beat on this machine with these submission times: step 1 starts no faster than
   * the measured storage limit allows (see analysis/queueBound.ts). Absent when the storage limit was not measured.
   */
  storageBoundRatio?: number;
}

/** One of the targets as this run judged it; `id` is stable across runs, `measured` holds the numbers. */
export interface TargetResult {
  id: string;
  target: string;
  /** The figures the verdict rests on (NaN where not measured, written as null in JSON). */
  measured: Record<string, number>;
  /** The same in words, with the absolute figures beside the ratios. */
  detail: string;
  /** Short forms for the README's table. */
  short: { target: string; measured: string };
  pass: boolean | null;
}

/** The floor: bare submits and bare steps in the same runner, in the same burst as the attachments. */
export interface FloorResult {
  attachments: number;
  bareRequests: number;
  bareStepsSucceeded: number;
  bareSubmitMs: Summary;
  /** The runner's invocation durations of the bare step (one table write, one queue send). */
  bareStepMs: Summary;
  productSubmitMs: Summary;
  step1OverheadMs: Summary;
  /** The runner's invocation durations of step 1 (measured like the bare step's), for reference. */
  step1InvocationMs: Summary;
}

/** One run of the scale pair (latencies scaled, storage counted), per attachment. */
export interface ScaleRun {
  attachments: number;
  fleet: Fleet;
  latencies: Latencies;
  completed: number;
  notEnded: number;
  makespanMs: number;
  storageOpsPerAttachment: number;
  queueOpsPerAttachment: number;
  tableOpsPerAttachment: number;
  appCpuMsPerAttachment: number;
  ncBytesReadPerAttachment: number;
  ncRequestsPerAttachment: number;
  runnerPeakRssMb?: number;
  endToEndMs: Summary;
}

export interface BenchResults {
  meta: {
    startedAt: string;
    finishedAt: string;
    durationSeconds: number;
    quick: boolean;
    timeFactor: number;
    gitHead: string;
    /** Product files changed in the working tree while this ran (someone else is optimising them). */
    uncommittedProductFiles: string[];
    node: string;
    cpus: number;
    /** How long the bench waited for the machine to be nearly idle, and the cores busy when it started. */
    quietBeforeStart: { waitedMs: number; busyCores?: number };
    /** 1, 5 and 15 minute load averages before and after the run. */
    loadAverage: { before: number[]; after: number[] };
    appSettings: Record<string, string>;
    containersPerAttachment: number;
    notes: string[];
  };
  storage?: {
    rates: StorageRates;
    needs?: StorageNeeds;
    countedRunCpu?: CpuReport;
    /** Messages stored in Azurite (sent, not yet deleted) during the counted run, as its queue operations found. */
    residentMessages?: { meanAtOperation: number; peak: number };
  };
  zeroLatency: AttachRunResult[];
  realistic?: {
    latencies: Latencies;
    criticalPathMs: number;
    criticalPathParts: Record<string, number>;
    runs: CriticalPathRun[];
  };
  /** Step 1 on a tenant network of 10 NICs, with the controller holding more and more other tenants' NICs. */
  lookup: LookupCost[];
  floor?: FloorResult;
  scale?: ScaleRun[];
  sharedNic?: SharedNicResult;
  targets: TargetResult[];
  /** Before each part: how long the bench waited for the machine to be nearly idle, and the cores busy then. */
  quietWaits: { part: string; waitedMs: number; busyCores?: number }[];
  errors: { part: string; message: string }[];
}

export type { Summary };
