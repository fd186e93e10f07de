import { type ChildProcess, spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

import { QueueServiceClient } from '@azure/storage-queue';

import { type RunningAzurite, startAzurite } from '../../dev/azurite';
import { startTestNetworkController } from './ncEmulator';

const APP_ROOT = resolve(__dirname, '..', '..');

export interface StackOptions {
  /** Extra settings for the app (the runner's environment). */
  env?: Record<string, string>;
  provisioningDelayInMs?: number;
}

/**
 * The product as `npm start` runs it, on free loopback ports: Azurite and the Network Controller emulator in this
 * process's care, the functions in a runner child process (so a test can stop or kill it by pid).
 */
export async function startStack(options: StackOptions = {}) {
  const azurite: RunningAzurite = await startAzurite({ blobPort: 0, queuePort: 0, tablePort: 0 });
  const nc = await startTestNetworkController({ provisioningDelayInMs: options.provisioningDelayInMs ?? 100 });
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    APP_ENVIRONMENT: 'Development',
    FUNCTIONS_WORKER_RUNTIME: 'node',
    AzureWebJobsStorage: azurite.connectionString,
    NC_DEFAULT_URL: nc.baseUrl,
    NC_DEFAULT_CA_PEM: nc.ca.caCertPem,
    NETWORK_CONTROLLER_POLL_INTERVAL_MS: '100',
    NETWORK_CONTROLLER_RETRY_DELAY_MS: '50',
    STEP_INLINE_WAIT_MS: '2000',
    ...options.env,
  };
  const output: string[] = [];
  let runner: ChildProcess | undefined;
  let apiUrl = '';

  const startRunner = async () => {
    const child = spawn(
      process.execPath,
      [join(APP_ROOT, 'dist', 'dev', 'runner', 'main.js'), '--app-root', APP_ROOT, '--port', '0'],
      {
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    runner = child;
    createInterface({ input: child.stderr }).on('line', (line) => output.push(`[stderr] ${line}`));
    apiUrl = await new Promise<string>((resolveUrl, reject) => {
      child.once('exit', (code) => reject(new Error(`runner exited (${code ?? 'signal'}):\n${output.join('\n')}`)));
      createInterface({ input: child.stdout }).on('line', (line) => {
        output.push(line);
        const ready = /^Runner ready: (\S+)/.exec(line);
        if (ready?.[1]) resolveUrl(ready[1]);
      });
    });
  };

  const stopRunner = async (signal: NodeJS.Signals = 'SIGTERM') => {
    const child = runner;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    await exited;
  };

  await startRunner();
  const queues = QueueServiceClient.fromConnectionString(azurite.connectionString);

  return {
    get apiUrl() {
      return apiUrl;
    },
    nc,
    azurite,
    queues,
    output,
    startRunner,
    stopRunner,
    async api(method: string, path: string, body?: unknown) {
      const response = await fetch(`${apiUrl}${path}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await response.text();
      return {
        status: response.status,
        headers: response.headers,
        body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
      };
    },
    /** Polls the status URL until the attachment ends (200) or the deadline passes. */
    async waitForEnd(tenantId: string, attachmentId: string, timeoutInMs = 30_000) {
      const deadline = Date.now() + timeoutInMs;
      for (;;) {
        const response = await this.api('GET', `/tenants/${tenantId}/attachments/${attachmentId}?showHistory=true`);
        if (response.status === 200) return response.body;
        if (Date.now() > deadline)
          throw new Error(
            `attachment still ${JSON.stringify(response.body.runtimeStatus)}:\n${output.slice(-30).join('\n')}`,
          );
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async sendToQueue(queueName: string, message: unknown, encode = true) {
      const queue = queues.getQueueClient(queueName);
      await queue.createIfNotExists();
      const text = typeof message === 'string' ? message : JSON.stringify(message);
      await queue.sendMessage(encode ? Buffer.from(text).toString('base64') : text);
    },
    async peekQueue(queueName: string): Promise<string[]> {
      const queue = queues.getQueueClient(queueName);
      if (!(await queue.exists())) return [];
      const peeked = await queue.peekMessages({ numberOfMessages: 32 });
      return peeked.peekedMessageItems.map((m) => Buffer.from(m.messageText, 'base64').toString('utf8'));
    },
    async stop() {
      await stopRunner();
      await nc.close();
      await azurite.stop();
    },
  };
}

export type Stack = Awaited<ReturnType<typeof startStack>>;
