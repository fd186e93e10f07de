import { QueueClient } from '@azure/storage-queue';
import { describe, expect, it } from 'vitest';

import { QueueSender } from '../../../shared/functionsHost/QueueSender';
import { useAzurite } from '../../support/azurite';

const azurite = useAzurite();
let queueNumber = 0;

function fresh() {
  queueNumber += 1;
  const name = `sender-${Date.now() % 100_000}-${queueNumber}`;
  return {
    name,
    sender: new QueueSender(azurite.connectionString()),
    queue: new QueueClient(azurite.connectionString(), name),
  };
}

describe('QueueSender', () => {
  it('sends base64 JSON, delayed in whole seconds rounded up, and deletes it again while nobody has received it', async () => {
    const { name, sender, queue } = fresh();
    const receipt = await sender.send(name, { step: 'x' }, { visibilityDelayInMs: 1 });
    // Invisible for the delay (1 ms asks for a whole second).
    expect((await queue.receiveMessages()).receivedMessageItems).toHaveLength(0);
    expect((await queue.getProperties()).approximateMessagesCount).toBe(1);

    expect(await sender.delete(name, receipt)).toBe(true);
    expect((await queue.getProperties()).approximateMessagesCount).toBe(0);
    expect(await sender.delete(name, receipt)).toBe(false);
  });

  it('leaves a message that was received meanwhile to its receiver', async () => {
    const { name, sender, queue } = fresh();
    const receipt = await sender.send(name, { step: 'y' });
    const [received] = (await queue.receiveMessages({ visibilityTimeout: 30 })).receivedMessageItems;
    expect(JSON.parse(Buffer.from(received!.messageText, 'base64').toString('utf8'))).toEqual({ step: 'y' });

    expect(await sender.delete(name, receipt)).toBe(false);
    expect((await queue.getProperties()).approximateMessagesCount).toBe(1);
    await queue.deleteMessage(received!.messageId, received!.popReceipt);
  });
});
