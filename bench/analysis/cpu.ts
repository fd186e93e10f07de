import type { CpuSample } from '../infra/cpu';
import { round } from './stats';

export interface ProcessCpu {
  cpuMs: number;
  perAttachmentMs: number;
  /** Share of one core over the run: 1.0 means that process kept one core busy the whole time. */
  coreShare: number;
}

export interface CpuReport {
  wallMs: number;
  runner?: ProcessCpu;
  azurite?: ProcessCpu;
  bench: ProcessCpu;
  /** Everything else on the machine (cores busy on average): work the bench did not start, competing for the CPUs. */
  otherCores?: number;
}

/** Where the machine's CPU went during a run: the app (runner), storage (Azurite), the emulators (bench). */
export function cpuReport(before: CpuSample, after: CpuSample, attachments: number): CpuReport {
  const wallMs = after.atMs - before.atMs;
  const of = (start: number | undefined, end: number | undefined): ProcessCpu | undefined =>
    start === undefined || end === undefined
      ? undefined
      : {
          cpuMs: Math.round(end - start),
          perAttachmentMs: round((end - start) / attachments, 2),
          coreShare: round((end - start) / wallMs, 2),
        };
  return {
    wallMs,
    runner: of(before.runnerMs, after.runnerMs),
    azurite: of(before.azuriteMs, after.azuriteMs),
    bench: of(before.benchMs, after.benchMs) ?? { cpuMs: 0, perAttachmentMs: 0, coreShare: 0 },
    ...otherCores(before, after, wallMs),
  };
}

function otherCores(before: CpuSample, after: CpuSample, wallMs: number): { otherCores?: number } {
  const parts = [
    [before.machineMs, after.machineMs],
    [before.runnerMs, after.runnerMs],
    [before.azuriteMs, after.azuriteMs],
    [before.benchMs, after.benchMs],
  ];
  // A process that was never there (no runner while storage rates are measured) counts as zero; one that could not
  // be read at one end makes the difference unknowable.
  if (parts.some(([a, b]) => (a === undefined) !== (b === undefined)) || wallMs <= 0) return {};
  if (parts[0]?.[0] === undefined) return {};
  const [machine = 0, ...ours] = parts.map(([a, b]) => (b ?? 0) - (a ?? 0));
  const mine = ours.reduce((sum, v) => sum + v, 0);
  return { otherCores: round(Math.max(0, machine - mine) / wallMs, 2) };
}
