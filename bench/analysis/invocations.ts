import type { InvocationStats } from '../infra/runnerProcess';
import { round, summarize, type Summary } from './stats';

export interface FunctionLoad {
  invocations: number;
  failed: number;
  perAttachment: number;
  durationMs: Summary;
  /** Summed invocation time per attachment: where the runner spends its time (concurrent invocations overlap). */
  busyMsPerAttachment: number;
}

/** The runner's "Executed" lines per function, per attachment: re-checks and duplicate deliveries show up here. */
export function functionLoad(
  invocations: Record<string, InvocationStats>,
  attachments: number,
): Record<string, FunctionLoad> {
  return Object.fromEntries(
    Object.entries(invocations).map(([name, stats]) => {
      const total = stats.succeeded + stats.failed;
      const busy = stats.durationsInMs.reduce((sum, d) => sum + d, 0);
      return [
        name,
        {
          invocations: total,
          failed: stats.failed,
          perAttachment: round(total / attachments, 2),
          durationMs: summarize(stats.durationsInMs),
          busyMsPerAttachment: round(busy / attachments, 1),
        },
      ];
    }),
  );
}
