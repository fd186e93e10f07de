import { performance } from 'node:perf_hooks';

import type { DequeuedMessageItem, QueueClient } from '@azure/storage-queue';

import { RandomizedExponentialBackoff } from './backoff';
import type { FunctionConcurrency } from './dynamicConcurrency';
import { MAX_BATCH_SIZE, type QueueSettings } from './hostConfig';
import { describeError, type LineWriter } from './invocationLog';
import { errorCodeOf, queueKey, statusCodeOf } from './queueStorage';
import type { QueueWatcher } from './queueWatcher';
import { finishesWithin, TaskSet } from './taskSet';

/** The host leases each received message for 10 minutes and renews the lease at half-time while the function runs. */
export const MESSAGE_LEASE_IN_SECONDS = 600;
const LEASE_RENEWAL_IN_MS = (MESSAGE_LEASE_IN_SECONDS * 1000) / 2;
const MIN_POLLING_INTERVAL_IN_MS = 100;

/** What happens to a message once its invocation (if any) is over. */
export type MessageDisposition = 'delete' | 'release' | 'poison' | 'keepInvisible';

export interface QueueMessageHandler {
  /** Decodes, checks the dequeue count and invokes the function; decides the disposition. Must not reject. */
  execute(message: DequeuedMessageItem): Promise<MessageDisposition>;
  /** Applies the disposition with the message's current pop receipt (renewals change it). */
  complete(message: DequeuedMessageItem, popReceipt: string, disposition: MessageDisposition): Promise<void>;
}

export interface QueueListenerOptions {
  functionName: string;
  queue: QueueClient;
  settings: Pick<QueueSettings, 'batchSize' | 'newBatchThreshold' | 'maxPollingIntervalInMs'>;
  watcher: QueueWatcher;
  handler: QueueMessageHandler;
  write: LineWriter;
  /**
   * With host.json `concurrency.dynamicConcurrencyEnabled`, like the host: fetch only as many messages as the
   * function's current concurrency has room for (at most 32), and ignore batchSize and newBatchThreshold.
   */
  concurrency?: FunctionConcurrency;
  /** The backoff floor; the host's is 100 ms. Tests raise it to make wake-ups observable. */
  minPollingIntervalInMs?: number;
}

/** One function's poll loop, following the host's QueueListener. */
export class QueueListener {
  readonly #options: QueueListenerOptions;
  readonly #backoff: RandomizedExponentialBackoff;
  readonly #inFlight = new TaskSet();
  #loop: Promise<void> | undefined;
  #stopped = false;
  #notified = false;
  #foundSinceLastDelay = false;
  #wake: (() => void) | undefined;
  #unregister: (() => void) | undefined;
  #lastPollProblem: string | undefined;

  constructor(options: QueueListenerOptions) {
    this.#options = options;
    const minimumInMs = options.minPollingIntervalInMs ?? MIN_POLLING_INTERVAL_IN_MS;
    this.#backoff = new RandomizedExponentialBackoff({
      minimumInMs,
      maximumInMs: Math.max(minimumInMs, options.settings.maxPollingIntervalInMs),
    });
  }

  get inFlightCount(): number {
    return this.#inFlight.size;
  }

  start(): void {
    if (this.#loop) return;
    this.#unregister = this.#options.watcher.register(queueKey(this.#options.queue), () => this.notify());
    this.#loop = this.#run();
  }

  /** A message was added to this queue from inside the runner: stop waiting and poll now. */
  notify(): void {
    this.#notified = true;
    this.#wake?.();
  }

  /** Stops polling, then waits for running invocations. Resolves false if they outlast the timeout. */
  async stop(timeoutInMs: number): Promise<boolean> {
    this.#stopped = true;
    this.#unregister?.();
    this.#wake?.();
    const deadline = Date.now() + timeoutInMs;
    // The loop may be waiting for in-flight work to drop below newBatchThreshold, so it can take as long as they do.
    const loopEnded = await finishesWithin(this.#loop ?? Promise.resolve(), timeoutInMs);
    return (await this.#inFlight.drain(deadline - Date.now())) && loopEnded;
  }

  async #run(): Promise<void> {
    const { queue, settings, concurrency } = this.#options;
    while (!this.#stopped) {
      let fetchCount = settings.batchSize;
      if (concurrency) {
        fetchCount = Math.min(MAX_BATCH_SIZE, concurrency.availableInvocationCount());
        if (fetchCount === 0) {
          // Look again when one of ours finishes or the load is sampled again, whichever comes first.
          // stop() wakes this wait too.
          const room = [concurrency.nextSample(), new Promise<void>((resolve) => (this.#wake = resolve))];
          if (this.#inFlight.size > 0) room.push(this.#inFlight.nextCompletion());
          await Promise.race(room);
          this.#wake = undefined;
          continue;
        }
      }
      // Like the host, a notification that arrives while we poll cancels the next wait.
      this.#notified = false;
      let batch: DequeuedMessageItem[];
      try {
        const response = await queue.receiveMessages({
          numberOfMessages: fetchCount,
          visibilityTimeout: MESSAGE_LEASE_IN_SECONDS,
        });
        batch = response.receivedMessageItems;
        this.#lastPollProblem = undefined;
      } catch (error) {
        this.#reportPollProblem(error);
        await this.#waitBeforeNextPoll();
        continue;
      }
      if (this.#stopped) {
        await Promise.all(batch.map((message) => this.#release(message)));
        break;
      }
      if (batch.length === 0) {
        await this.#waitBeforeNextPoll();
        continue;
      }
      for (const message of batch) this.#inFlight.add(this.#dispatch(message));
      this.#foundSinceLastDelay = true;
      // At most batchSize + newBatchThreshold run at once: fetch more only when few enough are left.
      if (!concurrency) await this.#inFlight.waitUntilAtMost(settings.newBatchThreshold);
    }
  }

  async #waitBeforeNextPoll(): Promise<void> {
    const delayInMs = this.#backoff.nextDelayInMs(this.#foundSinceLastDelay);
    this.#foundSinceLastDelay = false;
    if (this.#notified || this.#stopped) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, delayInMs);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = done;
    });
    this.#wake = undefined;
  }

  #reportPollProblem(error: unknown): void {
    const { queue, functionName, write } = this.#options;
    const status = statusCodeOf(error);
    // Service errors carry a request id in their message, so compare by status and code to log each problem once.
    const key =
      status !== undefined ? `${status}|${errorCodeOf(error)}` : error instanceof Error ? error.message : String(error);
    if (key === this.#lastPollProblem) return;
    this.#lastPollProblem = key;
    // The host checks that the queue exists and backs off without creating it; a 404 here is that case.
    write(
      status === 404
        ? `Queue '${queue.name}' does not exist yet; '${functionName}' keeps polling for it.`
        : `Polling queue '${queue.name}' for '${functionName}' failed (retrying with backoff): ${describeError(error)}`,
    );
  }

  async #dispatch(message: DequeuedMessageItem): Promise<void> {
    let popReceipt = message.popReceipt;
    let renewal: Promise<void> = Promise.resolve();
    const renew = (): void => {
      renewal = this.#options.queue
        .updateMessage(message.messageId, popReceipt, undefined, MESSAGE_LEASE_IN_SECONDS)
        .then((response) => {
          if (response.popReceipt) popReceipt = response.popReceipt;
        })
        .catch((error: unknown) =>
          this.#options.write(`Renewing the lease of message ${message.messageId} failed: ${describeError(error)}`),
        );
    };
    const timer = setInterval(renew, LEASE_RENEWAL_IN_MS).unref();
    const startedAtInMs = performance.now();
    this.#options.concurrency?.invocationStarted();
    try {
      let disposition: MessageDisposition;
      try {
        disposition = await this.#options.handler.execute(message);
      } finally {
        this.#options.concurrency?.invocationCompleted(performance.now() - startedAtInMs);
        // No renewal may race the completion: it would invalidate the receipt we complete with.
        clearInterval(timer);
        await renewal;
      }
      await this.#options.handler.complete(message, popReceipt, disposition);
    } catch (error) {
      this.#options.write(
        `Processing message ${message.messageId} of '${this.#options.functionName}' failed: ${describeError(error)}`,
      );
    }
  }

  async #release(message: DequeuedMessageItem): Promise<void> {
    try {
      await this.#options.queue.updateMessage(message.messageId, message.popReceipt, undefined, 0);
    } catch {
      // It becomes visible when the lease ends anyway.
    }
  }
}
