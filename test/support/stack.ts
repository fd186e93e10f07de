import { type ChildProcess, spawn } from 'node:child_process';
import { request as httpsRequest } from 'node:https';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

import { QueueServiceClient } from '@azure/storage-queue';

import { ARM_SEED } from '../../dev/arm/seed';
import { startArmEmulator } from '../../dev/arm/startArmEmulator';
import { type RunningAzurite, startAzurite } from '../../dev/azurite';
import { startTestNetworkController, testCa } from './ncEmulator';

const APP_ROOT = resolve(__dirname, '..', '..');

export interface StackOptions {
  /** Extra settings for the app (the runner's environment). */
  env?: Record<string, string>;
  provisioningDelayInMs?: number;
  runDurationInMs?: number;
}

/**
 * The product as `npm start` runs it, on free loopback ports: Azurite and the Network Controller emulator in this
 * process's care, the functions in a runner child process (so a test can stop or kill it by pid).
 */
export async function startStack(options: StackOptions = {}) {
  const azurite: RunningAzurite = await startAzurite({ blobPort: 0, queuePort: 0, tablePort: 0 });
  const nc = await startTestNetworkController({ provisioningDelayInMs: options.provisioningDelayInMs ?? 100 });
  const arm = await startArmEmulator({
    port: 0,
    tls: testCa().issueServerCertificate(['127.0.0.1']),
    runDurationInMs: options.runDurationInMs ?? 150,
  });
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
    ARM_ENDPOINT: arm.origin,
    ARM_CA_PEM: testCa().caCertPem,
    ARM_AUTH_MODE: 'none',
    ARC_DEFAULT_SUBSCRIPTION_ID: ARM_SEED.subscriptionId,
    ARC_DEFAULT_RESOURCE_GROUP: ARM_SEED.resourceGroup,
    RUN_COMMAND_POLL_INTERVAL_MS: '200',
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
    arm,
    azurite,
    async armAdmin(method: string, path: string, body?: unknown): Promise<unknown> {
      const response = await fetchJson(`${arm.origin}${path}`, method, body);
      return response;
    },
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
      await arm.close();
      await azurite.stop();
    },
  };
}

export type Stack = Awaited<ReturnType<typeof startStack>>;

/** A JSON request to an emulator over HTTPS with the test CA. */
function fetchJson(url: string, method: string, body?: unknown): Promise<unknown> {
  return new Promise((resolveBody, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = httpsRequest(
      url,
      { method, ca: testCa().caCertPem, headers: data ? { 'content-type': 'application/json' } : {} },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolveBody(text ? (JSON.parse(text) as unknown) : undefined);
        });
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}
