import { readFileSync } from 'node:fs';

/** Linux reports process times in clock ticks; 100 per second on every mainstream kernel config. */
const TICKS_PER_SECOND = 100;

/** CPU time (user + system) a child process has used so far, from /proc; undefined where /proc is unavailable. */
export function processCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may contain spaces; the numeric fields follow the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return Number.isFinite(utime) && Number.isFinite(stime) ? ((utime + stime) * 1000) / TICKS_PER_SECOND : undefined;
  } catch {
    return undefined;
  }
}

/**
 * CPU time all processes on this machine have used so far (all cores summed), from /proc/stat. The machine may be
 * shared with work the bench cannot see (another session's tests in another PID namespace), so the bench measures
 * what everyone else used during each run and reports it next to the numbers.
 */
export function machineBusyMs(): number | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
    const busy = [user, nice, system, irq, softirq, steal].reduce<number>((sum, v) => sum + (v ?? 0), 0);
    return Number.isFinite(busy) ? (busy * 1000) / TICKS_PER_SECOND : undefined;
  } catch {
    return undefined;
  }
}

export interface CpuSample {
  atMs: number;
  machineMs?: number;
  runnerMs?: number;
  azuriteMs?: number;
  /** This process: the NC and ARM emulators, the storage proxies when counting, and the bench's own driving. */
  benchMs: number;
}

export function sampleCpu(runnerPid: number, azuritePid: number): CpuSample {
  const own = process.cpuUsage();
  return {
    atMs: Date.now(),
    machineMs: machineBusyMs(),
    runnerMs: processCpuMs(runnerPid),
    azuriteMs: processCpuMs(azuritePid),
    benchMs: (own.user + own.system) / 1000,
  };
}

/** Cores busy on the whole machine over `windowMs` (0 to the number of cores). */
export async function machineBusyCores(windowMs: number): Promise<number | undefined> {
  const start = machineBusyMs();
  const startedAt = Date.now();
  await new Promise((resolve) => setTimeout(resolve, windowMs));
  const end = machineBusyMs();
  return start === undefined || end === undefined ? undefined : (end - start) / (Date.now() - startedAt);
}

/**
 * Waits (up to `maxWaitMs`) until the machine has been nearly idle for one window, so the bench does not start in
 * the middle of someone else's build or test run. Returns how long it waited and the last load seen.
 */
export async function waitForQuietMachine(
  maxWaitMs: number,
  idleBelowCores = 0.3,
  windowMs = 1_000,
): Promise<{ waitedMs: number; busyCores?: number }> {
  const started = Date.now();
  let busy = await machineBusyCores(windowMs);
  while (busy !== undefined && busy > idleBelowCores && Date.now() - started < maxWaitMs) {
    busy = await machineBusyCores(windowMs);
  }
  return { waitedMs: Date.now() - started, ...(busy === undefined ? {} : { busyCores: Math.round(busy * 100) / 100 }) };
}
