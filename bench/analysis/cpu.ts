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
  };
}
