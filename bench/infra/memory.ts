import { readFileSync } from 'node:fs';

/**
 * A process's peak resident set size so far (the kernel's high-water mark, VmHWM, in /proc/<pid>/status), in MB;
 * undefined where /proc is unavailable or the process is gone.
 */
export function peakRssMb(pid: number): number | undefined {
  try {
    const match = /^VmHWM:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match?.[1] === undefined ? undefined : Math.round((Number(match[1]) / 1024) * 10) / 10;
  } catch {
    return undefined;
  }
}
