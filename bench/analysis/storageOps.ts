import type { StorageCounts } from '../infra/storageProxy';
import type { StorageRates } from '../scenarios/storageLimit';
import { round } from './stats';

export interface StorageNeeds {
  attachments: number;
  /** Per attachment, the operations its work needs, by kind. */
  perAttachment: Record<string, number>;
  queueOpsPerAttachment: number;
  tableOpsPerAttachment: number;
  /** Listener polls that found nothing or no queue yet, and setup calls: per attachment, not priced below. */
  backgroundPerAttachment: Record<string, number>;
  /** Azurite time one attachment's operations take at the measured rates (per Azurite core, see StorageRates). */
  storageMsPerAttachment: number;
  /** What the measured storage limit allows: 1 / storage time per attachment. */
  limitAttachmentsPerSecond: number;
  /** The same with queue operations priced as on an Azurite holding no other messages (see StorageRates). */
  limitWithEmptyQueuesPerSecond: number;
  failures: StorageCounts;
}

const QUEUE_WORK = ['queue.send', 'queue.delete', 'queue.update', 'queue.receive.messages'];
const TABLE_WORK = ['table.batch', 'table.read', 'table.query', 'table.update', 'table.insert', 'table.delete'];

/** Operations priced at the rate of the measured operation they resemble most; anything else is background. */
function costInMs(kind: string, measured: StorageRates, emptyQueues = false): number | undefined {
  const rates = measured.perAzuriteCore;
  if (QUEUE_WORK.includes(kind)) {
    const backlogRate = emptyQueues ? undefined : measured.withBacklog?.perAzuriteCoreQueueOpsPerSecond;
    return 1000 / (backlogRate ?? rates.queueOpsPerSecond);
  }
  if (kind === 'table.batch') return 1000 / rates.tableBatchesPerSecond;
  if (kind === 'table.read' || kind === 'table.query') return 1000 / rates.tableReadsPerSecond;
  if (kind === 'table.update' || kind === 'table.insert' || kind === 'table.delete')
    return 1000 / rates.tableUpdatesPerSecond;
  return undefined;
}

/** Queue and table operations in `counts` that are an attachment's work (the kinds the storage limit prices). */
export function workOperations(counts: StorageCounts): { queue: number; table: number } {
  let queue = 0;
  let table = 0;
  for (const [kind, count] of Object.entries(counts)) {
    if (QUEUE_WORK.includes(kind)) queue += count;
    else if (TABLE_WORK.includes(kind)) table += count;
  }
  return { queue, table };
}

/**
 * The number of queue and table operations an attachment needs (counted by the proxies in front of Azurite), and
 * the throughput the measured storage rates allow for that mix. Azurite serves queues and tables in one Node
 * process, so the times of an attachment's operations add up.
 */
export function storageNeeds(
  counts: StorageCounts,
  failures: StorageCounts,
  attachments: number,
  rates: StorageRates,
): StorageNeeds {
  const perAttachment: Record<string, number> = {};
  const backgroundPerAttachment: Record<string, number> = {};
  let storageMs = 0;
  let storageMsWithEmptyQueues = 0;
  let queueOps = 0;
  let tableOps = 0;
  for (const [kind, count] of Object.entries(counts).sort()) {
    const per = count / attachments;
    const cost = costInMs(kind, rates);
    if (cost === undefined) {
      backgroundPerAttachment[kind] = round(per, 2);
      continue;
    }
    perAttachment[kind] = round(per, 2);
    storageMs += per * cost;
    storageMsWithEmptyQueues += per * (costInMs(kind, rates, true) ?? cost);
    if (kind.startsWith('queue.')) queueOps += per;
    else tableOps += per;
  }
  return {
    attachments,
    perAttachment,
    queueOpsPerAttachment: round(queueOps, 2),
    tableOpsPerAttachment: round(tableOps, 2),
    backgroundPerAttachment,
    storageMsPerAttachment: round(storageMs, 3),
    limitAttachmentsPerSecond: round(1000 / storageMs, 1),
    limitWithEmptyQueuesPerSecond: round(1000 / storageMsWithEmptyQueues, 1),
    failures,
  };
}
