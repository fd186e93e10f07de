import { InvocationContext, output } from '@azure/functions';
import type { DequeuedMessageItem, QueueClient } from '@azure/storage-queue';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { type RunningAzurite, startAzurite } from '../../../dev/azurite';
import { ConcurrencyManager, type FunctionConcurrency } from '../../../dev/runner/dynamicConcurrency';
import { type MessageDisposition, QueueListener, type QueueMessageHandler } from '../../../dev/runner/queueListener';
import { QueueOutputWriter } from '../../../dev/runner/queueOutputs';
import { QueueAccounts } from '../../../dev/runner/queueStorage';
import { QueueWatcher } from '../../../dev/runner/queueWatcher';
import { approximateCount, base64, waitFor } from './helpers';

let azurite: RunningAzurite;
const listeners: QueueListener[] = [];
const logLines: string[] = [];
const write = (line: string): void => {
  logLines.push(line);
};

/** Records what it is given and deletes every message, tracking how many run at once. */
class RecordingHandler implements QueueMessageHandler {
  readonly texts: string[] = [];
  running = 0;
  maxRunning = 0;
  readonly #workInMs: number;

  constructor(
    readonly queueName: string,
    readonly accounts: QueueAccounts,
    workInMs = 0,
  ) {
    this.#workInMs = workInMs;
  }

  async execute(message: DequeuedMessageItem): Promise<MessageDisposition> {
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    await new Promise((resolve) => setTimeout(resolve, this.#workInMs));
    this.texts.push(Buffer.from(message.messageText, 'base64').toString('utf8'));
    this.running--;
    return 'delete';
  }

  async complete(message: DequeuedMessageItem, popReceipt: string): Promise<void> {
    await this.accounts.queue(azurite.connectionString, this.queueName).deleteMessage(message.messageId, popReceipt);
  }
}

function startListener(options: {
  queueName: string;
  accounts: QueueAccounts;
  watcher: QueueWatcher;
  handler: QueueMessageHandler;
  batchSize?: number;
  newBatchThreshold?: number;
  minPollingIntervalInMs?: number;
  maxPollingIntervalInMs?: number;
  queue?: QueueClient;
  concurrency?: FunctionConcurrency;
}): QueueListener {
  const listener = new QueueListener({
    functionName: `listen-${options.queueName}`,
    queue: options.queue ?? options.accounts.queue(azurite.connectionString, options.queueName),
    settings: {
      batchSize: options.batchSize ?? 16,
      newBatchThreshold: options.newBatchThreshold ?? 8,
      maxPollingIntervalInMs: options.maxPollingIntervalInMs ?? 1_000,
    },
    watcher: options.watcher,
    handler: options.handler,
    write,
    minPollingIntervalInMs: options.minPollingIntervalInMs,
    concurrency: options.concurrency,
  });
  listeners.push(listener);
  listener.start();
  return listener;
}

beforeAll(async () => {
  azurite = await startAzurite({ blobPort: 0, queuePort: 0, tablePort: 0 });
});

afterEach(async () => {
  await Promise.all(listeners.splice(0).map((listener) => listener.stop(5_000)));
});

afterAll(async () => {
  await azurite?.stop();
});

describe('QueueListener', () => {
  it('wakes at once when an output binding in the runner writes to its queue', async () => {
    const accounts = new QueueAccounts();
    const watcher = new QueueWatcher();
    const queueName = 'listener-wake';
    const handler = new RecordingHandler(queueName, accounts);
    const queue = accounts.queue(azurite.connectionString, queueName);
    await queue.createIfNotExists();
    let polls = 0;
    const receive = queue.receiveMessages.bind(queue);
    queue.receiveMessages = async (options) => {
      const response = await receive(options);
      polls++;
      return response;
    };
    // A one-minute backoff floor: only a wake-up can get the message processed within the test's deadline.
    startListener({
      queueName,
      accounts,
      watcher,
      handler,
      queue,
      minPollingIntervalInMs: 60_000,
      maxPollingIntervalInMs: 60_000,
    });
    await waitFor('the first, empty poll', () => polls === 1);

    const binding = output.storageQueue({ queueName, connection: 'Storage' });
    const context = new InvocationContext({ options: { extraOutputs: [binding] } });
    context.extraOutputs.set(binding, { woke: true });
    const writer = new QueueOutputWriter(accounts, watcher, 'base64');
    await writer.writeOutputs(
      [{ binding, queue: accounts.queue(azurite.connectionString, queueName), fromReturnValue: false }],
      context,
      undefined,
    );

    await waitFor('the woken listener to process the message', () => handler.texts.length === 1, {
      timeoutInMs: 10_000,
    });
    expect(handler.texts).toEqual(['{"woke":true}']);
  });

  it('keeps polling a queue that does not exist yet, and picks it up once created', async () => {
    const accounts = new QueueAccounts();
    const queueName = 'listener-late-queue';
    const handler = new RecordingHandler(queueName, accounts);
    startListener({ queueName, accounts, watcher: new QueueWatcher(), handler });

    await waitFor('the missing-queue notice', () =>
      logLines.some((l) => l.includes(`Queue '${queueName}' does not exist yet`)),
    );
    const queue = accounts.queue(azurite.connectionString, queueName);
    await queue.create();
    await queue.sendMessage(base64('late'));

    await waitFor('the message to be processed', () => handler.texts.length === 1);
    expect(handler.texts).toEqual(['late']);
    expect(logLines.filter((l) => l.includes(`Queue '${queueName}' does not exist yet`))).toHaveLength(1);
  });

  it('runs at most batchSize + newBatchThreshold invocations at once', async () => {
    const accounts = new QueueAccounts();
    const queueName = 'listener-concurrency';
    const handler = new RecordingHandler(queueName, accounts, 50);
    const queue = accounts.queue(azurite.connectionString, queueName);
    await queue.createIfNotExists();
    for (let i = 0; i < 12; i++) await queue.sendMessage(base64(`m${i}`));

    startListener({ queueName, accounts, watcher: new QueueWatcher(), handler, batchSize: 2, newBatchThreshold: 1 });

    await waitFor('all messages to be processed', () => handler.texts.length === 12);
    expect(handler.maxRunning).toBeLessThanOrEqual(3);
    expect(handler.maxRunning).toBeGreaterThan(1);
    expect(new Set(handler.texts).size).toBe(12);
    await waitFor('the queue to be empty', async () => (await approximateCount(queue)) === 0);
  });

  it('with dynamic concurrency, fetches only what the current concurrency has room for, and none while overloaded', async () => {
    const accounts = new QueueAccounts();
    const queueName = 'listener-dynamic';
    const handler = new RecordingHandler(queueName, accounts, 20);
    const queue = accounts.queue(azurite.connectionString, queueName);
    await queue.createIfNotExists();
    for (let i = 0; i < 6; i++) await queue.sendMessage(base64(`m${i}`));
    let utilization = 0.95;
    // The clock stands still, so concurrency never moves off 1; only the load state changes.
    const manager = new ConcurrencyManager({
      maximumFunctionConcurrency: 500,
      sampler: { utilizationSinceLastSample: () => utilization },
      now: () => 0,
    });
    manager.sample();
    const fetchCounts: number[] = [];
    const receive = queue.receiveMessages.bind(queue);
    queue.receiveMessages = (options) => {
      fetchCounts.push(options?.numberOfMessages ?? 1);
      return receive(options);
    };
    startListener({
      queueName,
      accounts,
      watcher: new QueueWatcher(),
      handler,
      queue,
      concurrency: manager.forFunction('f'),
    });

    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(fetchCounts).toEqual([]);
    utilization = 0.1;
    manager.sample();

    await waitFor('all messages to be processed', () => handler.texts.length === 6);
    expect(handler.maxRunning).toBe(1);
    expect(new Set(fetchCounts)).toEqual(new Set([1]));
    manager.stop();
  });

  it('stop() returns false when an invocation outlasts the timeout', async () => {
    const accounts = new QueueAccounts();
    const queueName = 'listener-stuck';
    const handler = new RecordingHandler(queueName, accounts, 2_000);
    const queue = accounts.queue(azurite.connectionString, queueName);
    await queue.createIfNotExists();
    await queue.sendMessage(base64('stuck'));
    const listener = startListener({ queueName, accounts, watcher: new QueueWatcher(), handler });

    await waitFor('the invocation to start', () => handler.running === 1);
    expect(await listener.stop(100)).toBe(false);
    expect(await listener.stop(5_000)).toBe(true);
  });
});
