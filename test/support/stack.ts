import { request as httpRequest } from 'node:http';

import { TableClient } from '@azure/data-tables';
import { QueueServiceClient } from '@azure/storage-queue';

import { startArmEmulator } from '../../dev/arm/startArmEmulator';
import { type RunningAzurite, startAzurite } from '../../dev/azurite';
import { startKeyVaultEmulator } from '../../dev/keyVault/startKeyVaultEmulator';
import { labRegistry } from './labRegistry';
import { emulatorRequest, startTestNetworkController } from './ncEmulator';
import { callApi, runnerEnvironment, type RunnerProcess, startRunnerProcess } from './runnerProcess';
import { testCa } from './tls';

/** Where the Network Controller emulator listens; known only once it runs. */
export interface NcAddress {
  baseUrl: string;
  caCertPem: string;
}

export interface StackOptions {
  /**
   * Extra settings for the runner's environment (they win over the defaults); a function when they must name the NC
   * emulator, e.g. a second controller at the same address.
   */
  env?: Record<string, string> | ((nc: NcAddress) => Record<string, string>);
  /** Extra command-line arguments for dev/runner/main.js, e.g. `--function-key`. */
  runnerArgs?: string[];
  /** Headers every `api` and `rawRequest` call sends unless told otherwise (e.g. the function key). */
  defaultHeaders?: Record<string, string>;
  /** Makes the NC emulator refuse clients that do not present one of these certificates. */
  clientCertificateThumbprints?: string[];
  provisioningDelayInMs?: number;
  runDurationInMs?: number;
  /** How long `waitForEnd` waits unless told otherwise. */
  waitForEndTimeoutInMs?: number;
  /**
   * Registers each tenant a submit or entry-queue message names, for what it names (see labRegistry). Default on;
   * tests of the tenant boundary turn it off and register tenants through the admin API.
   */
  labTenants?: boolean;
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  text: string;
  /** The JSON body; `{}` when the body is empty or not JSON. */
  body: Record<string, unknown>;
}

/**
 * The product as `npm start` runs it, on free loopback ports: Azurite and the Network Controller and ARM emulators in
 * this process's care, the functions in a runner child process (so a test can stop or kill it by pid).
 */
export async function startStack(options: StackOptions = {}) {
  const azurite: RunningAzurite = await startAzurite({ blobPort: 0, queuePort: 0, tablePort: 0 });
  const nc = await startTestNetworkController({
    provisioningDelayInMs: options.provisioningDelayInMs ?? 100,
    clientCertificateThumbprints: options.clientCertificateThumbprints,
  });
  const arm = await startArmEmulator({
    port: 0,
    tls: testCa().issueServerCertificate(['127.0.0.1']),
    runDurationInMs: options.runDurationInMs ?? 150,
  });
  const vault = await startKeyVaultEmulator({ port: 0, tls: testCa().issueServerCertificate(['127.0.0.1']) });
  const ncAddress: NcAddress = { baseUrl: nc.baseUrl, caCertPem: nc.ca.caCertPem };
  const env: NodeJS.ProcessEnv = {
    ...runnerEnvironment({
      storageConnectionString: azurite.connectionString,
      ncBaseUrl: ncAddress.baseUrl,
      ncCaCertPem: ncAddress.caCertPem,
      armOrigin: arm.origin,
    }),
    KEY_VAULT_URL: vault.origin,
    ...(typeof options.env === 'function' ? options.env(ncAddress) : options.env),
  };
  const defaultHeaders = options.defaultHeaders ?? {};
  const lab = options.labTenants === false ? undefined : labRegistry(azurite.connectionString, env.TENANT_TABLE_NAME);
  const output: string[] = [];
  let runner: RunnerProcess | undefined;

  const startRunner = async () => {
    runner = await startRunnerProcess({
      name: 'runner',
      env,
      extraArgs: options.runnerArgs,
      onLine: (line) => output.push(line),
      outputForErrors: () => output,
    });
  };

  const stopRunner = async (signal: NodeJS.Signals = 'SIGTERM') => {
    await runner?.kill(signal);
  };

  const apiUrl = () => runner?.apiUrl ?? '';

  await startRunner();
  const queues = QueueServiceClient.fromConnectionString(azurite.connectionString);
  const table = (name: string) =>
    TableClient.fromConnectionString(azurite.connectionString, name, { allowInsecureConnection: true });

  const stack = {
    get apiUrl() {
      return apiUrl();
    },
    nc,
    arm,
    vault,
    azurite,
    /** The Key Vault emulator's `/_emulator` routes (set, remove, count reads of a secret). */
    vaultAdmin(method: string, path: string, body?: unknown): Promise<unknown> {
      return emulatorRequest(`${vault.origin}${path}`, method, body);
    },
    armAdmin(method: string, path: string, body?: unknown): Promise<unknown> {
      return emulatorRequest(`${arm.origin}${path}`, method, body);
    },
    queues,
    output,
    startRunner,
    stopRunner,
    /** Whether the runner child is still running (it never exits on bad input). */
    runnerAlive(): boolean {
      return runner?.alive ?? false;
    },
    async api(method: string, path: string, body?: unknown, headers = defaultHeaders): Promise<ApiResponse> {
      const submit = method === 'POST' ? /^\/tenants\/([^/?]+)\/attachments\/?$/.exec(path) : null;
      if (submit && lab) await lab.ensure(decodeURIComponent(submit[1] ?? ''), body);
      const { json, ...response } = await callApi(apiUrl(), method, path, body, headers);
      return { ...response, body: json ?? {} };
    },
    /** An HTTP request whose path goes out byte for byte (fetch would normalise `..` and `%2e`). */
    rawRequest(
      method: string,
      rawPath: string,
      body?: string,
      headers = defaultHeaders,
    ): Promise<{ status: number; text: string }> {
      const url = new URL(apiUrl());
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
    /** Polls the status URL until the attachment ends (200) or the deadline passes; returns it with history. */
    async waitForEnd(tenantId: string, attachmentId: string, timeoutInMs = options.waitForEndTimeoutInMs ?? 30_000) {
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
    /** Puts a message on a queue, base64-encoded as the host's queue trigger expects unless `encode` is false. */
    async sendToQueue(queueName: string, message: unknown, encode = true) {
      const queue = queues.getQueueClient(queueName);
      await queue.createIfNotExists();
      if (queueName === 'attach-requests' && lab && typeof message === 'object' && message !== null)
        await lab.ensure((message as { tenantId?: unknown }).tenantId, message);
      const text = typeof message === 'string' ? message : JSON.stringify(message);
      await queue.sendMessage(encode ? base64(text) : text);
    },
    /** Message texts on a queue as stored (not decoded); [] when the queue does not exist. */
    async peekRaw(queueName: string): Promise<string[]> {
      const queue = queues.getQueueClient(queueName);
      if (!(await queue.exists())) return [];
      const peeked = await queue.peekMessages({ numberOfMessages: 32 });
      return peeked.peekedMessageItems.map((m) => m.messageText);
    },
    /** Message texts on a queue, decoded from base64. */
    async peekQueue(queueName: string): Promise<string[]> {
      return (await stack.peekRaw(queueName)).map((text) => Buffer.from(text, 'base64').toString('utf8'));
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
      await stopRunner();
      await nc.close();
      await arm.close();
      await vault.close();
      await azurite.stop();
    },
  };
  return stack;
}

export type Stack = Awaited<ReturnType<typeof startStack>>;

/** Base64 of a UTF-8 text, as the host's queue trigger expects. */
export function base64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}
