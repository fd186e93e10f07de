import type { QueueServiceClient } from '@azure/storage-queue';

import type { SentMessageReceipt } from '../model/messages';
import { queueServiceClientFor, type StorageClientOptions, type StorageConnection } from '../state/storageConnection';

/**
 * Sends messages the way the Functions host's output binding would (base64 text, queue created on first use),
 * for the two cases a binding cannot cover: a delayed message and a message to a poison queue.
 */
export class QueueSender {
  private readonly service: QueueServiceClient;
  private readonly created = new Map<string, Promise<unknown>>();

  /** A connection string, or the app's storage connection (identity-based ones included). */
  constructor(connection: string | StorageConnection, options: StorageClientOptions = {}) {
    this.service = queueServiceClientFor(
      typeof connection === 'string' ? { mode: 'connectionString', connectionString: connection } : connection,
      options,
    );
  }

  async send(
    queueName: string,
    message: unknown,
    options: { visibilityDelayInMs?: number } = {},
  ): Promise<SentMessageReceipt> {
    const queue = this.service.getQueueClient(queueName);
    let creating = this.created.get(queueName);
    if (!creating) {
      creating = queue.createIfNotExists();
      this.created.set(queueName, creating);
      creating.catch(() => this.created.delete(queueName));
    }
    await creating;
    const text = typeof message === 'string' ? message : JSON.stringify(message);
    // Queue visibility is in whole seconds; round up so a delay is never shorter than asked.
    const visibilityTimeout = options.visibilityDelayInMs ? Math.ceil(options.visibilityDelayInMs / 1000) : undefined;
    const sent = await queue.sendMessage(Buffer.from(text, 'utf8').toString('base64'), { visibilityTimeout });
    return { messageId: sent.messageId, popReceipt: sent.popReceipt };
  }

  /**
   * Deletes a message sent earlier and not yet received. Returns false when it is no longer there as sent: gone,
   * or received meanwhile (the receiver deletes it when done).
   */
  async delete(queueName: string, receipt: SentMessageReceipt): Promise<boolean> {
    try {
      await this.service.getQueueClient(queueName).deleteMessage(receipt.messageId, receipt.popReceipt);
      return true;
    } catch (error) {
      const status = (error as { statusCode?: number }).statusCode;
      if (status === 404 || status === 400) return false;
      throw error;
    }
  }
}
