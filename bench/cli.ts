export interface BenchOptions {
  quick: boolean;
  /** Scales the realistic latencies (GET 20 ms, provisioning 2 s, run command 20 s). */
  timeFactor: number;
}

export const USAGE =
  "npm run bench -- [--quick] [--time-factor <n>]   (n in (0, 1]; default 1, the issue's latencies, or 0.05 with --quick)";

/**
 * The full run keeps the latencies: queue visibility delays are whole seconds and moving 1,000 attachments
 * through one instance takes its own seconds, neither of which scales, so a small factor measures this machine
 * more than the product. The smoke run scales them down to stay short.
 */
const FULL_RUN_TIME_FACTOR = 1;
const QUICK_RUN_TIME_FACTOR = 0.05;

export function parseOptions(argv: readonly string[]): BenchOptions {
  const options: { quick: boolean; timeFactor?: number } = { quick: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else if (arg === '--quick') options.quick = true;
    else if (arg === '--time-factor') options.timeFactor = Number(argv[++i]);
    else if (arg?.startsWith('--time-factor=')) options.timeFactor = Number(arg.slice('--time-factor='.length));
    else throw new Error(`Unknown argument ${arg}\n${USAGE}`);
  }
  const timeFactor = options.timeFactor ?? (options.quick ? QUICK_RUN_TIME_FACTOR : FULL_RUN_TIME_FACTOR);
  if (!(timeFactor > 0 && timeFactor <= 1)) throw new Error(`--time-factor must be in (0, 1]\n${USAGE}`);
  return { quick: options.quick, timeFactor };
}

/** How big each part of the bench is; --quick is a smoke run of the same code paths. */
export interface Sizes {
  storageSecondsPerMeasure: number;
  /** The counted run has the throughput run's size, so its operations per attachment are that workload's. */
  countingAttachments: number;
  zeroLatencyCounts: number[];
  /** The zero-latency size the floor (bare submit and step in the same burst) is measured at. */
  floorAt: number;
  throughputAt: number;
  realisticCounts: number[];
  /** Other tenants' NICs in the controller, besides the tenant network of `lookupNetworkNics` (first: none). */
  otherTenantsNics: number[];
  lookupNetworkNics: number;
  lookupAttachments: number;
  /** The scale pair: the same fleet shape at two sizes, latencies scaled by `scaleTimeFactor`, storage counted. */
  scaleCounts: [number, number];
  scaleTimeFactor: number;
  sharedNicAttachments: number;
  /** Tenants in every run but the scale pair (each with its own network and VMs). */
  tenants: number;
  vmsPerTenant: number;
  /** Tenants per Hyper-V host: 100 tenants run on 20 hosts. */
  tenantsPerHost: number;
  /** The scale pair keeps this many attachments per tenant at both sizes. */
  scaleAttachmentsPerTenant: number;
  containersPerAttachment: number;
  deadlineInMs: number;
  /** The 10,000-attachment run's deadline. */
  scaleDeadlineInMs: number;
  /** Longest wait for a quiet machine before each part. */
  quietWaitPerPartMs: number;
}

export function sizesFor(options: BenchOptions): Sizes {
  const common = {
    tenants: 100,
    vmsPerTenant: 2,
    tenantsPerHost: 5,
    scaleAttachmentsPerTenant: 10,
    containersPerAttachment: 4,
    lookupNetworkNics: 10,
    scaleTimeFactor: 0.05,
  };
  return options.quick
    ? {
        ...common,
        storageSecondsPerMeasure: 1.5,
        countingAttachments: 100,
        zeroLatencyCounts: [1, 20, 100],
        floorAt: 100,
        throughputAt: 100,
        realisticCounts: [50],
        otherTenantsNics: [0, 990],
        lookupAttachments: 3,
        scaleCounts: [50, 500],
        sharedNicAttachments: 20,
        deadlineInMs: 60_000,
        scaleDeadlineInMs: 120_000,
        quietWaitPerPartMs: 4_000,
      }
    : {
        ...common,
        storageSecondsPerMeasure: 4,
        countingAttachments: 1_000,
        zeroLatencyCounts: [1, 100, 1_000],
        floorAt: 100,
        throughputAt: 1_000,
        realisticCounts: [1_000],
        otherTenantsNics: [0, 90, 990, 10_000],
        lookupAttachments: 10,
        scaleCounts: [1_000, 10_000],
        sharedNicAttachments: 50,
        deadlineInMs: 240_000,
        scaleDeadlineInMs: 600_000,
        quietWaitPerPartMs: 20_000,
      };
}
