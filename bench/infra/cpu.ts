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

export interface CpuSample {
  atMs: number;
  runnerMs?: number;
  azuriteMs?: number;
  /** This process: the NC and ARM emulators, the storage proxies when counting, and the bench's own driving. */
  benchMs: number;
}

export function sampleCpu(runnerPid: number, azuritePid: number): CpuSample {
  const own = process.cpuUsage();
  return {
    atMs: Date.now(),
    runnerMs: processCpuMs(runnerPid),
    azuriteMs: processCpuMs(azuritePid),
    benchMs: (own.user + own.system) / 1000,
  };
}
