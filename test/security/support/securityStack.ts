import { type ChildProcess, spawn } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

import { TableClient } from '@azure/data-tables';
import { QueueServiceClient } from '@azure/storage-queue';

import { ARM_SEED } from '../../../dev/arm/seed';
import { startArmEmulator } from '../../../dev/arm/startArmEmulator';
import { type RunningAzurite, startAzurite } from '../../../dev/azurite';
import { startTestNetworkController, testCa } from '../../support/ncEmulator';

const APP_ROOT = resolve(__dirname, '..', '..', '..');

export interface SecurityStackOptions {
  /** Extra settings for the runner's environment (they win over the defaults below). */
  env?: (nc: { baseUrl: string; caCertPem: string }) => Record<string, string>;
  /** Extra command-line arguments for dev/runner/main.js, e.g. `--function-key`. */
  runnerArgs?: string[];
  /** Headers every `api` call sends unless told otherwise (e.g. the function key). */
  defaultHeaders?: Record<string, string>;
  clientCertificateThumbprints?: string[];
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  text: string;
  body: Record<string, unknown>;
}

/**
 * The product as `test/support/stack.ts` starts it (Azurite, the NC and ARM emulators on loopback, the runner as a
 * child process), plus what these tests need and stack.ts cannot pass: runner arguments, an NC emulator that checks
 * client certificates, and raw access to tables and queues.
 */
export async function startSecurityStack(options: SecurityStackOptions = {}) {
  const azurite: RunningAzurite = await startAzurite({ blobPort: 0, queuePort: 0, tablePort: 0 });
  const nc = await startTestNetworkController({
    provisioningDelayInMs: 100,
    clientCertificateThumbprints: options.clientCertificateThumbprints,
  });
  const arm = await startArmEmulator({
    port: 0,
    tls: testCa().issueServerCertificate(['127.0.0.1']),
    runDurationInMs: 150,
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
    ...options.env?.({ baseUrl: nc.baseUrl, caCertPem: nc.ca.caCertPem }),
  };
  const output: string[] = [];
  let runner: ChildProcess | undefined;
  let apiUrl = '';

  const startRunner = async () => {
    const child = spawn(
      process.execPath,
      [
        join(APP_ROOT, 'dist', 'dev', 'runner', 'main.js'),
        '--app-root',
        APP_ROOT,
        '--port',
        '0',
        ...(options.runnerArgs ?? []),
      ],
      { env, stdio: ['ignore', 'pipe', 'pipe'] },
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

  await startRunner();
  const queues = QueueServiceClient.fromConnectionString(azurite.connectionString);
  const table = (name: string) =>
    TableClient.fromConnectionString(azurite.connectionString, name, { allowInsecureConnection: true });

  const stack = {
    get apiUrl() {
      return apiUrl;
    },
    nc,
    arm,
    azurite,
    output,
    queues,
    /** Whether the runner child is still running (it never exits on bad input). */
    runnerAlive(): boolean {
      return runner !== undefined && runner.exitCode === null && runner.signalCode === null;
    },
    async api(
      method: string,
      path: string,
      body?: unknown,
      headers: Record<string, string> = options.defaultHeaders ?? {},
    ): Promise<ApiResponse> {
      const response = await fetch(`${apiUrl}${path}`, {
        method,
        headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await response.text();
      let parsed: Record<string, unknown> = {};
      try {
        parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
      } catch {
        parsed = {};
      }
      return { status: response.status, headers: response.headers, text, body: parsed };
    },
    /** An HTTP request whose path goes out byte for byte (fetch would normalise `..` and `%2e`). */
    rawRequest(
      method: string,
      rawPath: string,
      body?: string,
      headers: Record<string, string> = options.defaultHeaders ?? {},
    ): Promise<{ status: number; text: string }> {
      const url = new URL(apiUrl);
      return new Promise((resolveResponse, reject) => {
        const req = httpRequest(
          {
            host: url.hostname,
            port: url.port,
            method,
            path: `${url.pathname}${rawPath}`,
            headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () =>
              resolveResponse({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
            );
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    },
    /** Polls until the attachment ends (200), with history. */
    async waitForEnd(tenantId: string, attachmentId: string, timeoutInMs = 40_000) {
      const deadline = Date.now() + timeoutInMs;
      for (;;) {
        const response = await stack.api('GET', `/tenants/${tenantId}/attachments/${attachmentId}?showHistory=true`);
        if (response.status === 200) return response.body;
        if (Date.now() > deadline)
          throw new Error(
            `attachment ${attachmentId}: ${response.status} ${response.text}\n${output.slice(-30).join('\n')}`,
          );
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    /** Puts text on a queue exactly as given (no base64 unless `encode`). */
    async sendToQueue(queueName: string, message: unknown, encode = true) {
      const queue = queues.getQueueClient(queueName);
      await queue.createIfNotExists();
      const text = typeof message === 'string' ? message : JSON.stringify(message);
      await queue.sendMessage(encode ? Buffer.from(text).toString('base64') : text);
    },
    /** Raw message texts on a queue (not decoded). */
    async peekRaw(queueName: string): Promise<string[]> {
      const queue = queues.getQueueClient(queueName);
      if (!(await queue.exists())) return [];
      const peeked = await queue.peekMessages({ numberOfMessages: 32 });
      return peeked.peekedMessageItems.map((m) => m.messageText);
    },
    /** Every entity of a table, as stored (empty when the table does not exist yet). */
    async tableRows(name: string): Promise<Record<string, unknown>[]> {
      const rows: Record<string, unknown>[] = [];
      try {
        for await (const entity of table(name).listEntities<Record<string, unknown>>()) rows.push(entity);
      } catch (error) {
        if ((error as { statusCode?: number }).statusCode === 404) return [];
        throw error;
      }
      return rows;
    },
    /** Waits until `check` passes or the deadline passes; returns the last value. */
    async eventually<T>(read: () => Promise<T>, check: (value: T) => boolean, timeoutInMs = 15_000): Promise<T> {
      const deadline = Date.now() + timeoutInMs;
      let value = await read();
      while (!check(value) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 150));
        value = await read();
      }
      return value;
    },
    async stop() {
      const child = runner;
      if (child && child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      await nc.close();
      await arm.close();
      await azurite.stop();
    },
  };
  return stack;
}

export type SecurityStack = Awaited<ReturnType<typeof startSecurityStack>>;

/** Base64 of a UTF-8 text, as the host's queue trigger expects. */
export function base64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}
