import { TableClient, type TransactionAction } from '@azure/data-tables';
import { QueueClient } from '@azure/storage-queue';

import { startAzurite } from '../../dev/azurite';
import { cpuReport } from '../analysis/cpu';
import { round } from '../analysis/stats';
import { processCpuMs, sampleCpu } from '../infra/cpu';

export interface StorageRates {
  concurrency: number;
  secondsPerMeasure: number;
  /** send + receive + delete of one message. */
  queueCyclesPerSecond: number;
  /** Queue operations per second, each of the three counted. */
  queueOpsPerSecond: number;
  tableUpdatesPerSecond: number;
  /** Entity-group transactions shaped like the app's state writes: one row replaced, one history row inserted. */
  tableBatchesPerSecond: number;
  tableReadsPerSecond: number;
  /**
   * Azurite's share of one core during each measurement: near 100% means the rate is Azurite's ceiling; well below
   * means the callers (this process, on the same 2 cores) held it back and the ceiling is higher.
   */
  azuriteCoreShare: Record<'queue' | 'tableUpdate' | 'tableBatch' | 'tableRead' | 'queueWithBacklog', number>;
  /** Cores other processes on the machine kept busy meanwhile (the bench's callers and Azurite excluded). */
  otherCores?: number;
  /**
   * The same rates per second of Azurite CPU (rate ÷ Azurite's core share): Azurite's ceiling on a core of its own,
   * which neither the callers sharing its two cores nor other work on the machine can lower. Equal to the raw rates
   * when Azurite was saturated. These price the operations an attachment needs.
   */
  perAzuriteCore: {
    queueOpsPerSecond: number;
    tableUpdatesPerSecond: number;
    tableBatchesPerSecond: number;
    tableReadsPerSecond: number;
  };
  /**
   * The queue measured again while Azurite holds as many other messages as the counted run's queue operations found
   * stored on average: Azurite scans every stored message on each queue operation, so this is its queue rate for
   * that workload. Absent when the counted run held none.
   */
  withBacklog?: {
    residentMessages: number;
    queueCyclesPerSecond: number;
    queueOpsPerSecond: number;
    azuriteCoreShare: number;
    perAzuriteCoreQueueOpsPerSecond: number;
  };
}

/** Rate per second of Azurite CPU; the raw rate where the share is missing or implausible. */
function perCore(rate: number, share: number): number {
  return round(Number.isFinite(share) && share >= 0.2 && share <= 1 ? rate / share : rate);
}

const CONCURRENCY = 32;
const WARM_UP_MS = 1_000;

/** Runs `op` on `workers` loops for `durationMs`; returns completed operations per second. */
async function rate(workers: number, durationMs: number, op: (worker: number) => Promise<void>): Promise<number> {
  const started = performance.now();
  const stopAt = started + durationMs;
  let done = 0;
  await Promise.all(
    Array.from({ length: workers }, async (_, worker) => {
      while (performance.now() < stopAt) {
        await op(worker);
        done++;
      }
    }),
  );
  return done / ((performance.now() - started) / 1000);
}

/**
 * The ceiling this machine's Azurite puts on the app, measured in the same bench run: a fresh Azurite (in a scratch
 * folder, as in the runs) driven from this process at a fixed concurrency with the same SDKs the app uses.
 */
export async function measureStorageRates(secondsPerMeasure: number, residentMessages = 0): Promise<StorageRates> {
  const azurite = await startAzurite({ blobPort: 0, queuePort: 0, tablePort: 0, scratch: true });
  try {
    const durationMs = secondsPerMeasure * 1000;
    // The runner pid does not exist here; only Azurite, this process and everything else count.
    const before = sampleCpu(-1, azurite.pid);
    const queue = new QueueClient(azurite.connectionString, 'bench-limit');
    await queue.createIfNotExists();
    const table = TableClient.fromConnectionString(azurite.connectionString, 'benchlimit', {
      allowInsecureConnection: true,
    });
    await table.createTable();
    const body = 'x'.repeat(1_500);
    for (let w = 0; w < CONCURRENCY; w++) await table.createEntity({ partitionKey: `p${w}`, rowKey: 'row', body });

    const share: StorageRates['azuriteCoreShare'] = {
      queue: Number.NaN,
      tableUpdate: Number.NaN,
      tableBatch: Number.NaN,
      tableRead: Number.NaN,
      queueWithBacklog: Number.NaN,
    };
    const measured = async (key: keyof StorageRates['azuriteCoreShare'], op: (w: number) => Promise<void>) => {
      // The first seconds of a new Azurite and of the SDK's code paths run at half speed (JIT); not the steady state.
      await rate(CONCURRENCY, WARM_UP_MS, op);
      const cpuBefore = processCpuMs(azurite.pid);
      const startedAt = performance.now();
      const result = await rate(CONCURRENCY, durationMs, op);
      const cpuAfter = processCpuMs(azurite.pid);
      if (cpuBefore !== undefined && cpuAfter !== undefined)
        share[key] = round((cpuAfter - cpuBefore) / (performance.now() - startedAt), 2);
      return result;
    };
    const queueCycle = async () => {
      await queue.sendMessage(Buffer.from(body.slice(0, 200)).toString('base64'));
      const received = await queue.receiveMessages({ numberOfMessages: 1, visibilityTimeout: 30 });
      const message = received.receivedMessageItems[0];
      if (message) await queue.deleteMessage(message.messageId, message.popReceipt);
    };
    const queueCyclesPerSecond = await measured('queue', queueCycle);
    const tableUpdatesPerSecond = await measured('tableUpdate', async (w) => {
      await table.updateEntity({ partitionKey: `p${w}`, rowKey: 'row', body }, 'Replace');
    });
    // History rows are new every time, across the warm-up and the measurement.
    let eventSequence = 0;
    const tableBatchesPerSecond = await measured('tableBatch', async (w) => {
      const rowKey = `row~${String(eventSequence++).padStart(8, '0')}`;
      const actions: TransactionAction[] = [
        ['update', { partitionKey: `p${w}`, rowKey: 'row', body }, 'Replace'],
        ['create', { partitionKey: `p${w}`, rowKey, event: body.slice(0, 200) }],
      ];
      await table.submitTransaction(actions);
    });
    const tableReadsPerSecond = await measured('tableRead', async (w) => {
      await table.getEntity(`p${w}`, 'row');
    });
    let withBacklog: StorageRates['withBacklog'];
    if (residentMessages > 0) {
      // Parked in a queue nobody reads, the size of the app's messages; what counts is that Azurite holds them.
      const backlog = new QueueClient(azurite.connectionString, 'bench-backlog');
      await backlog.createIfNotExists();
      const text = Buffer.from(body.slice(0, 150)).toString('base64');
      for (let sent = 0; sent < residentMessages; sent += CONCURRENCY) {
        await Promise.all(
          Array.from({ length: Math.min(CONCURRENCY, residentMessages - sent) }, () => backlog.sendMessage(text)),
        );
      }
      const cyclesPerSecond = await measured('queueWithBacklog', queueCycle);
      withBacklog = {
        residentMessages,
        queueCyclesPerSecond: round(cyclesPerSecond),
        queueOpsPerSecond: round(cyclesPerSecond * 3),
        azuriteCoreShare: share.queueWithBacklog,
        perAzuriteCoreQueueOpsPerSecond: perCore(cyclesPerSecond * 3, share.queueWithBacklog),
      };
    }
    return {
      concurrency: CONCURRENCY,
      secondsPerMeasure,
      queueCyclesPerSecond: round(queueCyclesPerSecond),
      queueOpsPerSecond: round(queueCyclesPerSecond * 3),
      tableUpdatesPerSecond: round(tableUpdatesPerSecond),
      tableBatchesPerSecond: round(tableBatchesPerSecond),
      tableReadsPerSecond: round(tableReadsPerSecond),
      azuriteCoreShare: share,
      perAzuriteCore: {
        queueOpsPerSecond: perCore(queueCyclesPerSecond * 3, share.queue),
        tableUpdatesPerSecond: perCore(tableUpdatesPerSecond, share.tableUpdate),
        tableBatchesPerSecond: perCore(tableBatchesPerSecond, share.tableBatch),
        tableReadsPerSecond: perCore(tableReadsPerSecond, share.tableRead),
      },
      otherCores: cpuReport(before, sampleCpu(-1, azurite.pid), 1).otherCores,
      ...(withBacklog ? { withBacklog } : {}),
    };
  } finally {
    await azurite.stop();
  }
}
