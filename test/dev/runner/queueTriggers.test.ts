import { QueueClient } from '@azure/storage-queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type RunningAzurite, startAzurite } from '../../../dev/azurite';
import { type RunningLocalRunner, startLocalRunner } from '../../../dev/runner';
import {
  approximateCount,
  assertBuilt,
  base64,
  FIXTURE_ROOT,
  fromBase64,
  loadProbe,
  peekAll,
  REGISTRY_MODULE_PATH,
  waitFor,
} from './helpers';

const probe = loadProbe();
const logLines: string[] = [];
let azurite: RunningAzurite;
let runner: RunningLocalRunner;

function queue(name: string): QueueClient {
  return new QueueClient(azurite.connectionString, name);
}

async function send(name: string, text: string): Promise<void> {
  const client = queue(name);
  await client.createIfNotExists();
  await client.sendMessage(text);
}

/** Makes the next receive see dequeueCount = count + 1, the way crashed invocations would leave it. */
async function dequeueWithoutProcessing(client: QueueClient, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const [message] = (await client.receiveMessages({ visibilityTimeout: 30 })).receivedMessageItems;
    if (!message) throw new Error('expected a message to dequeue');
    await client.updateMessage(message.messageId, message.popReceipt, undefined, 0);
  }
}

beforeAll(async () => {
  assertBuilt();
  azurite = await startAzurite({ blobPort: 0, queuePort: 0, tablePort: 0 });
  process.env.AzureWebJobsStorage = azurite.connectionString;

  // Prepared before the runner polls: a message already dequeued maxDequeueCount (3) times.
  const overdue = queue('runner-overdue');
  await overdue.createIfNotExists();
  await overdue.sendMessage(base64('{"late":true}'));
  await dequeueWithoutProcessing(overdue, 3);

  runner = await startLocalRunner({
    appRoot: FIXTURE_ROOT,
    httpPort: 0,
    registryModulePath: REGISTRY_MODULE_PATH,
    log: (line) => logLines.push(line),
  });
});

afterAll(async () => {
  await runner?.stop();
  await azurite?.stop();
});

describe('queue triggers', () => {
  it('serves every registration of the fixture', () => {
    expect(runner.functionNames).toEqual(expect.arrayContaining(['chainStep1', 'chainStep2', 'getAttachment']));
  });

  it('chains step 1 to step 2 through an output binding, decoding and parsing the message', async () => {
    await send('runner-chain-1', base64(JSON.stringify({ runId: 'chain-1', Nested: { Key: 1 } })));

    const step2 = await waitFor('step 2 to run', () =>
      probe.eventsOf('chainStep2').find((e) => (e.input as { runId?: string }).runId === 'chain-1'),
    );
    const step1 = probe.eventsOf('chainStep1').find((e) => (e.input as { runId?: string }).runId === 'chain-1');

    expect(step1?.input).toEqual({ runId: 'chain-1', Nested: { Key: 1 } });
    expect(step1?.metadata).toMatchObject({
      dequeueCount: 1,
      id: expect.any(String) as unknown,
      popReceipt: expect.any(String) as unknown,
      insertionTime: expect.stringMatching(/Z$/) as unknown,
      expirationTime: expect.stringMatching(/Z$/) as unknown,
      nextVisibleTime: expect.stringMatching(/Z$/) as unknown,
      // Like the library: the metadata copy is parsed and its keys camel-cased.
      queueTrigger: { runId: 'chain-1', nested: { key: 1 } },
    });
    expect(step2.input).toEqual({ runId: 'chain-1', Nested: { Key: 1 }, step1InvocationId: step1?.invocationId });
    expect(step2.metadata?.dequeueCount).toBe(1);
    expect(logLines.some((line) => line.includes('chainStep1: forwarding to step 2'))).toBe(true);
    expect(
      logLines.some((line) => /Executed 'chainStep1' \(Succeeded, Id=[0-9a-f-]{36}, Duration=\d+ms\)/.test(line)),
    ).toBe(true);

    // Both trigger messages are deleted after success.
    await waitFor(
      'both queues to drain',
      async () =>
        (await approximateCount(queue('runner-chain-1'))) + (await approximateCount(queue('runner-chain-2'))) === 0,
    );
  });

  it('writes one message per array element, base64-encoded', async () => {
    await send('runner-fanout', base64(JSON.stringify({ items: ['plain text', { b: 1 }, 3] })));

    const messages = await waitFor('three fan-out messages', async () => {
      const peeked = await peekAll(queue('runner-fanout-items'));
      return peeked.length === 3 && peeked;
    });
    expect(messages.map((m) => fromBase64(m.messageText))).toEqual(['plain text', '{"b":1}', '3']);
  });

  it('creates an output queue again when it was deleted while the runner ran', async () => {
    const items = queue('runner-fanout-items');
    await waitFor('the earlier fan-out queue to exist', () => items.exists());
    await items.delete();

    await send('runner-fanout', base64(JSON.stringify({ items: ['again'] })));

    const [message] = await waitFor('the message in the re-created queue', async () => {
      const peeked = await peekAll(items);
      return peeked.length > 0 && peeked;
    });
    expect(fromBase64(message?.messageText ?? '')).toBe('again');
  });

  it('writes the return value to a queue declared as the return binding; plain text stays a string', async () => {
    await send('runner-return', base64('hello'));

    const [message] = await waitFor('the returned message', async () => {
      const peeked = await peekAll(queue('runner-return-out'));
      return peeked.length > 0 && peeked;
    });
    expect(fromBase64(message?.messageText ?? '')).toBe('{"echoed":"hello"}');
  });

  it('retries a failing function maxDequeueCount times, then moves the message unchanged to <queue>-poison', async () => {
    const raw = base64(JSON.stringify({ n: 1 }));
    await send('runner-fail', raw);

    const [poisoned] = await waitFor('the poison message', async () => {
      const peeked = await peekAll(queue('runner-fail-poison'));
      return peeked.length > 0 && peeked;
    });
    expect(poisoned?.messageText).toBe(raw);
    expect(probe.eventsOf('alwaysFails').map((e) => e.metadata?.dequeueCount)).toEqual([1, 2, 3]);
    await waitFor('the original to be deleted', async () => (await approximateCount(queue('runner-fail'))) === 0);
    // The handler set an output before throwing; nothing may have been written (the queue was never even created).
    expect(await queue('runner-fail-out').exists()).toBe(false);
    expect(
      logLines.some((line) => /alwaysFails \[error\] \(Id=[0-9a-f-]{36}\): Error: alwaysFails failed/.test(line)),
    ).toBe(true);
  });

  it('retries after a failure and writes only the successful attempt’s outputs', async () => {
    await send('runner-retry', base64('{"id":"retry-1"}'));

    const [output] = await waitFor('the successful attempt’s output', async () => {
      const peeked = await peekAll(queue('runner-retry-out'));
      return peeked.length > 0 && peeked;
    });
    expect(fromBase64(output?.messageText ?? '')).toBe('{"attempt":2}');
    expect(probe.eventsOf('failsOnce').map((e) => e.metadata?.dequeueCount)).toEqual([1, 2]);
    await waitFor(
      'the trigger message to be deleted',
      async () => (await approximateCount(queue('runner-retry'))) === 0,
    );
    expect(await peekAll(queue('runner-retry-out'))).toHaveLength(1);
  });

  it('moves a message that is not base64 straight to poison without invoking the function', async () => {
    const raw = '{"sent":"without base64"}';
    await send('runner-raw', raw);

    const [poisoned] = await waitFor('the undecodable message in poison', async () => {
      const peeked = await peekAll(queue('runner-raw-poison'));
      return peeked.length > 0 && peeked;
    });
    expect(poisoned?.messageText).toBe(raw);
    expect(probe.eventsOf('rawConsumer')).toHaveLength(0);
    expect(logLines.some((line) => line.includes('Message decoding has failed! Check MessageEncoding settings.'))).toBe(
      true,
    );
  });

  it('poisons a message whose dequeueCount already exceeds maxDequeueCount without invoking', async () => {
    const [poisoned] = await waitFor('the overdue message in poison', async () => {
      const peeked = await peekAll(queue('runner-overdue-poison'));
      return peeked.length > 0 && peeked;
    });
    expect(fromBase64(poisoned?.messageText ?? '')).toBe('{"late":true}');
    expect(probe.eventsOf('overdueConsumer')).toHaveLength(0);
  });

  it('leaves a failed message invisible when its queue can have no poison queue', async () => {
    const name = 'runner-no-poison-because-this-queue-name-is-far-too-long-x';
    await send(name, base64('{"doomed":true}'));

    await waitFor('the failure to be handled', () =>
      logLines.some((line) => line.includes(`Queue '${name}' has no poison queue`)),
    );
    expect(probe.eventsOf('noPoisonQueue')).toHaveLength(1);
    // Still stored, but leased: not visible, so not retried until the 10-minute lease ends.
    expect(await approximateCount(queue(name))).toBe(1);
    expect(await peekAll(queue(name))).toHaveLength(0);
  });

  // Last: it stops the shared runner.
  it('stop() stops polling and waits for running invocations', async () => {
    await send('runner-slow', base64(JSON.stringify({ delayInMs: 1_000 })));
    await waitFor('the slow invocation to start', () => probe.eventsOf('slowStep').some((e) => e.phase === 'started'));

    await runner.stop();

    expect(probe.eventsOf('slowStep').map((e) => e.phase)).toEqual(['started', 'finished']);
    expect(await approximateCount(queue('runner-slow'))).toBe(0);
    await expect(fetch(`${runner.httpUrl}/ping`)).rejects.toThrow();
  });
});
