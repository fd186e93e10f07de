import type { FunctionOutput, FunctionTrigger, InvocationContext } from '@azure/functions';
import type { DequeuedMessageItem, QueueClient } from '@azure/storage-queue';

import type { QueueSettings } from './hostConfig';
import { hostTraceContext } from './hostTraceContext';
import { describeError, type LineWriter } from './invocationLog';
import { invokeFunction } from './invoke';
import { decodeMessageText, parseLikeLibrary } from './messageEncoding';
import type { MessageDisposition, QueueMessageHandler } from './queueListener';
import type { QueueOutputTarget, QueueOutputWriter } from './queueOutputs';
import { errorCodeOf, statusCodeOf } from './queueStorage';

/** A queue-triggered function with everything resolved at start. */
export interface QueueFunction {
  functionName: string;
  queue: QueueClient;
  /** Undefined for queues the host gives no poison queue (already `-poison`, or the name would exceed 63 chars). */
  poisonQueue: QueueClient | undefined;
  handler: (queueEntry: unknown, context: InvocationContext) => unknown;
  trigger: FunctionTrigger;
  returnBinding: FunctionOutput | undefined;
  extraOutputs: FunctionOutput[];
  outputTargets: QueueOutputTarget[];
}

export interface QueueMessageHandlerDeps {
  settings: QueueSettings;
  outputs: QueueOutputWriter;
  write: LineWriter;
}

// The library camel-cases trigger metadata keys, recursively (src/converters/toCamelCase.ts).
function toCamelCaseValue(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(toCamelCaseValue);
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [key.charAt(0).toLowerCase() + key.slice(1), toCamelCaseValue(item)]),
  );
}

function triggerMetadataOf(message: DequeuedMessageItem, payload: unknown): Record<string, unknown> {
  return {
    dequeueCount: message.dequeueCount,
    expirationTime: message.expiresOn.toISOString(),
    id: message.messageId,
    insertionTime: message.insertedOn.toISOString(),
    nextVisibleTime: message.nextVisibleOn.toISOString(),
    popReceipt: message.popReceipt,
    queueTrigger: toCamelCaseValue(payload),
  };
}

// Someone else owns the message now, or it (or its queue) is gone: nothing left to do, as in the host.
function isIgnorableCompletionError(error: unknown): boolean {
  const status = statusCodeOf(error);
  return (status === 400 && errorCodeOf(error) === 'PopReceiptMismatch') || status === 404 || status === 409;
}

export function createQueueMessageHandler(fn: QueueFunction, deps: QueueMessageHandlerDeps): QueueMessageHandler {
  const { settings, outputs, write } = deps;

  async function execute(message: DequeuedMessageItem): Promise<MessageDisposition> {
    const text = decodeMessageText(message.messageText, settings.messageEncoding);
    if (text === undefined) {
      write(
        `Message decoding has failed! Check MessageEncoding settings. ` +
          `(function '${fn.functionName}', queue '${fn.queue.name}', message ${message.messageId})`,
      );
      return 'poison';
    }
    // Checked before invoking too: a message can come back after its invocation died mid-way (e.g. a runner crash).
    if (message.dequeueCount > settings.maxDequeueCount) {
      write(
        `Message ${message.messageId} has a DequeueCount of ${message.dequeueCount}, over MaxDequeueCount ${settings.maxDequeueCount}.`,
      );
      return 'poison';
    }

    const payload = parseLikeLibrary(text);
    const outcome = await invokeFunction({
      functionName: fn.functionName,
      handler: fn.handler,
      input: payload,
      trigger: fn.trigger,
      returnBinding: fn.returnBinding,
      extraOutputs: fn.extraOutputs,
      triggerMetadata: triggerMetadataOf(message, payload),
      traceContext: hostTraceContext(),
      reason: `New queue message detected on '${fn.queue.name}'.`,
      details: `MessageId=${message.messageId}, DequeueCount=${message.dequeueCount}`,
      write,
      completeOutputs: (context, result) => outputs.writeOutputs(fn.outputTargets, context, result),
    });
    if (outcome.succeeded) return 'delete';
    if (message.dequeueCount < settings.maxDequeueCount) return 'release';
    write(`Message ${message.messageId} has reached MaxDequeueCount of ${settings.maxDequeueCount}.`);
    return 'poison';
  }

  async function complete(
    message: DequeuedMessageItem,
    popReceipt: string,
    disposition: MessageDisposition,
  ): Promise<void> {
    try {
      if (disposition !== 'delete' && !fn.poisonQueue) {
        // Releasing would retry in a tight loop forever; the host leaves the message leased instead.
        write(
          `Queue '${fn.queue.name}' has no poison queue; message ${message.messageId} stays invisible until its ` +
            `lease ends.`,
        );
      } else if (disposition === 'delete') {
        await fn.queue.deleteMessage(message.messageId, popReceipt);
      } else if (disposition === 'release') {
        const seconds = Math.ceil(settings.visibilityTimeoutInMs / 1000);
        await fn.queue.updateMessage(message.messageId, popReceipt, undefined, seconds);
      } else if (fn.poisonQueue) {
        write(`Moving message ${message.messageId} to queue '${fn.poisonQueue.name}'.`);
        await outputs.addRawMessage(fn.poisonQueue, message.messageText);
        await fn.queue.deleteMessage(message.messageId, popReceipt);
      }
    } catch (error) {
      if (!isIgnorableCompletionError(error)) {
        write(
          `Completing message ${message.messageId} of '${fn.functionName}' (${disposition}) failed: ${describeError(error)}`,
        );
      }
    }
  }

  return { execute, complete };
}
