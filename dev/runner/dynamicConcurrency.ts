import { performance } from 'node:perf_hooks';

/** host.json `concurrency`, as far as the runner honours it. */
export interface DynamicConcurrencySettings {
  dynamicConcurrencyEnabled: boolean;
  /** The host's default is 500. */
  maximumFunctionConcurrency: number;
}

/**
 * The host's throttles watch process CPU and thread-pool starvation; a Node worker has one thread, so the runner
 * watches how busy its event loop is instead (the share of time it spent running callbacks since the last sample).
 */
export interface LoadSampler {
  /** Event-loop utilization in [0, 1] since the previous call. */
  utilizationSinceLastSample(): number;
}

function eventLoopSampler(): LoadSampler {
  let last = performance.eventLoopUtilization();
  return {
    utilizationSinceLastSample() {
      const now = performance.eventLoopUtilization();
      const { utilization } = performance.eventLoopUtilization(now, last);
      last = now;
      return utilization;
    },
  };
}

export interface ConcurrencyTiming {
  /** How often the load is sampled; the host samples every second. */
  sampleIntervalInMs: number;
  /** Above this utilization the runner is overloaded: no new invocations start, and concurrency comes down. */
  utilizationThreshold: number;
}

/**
 * The runner's timing: the host's rules on a tenth of its clock. The host samples once a second and adjusts at most
 * every 2-5 s because a .NET host's CPU and thread-pool signals are coarse; an event loop's utilization is exact
 * over 100 ms, and a local run (or the benchmark) would otherwise spend its first minute at concurrency 1.
 */
const RUNNER_CONCURRENCY_TIMING: ConcurrencyTiming = { sampleIntervalInMs: 100, utilizationThreshold: 0.8 };

// The host's constants, in samples where the host counts seconds (its sample interval is 1 s).
const MIN_CONSECUTIVE_HEALTHY_SAMPLES_TO_INCREASE = 5;
const MIN_CONSECUTIVE_OVERLOADED_SAMPLES_TO_DECREASE = 3;
const MIN_ADJUSTMENT_INTERVAL_IN_SAMPLES = 2;
const MAX_ADJUSTMENT_INTERVAL_IN_SAMPLES = 5;
const DECREASE_QUIET_WINDOW_MIN_IN_SAMPLES = 10;
const DECREASE_QUIET_WINDOW_MAX_IN_SAMPLES = 30;
const ADJUSTMENT_RUN_WINDOW_IN_SAMPLES = 10;
const MAX_ADJUSTMENT_SPEED = 5;

type LoadState = 'unknown' | 'healthy' | 'overloaded';

/**
 * One function's concurrency, adjusted like the Functions host's dynamic concurrency: it starts at 1, grows while
 * the process is healthy and the function uses every slot it has (faster with each consecutive increase), shrinks
 * while the process is overloaded, and holds off increasing for a while after a decrease.
 */
export class FunctionConcurrency {
  #current = 1;
  #outstanding = 0;
  #maxOutstandingSinceAdjustment = 0;
  #invocationsSinceAdjustment = 0;
  #invocationTimeSinceAdjustmentInMs = 0;
  #lastAdjustmentAtInMs: number;
  #lastDecreaseAtInMs: number | undefined;
  #runDirection = 0;
  #runCount = 0;

  constructor(
    readonly functionName: string,
    private readonly manager: ConcurrencyManager,
  ) {
    // Like the host, the first adjustment waits a full interval.
    this.#lastAdjustmentAtInMs = manager.nowInMs();
  }

  get currentConcurrency(): number {
    return this.#current;
  }

  /** How many new invocations may start now: none while the process is overloaded. Adjusts concurrency first. */
  availableInvocationCount(): number {
    this.#adjust();
    if (this.manager.loadState === 'overloaded' || this.#outstanding > this.#current) return 0;
    return this.#current - this.#outstanding;
  }

  /** Resolves at the next load sample: when a function without room should look again. */
  nextSample(): Promise<void> {
    return this.manager.nextSample();
  }

  invocationStarted(): void {
    this.#outstanding++;
    this.#maxOutstandingSinceAdjustment = Math.max(this.#maxOutstandingSinceAdjustment, this.#outstanding);
  }

  invocationCompleted(durationInMs: number): void {
    this.#outstanding = Math.max(0, this.#outstanding - 1);
    this.#invocationsSinceAdjustment++;
    this.#invocationTimeSinceAdjustmentInMs += durationInMs;
  }

  #adjust(): void {
    const { loadState, consecutiveSamples, maximumFunctionConcurrency } = this.manager;
    const now = this.manager.nowInMs();
    if (
      now - this.#lastAdjustmentAtInMs <=
      this.#latencyAdjusted(MIN_ADJUSTMENT_INTERVAL_IN_SAMPLES, MAX_ADJUSTMENT_INTERVAL_IN_SAMPLES, 1)
    )
      return;
    if (loadState === 'healthy') {
      if (consecutiveSamples < MIN_CONSECUTIVE_HEALTHY_SAMPLES_TO_INCREASE) return;
      const quietInMs = this.#latencyAdjusted(
        DECREASE_QUIET_WINDOW_MIN_IN_SAMPLES,
        DECREASE_QUIET_WINDOW_MAX_IN_SAMPLES,
        10,
      );
      if (this.#lastDecreaseAtInMs !== undefined && now - this.#lastDecreaseAtInMs < quietInMs) return;
      // Only a function that used every slot has shown it needs more.
      if (this.#maxOutstandingSinceAdjustment < this.#current) return;
      if (this.#current >= maximumFunctionConcurrency) return;
      this.#change(1, now);
    } else if (loadState === 'overloaded') {
      if (consecutiveSamples < MIN_CONSECUTIVE_OVERLOADED_SAMPLES_TO_DECREASE || this.#current <= 1) return;
      this.#change(-1, now);
    }
  }

  /** Fast functions adjust more often than slow ones: min interval + multiplier × mean duration, capped. */
  #latencyAdjusted(minInSamples: number, maxInSamples: number, latencyMultiplier: number): number {
    const sampleInMs = this.manager.timing.sampleIntervalInMs;
    if (this.#invocationsSinceAdjustment === 0) return maxInSamples * sampleInMs;
    const meanInMs = this.#invocationTimeSinceAdjustmentInMs / this.#invocationsSinceAdjustment;
    return Math.min(minInSamples * sampleInMs + latencyMultiplier * meanInMs, maxInSamples * sampleInMs);
  }

  #change(direction: 1 | -1, now: number): void {
    const runWindowInMs = ADJUSTMENT_RUN_WINDOW_IN_SAMPLES * this.manager.timing.sampleIntervalInMs;
    // Consecutive moves the same way speed up; a turn or a pause starts slow again.
    if (
      (this.#runDirection !== 0 && this.#runDirection !== direction) ||
      now - this.#lastAdjustmentAtInMs > runWindowInMs
    ) {
      this.#runCount = 0;
    }
    const speed = Math.min(MAX_ADJUSTMENT_SPEED, this.#runCount);
    this.#runCount++;
    this.#runDirection = direction;
    const next = Math.max(
      1,
      Math.min(this.manager.maximumFunctionConcurrency, this.#current + direction * (1 + speed)),
    );
    this.manager.log?.(`Concurrency of '${this.functionName}': ${this.#current} → ${next}.`);
    this.#current = next;
    this.#lastAdjustmentAtInMs = now;
    if (direction < 0) this.#lastDecreaseAtInMs = now;
    this.#maxOutstandingSinceAdjustment = 0;
    this.#invocationsSinceAdjustment = 0;
    this.#invocationTimeSinceAdjustmentInMs = 0;
  }
}

export interface ConcurrencyManagerOptions {
  maximumFunctionConcurrency: number;
  timing?: ConcurrencyTiming;
  sampler?: LoadSampler;
  /** Injected so tests can drive the clock. */
  now?: () => number;
  /** Receives a line per concurrency change. */
  log?: (line: string) => void;
}

/** Samples the process's load and hands out each function's concurrency (the host's ConcurrencyManager). */
export class ConcurrencyManager {
  readonly timing: ConcurrencyTiming;
  readonly maximumFunctionConcurrency: number;
  readonly log: ((line: string) => void) | undefined;
  readonly #sampler: LoadSampler;
  readonly #now: () => number;
  readonly #functions = new Map<string, FunctionConcurrency>();
  #loadState: LoadState = 'unknown';
  #consecutiveSamples = 0;
  #timer: NodeJS.Timeout | undefined;
  #sampleWaiters: (() => void)[] = [];

  constructor(options: ConcurrencyManagerOptions) {
    this.timing = options.timing ?? RUNNER_CONCURRENCY_TIMING;
    this.maximumFunctionConcurrency = options.maximumFunctionConcurrency;
    this.log = options.log;
    this.#sampler = options.sampler ?? eventLoopSampler();
    this.#now = options.now ?? (() => performance.now());
  }

  get loadState(): LoadState {
    return this.#loadState;
  }

  /** How many samples in a row have shown the current load state. */
  get consecutiveSamples(): number {
    return this.#consecutiveSamples;
  }

  nowInMs(): number {
    return this.#now();
  }

  start(): void {
    this.#timer ??= setInterval(() => this.sample(), this.timing.sampleIntervalInMs).unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#wakeSampleWaiters();
  }

  /** Takes one load sample (the timer calls this; tests call it directly). */
  sample(): void {
    const utilization = this.#sampler.utilizationSinceLastSample();
    const state: LoadState = utilization > this.timing.utilizationThreshold ? 'overloaded' : 'healthy';
    this.#consecutiveSamples = state === this.#loadState ? this.#consecutiveSamples + 1 : 1;
    this.#loadState = state;
    this.#wakeSampleWaiters();
  }

  /** Resolves at the next load sample: when a function with no room should look again. */
  nextSample(): Promise<void> {
    return new Promise((resolve) => this.#sampleWaiters.push(resolve));
  }

  forFunction(functionName: string): FunctionConcurrency {
    let status = this.#functions.get(functionName);
    if (!status) {
      status = new FunctionConcurrency(functionName, this);
      this.#functions.set(functionName, status);
    }
    return status;
  }

  #wakeSampleWaiters(): void {
    const waiters = this.#sampleWaiters;
    this.#sampleWaiters = [];
    for (const wake of waiters) wake();
  }
}
