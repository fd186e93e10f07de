import { setTimeout as sleep } from 'node:timers/promises';

import type { ProxiedRequest, ProxyDecision } from './httpsFaultProxy';
import type { ReliabilityStack, RunnerHandle } from './reliabilityStack';

/** The four step functions, in order, as the runner names them. */
export const STEP_FUNCTIONS = [
  'addIpConfigurations',
  'enableNetworkProxy',
  'installPrivateCloudPlugin',
  'createContainerNetwork',
] as const;

/**
 * Transient faults on about `probability` of all Network Controller calls: 503, 429 with Retry-After, 500, latency
 * beyond the client's timeout (the request still lands, its answer is lost), and on NIC writes an operation that
 * ends Failed with the controller's retryable code.
 */
export async function addRandomControllerFaults(stack: ReliabilityStack, probability: number): Promise<void> {
  const share = (part: number) => Math.round(probability * part * 1000) / 1000;
  const rules = [
    { path: '.', probability: share(0.3), status: 503 },
    { path: '.', probability: share(0.25), status: 429, retryAfterInSeconds: 1 },
    { path: '.', probability: share(0.2), status: 500 },
    { path: '.', probability: share(0.25), latencyInMs: 2_000 },
  ];
  for (const rule of rules) await stack.ncAdmin('POST', '/_emulator/faults', rule);
}

/** Operations on NIC writes that end Failed with `RetryableError` (the controller says: try again). */
export async function addRetryableOperationFailures(stack: ReliabilityStack, probability: number): Promise<void> {
  await stack.ncAdmin('POST', '/_emulator/faults', {
    method: 'PUT',
    path: '^/networkInterfaces/[^/]+$',
    probability,
    operation: { status: 'Failed', error: { code: 'RetryableError', message: 'Transient host failure (injected).' } },
  });
}

export interface ArmChaosStats {
  /** Injected HTTP faults on a machine's routes (machine GET and its run commands), by machine. */
  faultsByMachine: Record<string, number>;
  /** Runs switched to end TimedOut, by machine. */
  timedOutByMachine: Record<string, number>;
  total: number;
  requests: number;
}

const MACHINE = /\/machines\/([^/]+)/i;
const RUN_COMMAND_PUT = /\/machines\/([^/]+)\/runCommands\/[^/]+$/i;

/**
 * A decision function for the ARM fault proxy: about `probability` of ARM calls fail (503, 500, 429 with
 * Retry-After, latency beyond the client's timeout, or an answer lost after ARM acted), and `timedOutProbability`
 * of run commands end TimedOut (the machine switch is set just before the PUT reaches the emulator, per machine, so
 * each run draws on its own).
 */
export function randomArmFaults(
  stack: () => ReliabilityStack,
  options: { probability: number; timedOutProbability: number; enabled?: () => boolean },
): { decide: (request: ProxiedRequest) => Promise<ProxyDecision | undefined>; stats: ArmChaosStats } {
  const stats: ArmChaosStats = { faultsByMachine: {}, timedOutByMachine: {}, total: 0, requests: 0 };
  const machineLocks = new Map<string, Promise<void>>();

  const decide = async (request: ProxiedRequest): Promise<ProxyDecision | undefined> => {
    stats.requests++;
    if (options.enabled && !options.enabled()) return undefined;
    const machine = MACHINE.exec(request.path)?.[1];
    const roll = Math.random();
    const p = options.probability;
    let decision: ProxyDecision | undefined;
    if (roll < p * 0.25) decision = { status: 503 };
    else if (roll < p * 0.45) decision = { status: 500, code: 'InternalServerError' };
    else if (roll < p * 0.7) decision = { status: 429, code: 'TooManyRequests', retryAfterInSeconds: 1 };
    else if (roll < p * 0.85) decision = { latencyInMs: 2_000 };
    else if (roll < p) decision = { after: 'drop' };
    if (decision) {
      stats.total++;
      if (machine) stats.faultsByMachine[machine] = (stats.faultsByMachine[machine] ?? 0) + 1;
    }
    const putMachine = request.method === 'PUT' ? RUN_COMMAND_PUT.exec(request.path)?.[1] : undefined;
    if (putMachine === undefined || decision?.status !== undefined) return decision;

    // One PUT at a time per machine between setting its switch and the emulator taking the run.
    const previous = machineLocks.get(putMachine) ?? Promise.resolve();
    let unlock = () => {};
    const mine = new Promise<void>((r) => (unlock = r));
    machineLocks.set(
      putMachine,
      previous.then(() => mine),
    );
    await previous;
    const safety = setTimeout(unlock, 5_000);
    const timedOut = Math.random() < options.timedOutProbability;
    if (timedOut) stats.timedOutByMachine[putMachine] = (stats.timedOutByMachine[putMachine] ?? 0) + 1;
    await stack().armAdmin('PUT', `/_emulator/machines/${putMachine}`, {
      runCommandOutcome: timedOut ? 'TimedOut' : null,
    });
    const base = decision ?? {};
    return {
      ...base,
      onForwarded: () => {
        clearTimeout(safety);
        unlock();
      },
    };
  };
  return { decide, stats };
}

export interface KillRecord {
  step: string;
  invocationId: string;
  /** The invocation had not finished when the runner died. */
  midInvocation: boolean;
  delayInMs: number;
  leasesExpired: number;
}

/**
 * Kills the runner with SIGKILL while a step's invocation is under way, once per step (and `extraKills` more at
 * random steps), each time ending the dead runner's message leases after the step lease and starting a new runner.
 * Stops early when `done()` says every attachment ended.
 */
export async function crashDuringSteps(
  stack: ReliabilityStack,
  options: {
    steps?: readonly string[];
    extraKills?: number;
    /** Seconds until a dead runner's messages are visible again; longer than STEP_LEASE_MS. */
    leaseSeconds: number;
    /** Longest random wait between the invocation's start and the kill. */
    maxDelayInMs?: number;
    pauseBetweenKillsInMs?: number;
    /** Checked right before each kill; a kill is skipped (and tried again) while it says no. */
    mayKill?: () => boolean;
    done: () => boolean;
    timeoutInMs: number;
    onRestart?: (runner: RunnerHandle) => void;
  },
): Promise<KillRecord[]> {
  const steps = options.steps ?? STEP_FUNCTIONS;
  const killedMid = new Set<string>();
  let extra = options.extraKills ?? 0;
  const kills: KillRecord[] = [];
  const deadline = Date.now() + options.timeoutInMs;
  while (!options.done() && Date.now() < deadline) {
    const wanted = steps.filter((s) => !killedMid.has(s));
    if (wanted.length === 0 && extra <= 0) break;
    // Any step not yet hit, the rarest first: steps 2-4 are long only while a machine's script runs (most of their
    // deliveries reuse an applied task in a few milliseconds), step 1 is long whenever a NIC write is followed.
    const targets = new Set(wanted.length > 0 ? wanted : steps);
    // A step's work runs in its own function and in `<step>Rechecks` (a script followed through re-checks, a parked
    // step woken): both count as that step. Once a machine is configured, steps 2-4 finish inside the delivery of the
    // step before them, so most of their invocations are of these two kinds.
    const stepOf = (functionName: string) => functionName.replace(/Rechecks$/, '');
    const runner = stack.liveRunner() ?? (await stack.startRunner());
    let started: { step: string; id: string } | undefined;
    while (!started && !options.done() && Date.now() < deadline && runner.alive) {
      const candidates = [...runner.inFlight].filter(([, v]) => targets.has(stepOf(v.functionName)));
      // The later a step, the rarer its invocations (each machine runs its script once, then the steps before it
      // finish it inline): take the latest step in flight.
      const rank = (functionName: string) => steps.indexOf(stepOf(functionName));
      const candidate = candidates.sort(([, a], [, b]) => rank(b.functionName) - rank(a.functionName))[0];
      if (candidate) started = { step: stepOf(candidate[1].functionName), id: candidate[0] };
      else await sleep(5);
    }
    if (!started) continue;
    // Host-step invocations that run a script are followed inline for a second or so; step 1's last longer.
    const maxDelayInMs = options.maxDelayInMs ?? (started.step === steps[0] ? 150 : 50);
    const delayInMs = Math.floor(Math.random() * maxDelayInMs);
    await sleep(delayInMs);
    if (options.mayKill && !options.mayKill()) {
      await sleep(100);
      continue;
    }
    const midInvocation = runner.inFlight.has(started.id);
    await runner.kill('SIGKILL');
    const leasesExpired = await stack.queueProxy.expire({
      states: ['leased', 'orphaned'],
      visibleInSeconds: options.leaseSeconds,
    });
    kills.push({ step: started.step, invocationId: started.id, midInvocation, delayInMs, leasesExpired });
    if (midInvocation) {
      if (killedMid.has(started.step) || wanted.length === 0) extra--;
      killedMid.add(started.step);
    }
    const next = await stack.startRunner();
    options.onRestart?.(next);
    await sleep(options.pauseBetweenKillsInMs ?? 500);
  }
  return kills;
}
