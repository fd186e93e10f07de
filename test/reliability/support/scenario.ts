import { writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

import {
  addRandomControllerFaults,
  addRetryableOperationFailures,
  type ArmChaosStats,
  crashDuringSteps,
  type KillRecord,
  randomArmFaults,
} from './chaos';
import {
  attachEnded,
  checkInvariants,
  detachedFrom,
  type InvariantReport,
  type StatusDocument,
  waitForAllEnded,
} from './invariants';
import { type ReliabilityStack, startReliabilityStack } from './reliabilityStack';
import { DOOMED_NIC, type PlannedAttachment, planWorkload, prepareLab, requestDetach, submitAll } from './workload';

/**
 * Settings that keep a faulty run fast and its invocations well inside the step lease: client timeouts shorter than
 * the injected latency (so some calls time out while the request still lands), short backoffs, quick polling.
 */
export const STEP_LEASE_MS = 8_000;
export const CHAOS_ENV: Record<string, string> = {
  STEP_LEASE_MS: String(STEP_LEASE_MS),
  STEP_INLINE_WAIT_MS: '1500',
  NETWORK_CONTROLLER_POLL_INTERVAL_MS: '100',
  NETWORK_CONTROLLER_TIMEOUT_MS: '1000',
  NETWORK_CONTROLLER_RETRY_DELAY_MS: '50',
  NETWORK_CONTROLLER_MAX_RETRY_DELAY_MS: '1000',
  ARM_TIMEOUT_MS: '1000',
  RUN_COMMAND_POLL_INTERVAL_MS: '200',
  // A fifth of all calls failing plus a SIGKILL every few seconds is far rougher than production: a step can lose
  // several deliveries in a row to kills alone (each counts, as in the host). Ten deliveries instead of the default
  // five keep "transient" meaning transient here; the app and the runner both read this setting.
  AzureFunctionsJobHost__extensions__queues__maxDequeueCount: '10',
};
/** A dead runner's messages come back this long after the kill (the step lease has ended by then). */
export const LEASE_SECONDS = Math.ceil(STEP_LEASE_MS / 1000) + 1;

export interface ScenarioOptions {
  count: number;
  tenants: number;
  prefix: string;
  faultProbability: number;
  timedOutProbability: number;
  /** Kill the runner mid-invocation in each of the four steps (or `crashSteps`), and this many times more. */
  crash: boolean;
  crashSteps?: readonly string[];
  extraKills?: number;
  /**
   * Detach every attachment (see planWorkload): every third a moment after its wave was submitted, while its attach
   * runs (0, 1 or 2 s later, so it meets the attach at different steps), the others as soon as their attach ended.
   */
  detach?: boolean;
  onDiskAzurite?: boolean;
  /** Restart Azurite (on disk) this many times during the run, `downForInMs` each, about this far apart. */
  azuriteRestarts?: number;
  downForInMs?: number;
  azuriteRestartIntervalInMs?: number;
  /** Submit in waves of this many, this far apart (default: all at once). */
  waveSize?: number;
  waveIntervalInMs?: number;
  pauseBetweenKillsInMs?: number;
  endTimeoutInMs: number;
}

export interface ScenarioResult {
  report: InvariantReport;
  kills: KillRecord[];
  azuriteRestarts: number;
  /** Messages whose completion failed during a storage outage, handed back to the queue after the step lease. */
  orphansReleased: number;
  /** Runner log lines that report a storage call failing (polls, completions, invocations). */
  storageErrorLines: number;
  arm: ArmChaosStats;
  ncFaultHits: number;
  maxInvocationInMs: Record<string, number>;
  warnings: string[];
  elapsedInMs: number;
  docs: Map<string, StatusDocument>;
  /** For a detaching scenario: how many attachments were detached from each status (see detachedFrom). */
  detachedFrom: Record<string, number>;
  log: string[];
}

export async function startChaosStack(options: {
  faultProbability: number;
  timedOutProbability: number;
  onDiskAzurite?: boolean;
}): Promise<{ stack: ReliabilityStack; armStats: ArmChaosStats; setArmChaos: (on: boolean) => void }> {
  // The ARM proxy's decisions need the stack (to flip machine switches), and the stack needs the proxy.
  const late: { stack?: ReliabilityStack } = {};
  let armChaos = false;
  const arm = randomArmFaults(() => late.stack!, {
    probability: options.faultProbability,
    timedOutProbability: options.timedOutProbability,
    enabled: () => armChaos,
  });
  const stack = await startReliabilityStack({
    env: CHAOS_ENV,
    // A NIC write takes a second to provision, so step 1 is still under way when the crashes begin.
    provisioningDelayInMs: 1_000,
    // A script runs for two seconds (on Windows it takes longer), so each machine's first step 2-4 invocations stay
    // under way long enough for a kill to land in each of them.
    runDurationInMs: 2_000,
    onDiskAzurite: options.onDiskAzurite,
    armProxy: arm.decide,
  });
  late.stack = stack;
  return { stack, armStats: arm.stats, setArmChaos: (on) => void (armChaos = on) };
}

/**
 * The fault-and-crash scenario: a planned workload under random emulator faults, with the runner killed in
 * the middle of each step (and optionally Azurite restarted), then every end-state invariant checked.
 */
export async function runScenario(
  chaos: { stack: ReliabilityStack; armStats: ArmChaosStats; setArmChaos: (on: boolean) => void },
  options: ScenarioOptions,
): Promise<ScenarioResult> {
  const { stack } = chaos;
  const started = Date.now();
  await prepareLab(stack);
  await addRandomControllerFaults(stack, options.faultProbability);
  // Controller operations that end Failed with the controller's retryable code, as often as the other faults.
  await addRetryableOperationFailures(stack, options.faultProbability);
  chaos.setArmChaos(true);
  if (!stack.liveRunner()) await stack.startRunner();

  // Every third attachment asks for free addresses, so several choose from the same list at the same moment.
  const plan = planWorkload({ ...options, countBased: 'every-third' });
  const key = (item: PlannedAttachment) => `${item.tenantId}/${item.attachmentId}`;
  const waveSize = options.waveSize ?? plan.length;
  const waves: PlannedAttachment[][] = [];
  for (let i = 0; i < plan.length; i += waveSize) waves.push(plan.slice(i, i + waveSize));

  let ended = false;
  const docs = new Map<string, StatusDocument>();
  // Crashes and storage restarts hold off while a wave is being submitted and until none of it is Pending: this
  // harness's client does not retry a POST lost with the runner (a crash between storing an attachment and enqueuing
  // its first step, and the client's retry, have their own test in crashPoints.test.ts).
  let submitting = false;
  // Detach requests likewise (a DELETE lost with the runner would be the client's to send again).
  let detaching = 0;
  const calm = () => !submitting && detaching === 0;
  const detach = async (item: PlannedAttachment) => {
    detaching++;
    try {
      await requestDetach(stack, item);
    } finally {
      detaching--;
    }
  };
  const detachTasks: Promise<unknown>[] = [];
  const submitWave = async (wave: readonly PlannedAttachment[]) => {
    submitting = true;
    await submitAll(stack, wave);
    for (let i = 0; i < 300; i++) {
      let pending = 0;
      for (const item of wave) {
        const answer = await stack.api('GET', `/tenants/${item.tenantId}/attachments/${item.attachmentId}`);
        if (answer.status === 404 || answer.body.runtimeStatus === 'Pending') pending++;
      }
      if (pending === 0) break;
      await sleep(100);
    }
    submitting = false;
    const whileRunning = wave.filter((item) => item.detach?.when === 'running');
    detachTasks.push(...whileRunning.map((item, k) => sleep((k % 3) * 1_000).then(() => detach(item))));
  };
  await submitWave(waves[0] ?? []);

  const chaosTasks: Promise<unknown>[] = [];
  chaosTasks.push(
    (async () => {
      for (const wave of waves.slice(1)) {
        await sleep(options.waveIntervalInMs ?? 5_000);
        await submitWave(wave);
      }
    })(),
  );
  // The others are detached as soon as their attach has ended (Completed, or Failed when doomed).
  chaosTasks.push(
    (async () => {
      const waiting = new Set(plan.filter((item) => item.detach?.when === 'ended'));
      while (waiting.size > 0 && !ended) {
        for (const item of waiting) {
          const answer = await stack.api('GET', `/tenants/${item.tenantId}/attachments/${item.attachmentId}`);
          if (answer.status !== 200 || !attachEnded(answer.body as unknown as StatusDocument)) continue;
          waiting.delete(item);
          await detach(item);
        }
        await sleep(250);
      }
    })(),
  );
  let kills: KillRecord[] = [];
  if (options.crash) {
    chaosTasks.push(
      crashDuringSteps(stack, {
        ...(options.crashSteps ? { steps: options.crashSteps } : {}),
        extraKills: options.extraKills ?? 0,
        leaseSeconds: LEASE_SECONDS,
        pauseBetweenKillsInMs: options.pauseBetweenKillsInMs ?? 1_500,
        mayKill: calm,
        done: () => ended,
        timeoutInMs: options.endTimeoutInMs,
      }).then((k) => (kills = k)),
    );
  }
  let restarts = 0;
  let orphansReleased = 0;
  if (options.azuriteRestarts) {
    chaosTasks.push(
      (async () => {
        const expiries: Promise<unknown>[] = [];
        for (let i = 0; i < (options.azuriteRestarts ?? 0) && !ended; i++) {
          await sleep((options.azuriteRestartIntervalInMs ?? 3_000) * (0.7 + Math.random() * 0.6));
          while (!calm() && !ended) await sleep(100);
          if (ended) break;
          await stack.restartAzurite(options.downForInMs ?? 1_500);
          restarts++;
          // Completions the runner attempted while storage was down failed: those messages would come back after the
          // runner's 10-minute lease. End those leases once the step leases taken before the outage are over.
          expiries.push(
            sleep(STEP_LEASE_MS)
              .then(() => stack.queueProxy.expire({ states: ['orphaned'], visibleInSeconds: 1 }))
              .then((n) => (orphansReleased += n)),
          );
        }
        await Promise.all(expiries);
      })(),
    );
  }
  const waited = waitForAllEnded(stack, plan, options.endTimeoutInMs).then((d) => {
    ended = true;
    return d;
  });
  for (const [k, v] of await waited) docs.set(k, v);
  await Promise.all(chaosTasks);
  await Promise.all(detachTasks);

  // Faults off for the checks (the NIC reads go through the emulator's fault rules too).
  chaos.setArmChaos(false);
  const faults = (await stack.ncAdmin('GET', '/_emulator/faults')) as { hits: number }[];
  const ncFaultHits = faults.slice(1).reduce((sum, f) => sum + f.hits, 0);
  await stack.ncAdmin('DELETE', '/_emulator/faults');
  // A kill or a lost completion can leave a message leased by a dead runner; give the live one a last chance.
  await stack.queueProxy.expire({ states: ['orphaned'], visibleInSeconds: 0 });

  const disruptions = kills.length + restarts;
  const report = await checkInvariants(stack, plan, docs, {
    allowedRunsPerTask: (machine) => 1 + disruptions + (chaos.armStats.faultsByMachine[machine] ?? 0),
    skipNics: [DOOMED_NIC],
  });

  const maxInvocationInMs: Record<string, number> = {};
  for (const line of stack.output) {
    const match = /Executed '([A-Za-z]+)' \([A-Za-z]+, Id=[^,]+, Duration=(\d+)ms\)/.exec(line);
    if (match?.[1]) maxInvocationInMs[match[1]] = Math.max(maxInvocationInMs[match[1]] ?? 0, Number(match[2]));
  }
  // A step invocation outliving STEP_LEASE_MS could meet a duplicate delivery of its own step (only a re-emitted
  // next-step message can be one here); worth knowing when reading a failure, not a failure by itself (storage
  // outages stretch invocations through the SDK's own retries).
  const longest = Math.max(0, ...Object.values(maxInvocationInMs));
  const warnings =
    longest >= STEP_LEASE_MS ? [`an invocation took ${longest} ms, longer than STEP_LEASE_MS ${STEP_LEASE_MS}`] : [];
  // RELIABILITY_LOG_FILE=<path> keeps every runner line of the run for reading a failure afterwards.
  if (process.env.RELIABILITY_LOG_FILE) writeFileSync(process.env.RELIABILITY_LOG_FILE, `${stack.output.join('\n')}\n`);
  const detachOrigins: Record<string, number> = {};
  for (const item of plan.filter((p) => p.detach)) {
    const from = detachedFrom(docs.get(key(item))) ?? 'unknown';
    detachOrigins[from] = (detachOrigins[from] ?? 0) + 1;
  }
  return {
    report,
    kills,
    azuriteRestarts: restarts,
    orphansReleased,
    storageErrorLines: stack.output.filter((l) =>
      /ECONNREFUSED|ECONNRESET|socket hang up|Completing message|Polling queue/.test(l),
    ).length,
    arm: chaos.armStats,
    ncFaultHits,
    maxInvocationInMs,
    warnings,
    elapsedInMs: Date.now() - started,
    docs,
    detachedFrom: detachOrigins,
    log: stack.output,
  };
}

/** A compact account of a scenario for the test output. */
/** Prints the scenario's summary, and the end of the runners' log (status reads left out) when a check failed. */
export function printResult(result: ScenarioResult, logTailLines: number): void {
  console.log(describeResult(result));
  if (result.report.problems.length === 0) return;
  console.log(
    result.log
      .filter((l) => !l.includes('getAttachment'))
      .slice(-logTailLines)
      .join('\n'),
  );
}

export function describeResult(result: ScenarioResult): string {
  const kills = result.kills.map(
    (k) =>
      `${k.step}${k.midInvocation ? '' : ' (after it ended)'} +${k.delayInMs}ms, ${k.leasesExpired} lease(s) ended`,
  );
  return JSON.stringify(
    {
      elapsedInMs: result.elapsedInMs,
      statuses: result.report.summary.statuses,
      ...(Object.keys(result.detachedFrom).length > 0 ? { detachedFrom: result.detachedFrom } : {}),
      kills,
      azuriteRestarts: result.azuriteRestarts,
      orphansReleased: result.orphansReleased,
      storageErrorLines: result.storageErrorLines,
      storageErrorSamples: result.log
        .filter((l) => /ECONNREFUSED|ECONNRESET|socket hang up|Completing message|Polling queue|\[error\]/.test(l))
        .slice(0, 6)
        .map((l) => l.slice(0, 240)),
      ncFaultHits: result.ncFaultHits,
      armFaults: { ...result.arm },
      scriptRuns: result.report.summary.scriptRuns,
      restarts: result.report.summary.restarts,
      stepAttempts: Object.fromEntries(
        Object.entries(result.report.summary.stepAttempts).map(([step, attempts]) => [
          step,
          { max: Math.max(0, ...attempts), total: attempts.reduce((a, b) => a + b, 0) },
        ]),
      ),
      poisonMessages: result.report.summary.poisonMessages,
      poisonLogLines: result.report.summary.poisonLogLines.length,
      maxInvocationInMs: result.maxInvocationInMs,
      warnings: result.warnings,
      problems: result.report.problems,
    },
    null,
    1,
  );
}
