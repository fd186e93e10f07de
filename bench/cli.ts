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
  /** The zero-latency size the per-step overhead target is judged at, and the one throughput is judged at. */
  overheadAt: number;
  throughputAt: number;
  realisticCounts: number[];
  lookupNicCounts: number[];
  lookupAttachments: number;
  sharedNicAttachments: number;
  tenants: number;
  containersPerAttachment: number;
  deadlineInMs: number;
  /** Longest wait for a quiet machine before each part. */
  quietWaitPerPartMs: number;
}

export function sizesFor(options: BenchOptions): Sizes {
  const common = { tenants: 100, containersPerAttachment: 4, lookupNicCounts: [1_000, 10_000] };
  return options.quick
    ? {
        ...common,
        storageSecondsPerMeasure: 1.5,
        countingAttachments: 100,
        zeroLatencyCounts: [1, 20, 100],
        overheadAt: 100,
        throughputAt: 100,
        realisticCounts: [1, 50],
        lookupAttachments: 3,
        sharedNicAttachments: 20,
        deadlineInMs: 60_000,
        quietWaitPerPartMs: 4_000,
      }
    : {
        ...common,
        storageSecondsPerMeasure: 4,
        countingAttachments: 1_000,
        zeroLatencyCounts: [1, 100, 1_000],
        overheadAt: 100,
        throughputAt: 1_000,
        realisticCounts: [1, 1_000],
        lookupAttachments: 10,
        sharedNicAttachments: 50,
        deadlineInMs: 240_000,
        quietWaitPerPartMs: 20_000,
      };
}
