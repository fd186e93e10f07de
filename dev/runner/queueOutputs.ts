import type { FunctionOutput, InvocationContext } from '@azure/functions';
import type { QueueClient } from '@azure/storage-queue';

import { encodeMessageBody, type MessageEncoding, queueMessageBodies } from './messageEncoding';
import { type QueueAccounts, queueKey, statusCodeOf } from './queueStorage';
import type { QueueWatcher } from './queueWatcher';

/** A storage queue output binding of one function, with its queue resolved at start. */
export interface QueueOutputTarget {
  binding: FunctionOutput;
  queue: QueueClient;
  /** Declared as the function's `return` binding, so the handler's return value is the message. */
  fromReturnValue: boolean;
}

/** Writes messages the way the host's queue output binding does, and wakes this runner's listener of that queue. */
export class QueueOutputWriter {
  readonly #accounts: QueueAccounts;
  readonly #watcher: QueueWatcher;
  readonly #encoding: MessageEncoding;

  constructor(accounts: QueueAccounts, watcher: QueueWatcher, encoding: MessageEncoding) {
    this.#accounts = accounts;
    this.#watcher = watcher;
    this.#encoding = encoding;
  }

  /** Called only after the handler succeeded: a failed invocation writes no outputs. */
  async writeOutputs(
    targets: readonly QueueOutputTarget[],
    context: InvocationContext,
    result: unknown,
  ): Promise<void> {
    for (const target of targets) {
      const value = target.fromReturnValue ? result : context.extraOutputs.get(target.binding);
      const bodies = queueMessageBodies(value);
      if (bodies.length === 0) continue;
      // Sequential, so a step that fans out produces its messages in array order.
      for (const body of bodies) await this.#send(target.queue, encodeMessageBody(body, this.#encoding));
      this.#watcher.notify(queueKey(target.queue));
    }
  }

  /** Poison moves copy the stored text unchanged (still encoded), so a poison-queue trigger decodes it the same way. */
  async addRawMessage(queue: QueueClient, messageText: string): Promise<void> {
    await this.#send(queue, messageText);
    this.#watcher.notify(queueKey(queue));
  }

  async #send(queue: QueueClient, messageText: string): Promise<void> {
    await this.#accounts.ensureExists(queue);
    try {
      await queue.sendMessage(messageText);
    } catch (error) {
      // Deleted since we created it (tests that reset state do this): create it again, once.
      if (statusCodeOf(error) !== 404) throw error;
      this.#accounts.forget(queue);
      await this.#accounts.ensureExists(queue);
      await queue.sendMessage(messageText);
    }
  }
}
