import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import { TableClient } from '@azure/data-tables';
import { QueueClient } from '@azure/storage-queue';
import { afterAll, describe, expect, it } from 'vitest';

import { connectionStringFor, type RunningAzurite, startAzurite } from '../../dev/azurite';

const AZURITE_JS = path.resolve(__dirname, '../../dist/dev/azurite.js');
const started: RunningAzurite[] = [];
const scratch = mkdtempSync(path.join(tmpdir(), 'azurite-test-'));

async function start(options: Parameters<typeof startAzurite>[0]): Promise<RunningAzurite> {
  const azurite = await startAzurite(options);
  started.push(azurite);
  return azurite;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitUntil(description: string, check: () => boolean, timeoutInMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutInMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${description}.`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

afterAll(async () => {
  await Promise.all(started.map((azurite) => azurite.stop()));
  rmSync(scratch, { recursive: true, force: true });
});

describe('startAzurite', () => {
  it('starts in memory on free ports and serves queues and tables through its connection string', async () => {
    const azurite = await start({ blobPort: 0, queuePort: 0, tablePort: 0 });
    const ports = [azurite.blobPort, azurite.queuePort, azurite.tablePort];
    expect(ports.every((port) => port > 0)).toBe(true);
    expect(new Set(ports).size).toBe(3);
    expect(azurite.connectionString).toBe(connectionStringFor(azurite));
    expect(azurite.connectionString).toContain(`QueueEndpoint=http://127.0.0.1:${azurite.queuePort}/devstoreaccount1;`);

    const queue = new QueueClient(azurite.connectionString, 'azurite-smoke');
    await queue.create();
    await queue.sendMessage('hello');
    const [message] = (await queue.receiveMessages()).receivedMessageItems;
    expect(message?.messageText).toBe('hello');

    const table = TableClient.fromConnectionString(azurite.connectionString, 'smoke', {
      allowInsecureConnection: true,
    });
    await table.createTable();
    await table.upsertEntity({ partitionKey: 'p', rowKey: 'r', value: 1 });
    expect((await table.getEntity('p', 'r')).value).toBe(1);
  });

  it('keeps a scratch run on disk in a fresh folder that stop() removes', async () => {
    const azurite = await start({ blobPort: 0, queuePort: 0, tablePort: 0, scratch: true });
    const folder = azurite.location ?? '';
    expect(folder).toMatch(/azurite-/);
    const queue = new QueueClient(azurite.connectionString, 'azurite-scratch');
    await queue.create();
    await queue.sendMessage('kept on disk');
    expect(readdirSync(folder).length).toBeGreaterThan(0);
    expect((await queue.receiveMessages()).receivedMessageItems[0]?.messageText).toBe('kept on disk');

    await azurite.stop();
    expect(existsSync(folder)).toBe(false);
  });

  it('stop() ends the process and can be called again', async () => {
    const azurite = await start({ blobPort: 0, queuePort: 0, tablePort: 0 });
    expect(isAlive(azurite.pid)).toBe(true);
    await azurite.stop();
    expect(isAlive(azurite.pid)).toBe(false);
    await azurite.stop();
  });

  it('keeps data on disk with location', async () => {
    const location = path.join(scratch, 'data');
    const azurite = await start({
      blobPort: 0,
      queuePort: 0,
      tablePort: 0,
      location,
      debugLogPath: path.join(scratch, 'debug.log'),
    });
    await new QueueClient(azurite.connectionString, 'on-disk').create();
    await azurite.stop();
    expect(readdirSync(location).some((file) => file.startsWith('__azurite_db_queue'))).toBe(true);
    expect(existsSync(path.join(scratch, 'debug.log'))).toBe(true);
  });

  it('fails with Azurite’s own error when a port is taken', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as { port: number };
    try {
      await expect(startAzurite({ blobPort: 0, queuePort: port, tablePort: 0 })).rejects.toThrow(
        /Azurite failed to start: exited early[\s\S]*EADDRINUSE/,
      );
    } finally {
      blocker.close();
    }
  });

  it('fails when Azurite does not listen in time', async () => {
    await expect(startAzurite({ blobPort: 0, queuePort: 0, tablePort: 0, startTimeoutInMs: 1 })).rejects.toThrow(
      /not listening after 1 ms/,
    );
  });

  it('kills Azurite when the parent process exits without stopping it', async () => {
    if (!existsSync(AZURITE_JS)) throw new Error(`${AZURITE_JS} is missing: run \`npm run build\` first.`);
    const script = `
      require(${JSON.stringify(AZURITE_JS)})
        .startAzurite({ blobPort: 0, queuePort: 0, tablePort: 0 })
        .then((azurite) => { console.log(azurite.pid); process.exit(0); });
    `;
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], { timeout: 30_000 });
    const pid = Number(stdout.trim());
    expect(pid).toBeGreaterThan(0);
    await waitUntil('the orphaned Azurite to die', () => !isAlive(pid));
  });
});
