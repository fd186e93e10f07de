import { ms, type StatusDocument } from '../workload/statusDocument';
import { summarize } from './stats';

/**
 * A lower bound on the median end-to-end time of these submissions on this machine: attachments leave the step 1
 * queue in creation order no faster than `ratePerSecond` (the storage limit); each then needs at least its own NIC
 * part of the critical path (`ownPathMs`), and none can finish before the shared machine tasks, which take the
 * whole critical path from the first submission. Queueing above this bound is the app's; the bound itself is the
 * machine's (one storage emulator and one app instance, where Azure would add instances as the queue grows).
 */
export function queueBoundMedianMs(
  documents: readonly StatusDocument[],
  ratePerSecond: number,
  path: { criticalPathMs: number; ownPathMs: number },
): number {
  const created = documents
    .map((d) => ms(d.createdTime))
    .filter((t): t is number => t !== undefined)
    .sort((a, b) => a - b);
  const first = created[0];
  if (first === undefined || !(ratePerSecond > 0)) return Number.NaN;
  const gapMs = 1000 / ratePerSecond;
  let free = Number.NEGATIVE_INFINITY;
  const endToEnd = created.map((at) => {
    const start = Math.max(at, free);
    free = start + gapMs;
    return Math.max(start + path.ownPathMs, first + path.criticalPathMs) - at;
  });
  return summarize(endToEnd).median;
}
