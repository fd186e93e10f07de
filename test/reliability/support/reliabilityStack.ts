import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { QueueServiceClient } from '@azure/storage-queue';

import { startArmEmulator } from '../../../dev/arm/startArmEmulator';
import { connectionStringFor, type RunningAzurite, startAzurite } from '../../../dev/azurite';
import { labRegistry } from '../../support/labRegistry';
import { emulatorRequest, startTestNetworkController } from '../../support/ncEmulator';
import { callApi, runnerEnvironment, startRunnerProcess } from '../../support/runnerProcess';
import { testCa } from '../../support/tls';
import { type HttpsFaultProxy, type ProxiedRequest, type ProxyDecision, startHttpsFaultProxy } from './httpsFaultProxy';
import { type QueueLeaseProxy, startQueueLeaseProxy } from './queueLeaseProxy';

export interface ReliabilityStackOptions {
  /** Extra settings for the app (every runner's environment). */
  env?: Record<string, string>;
  /** Keep Azurite's data on disk (so it survives `restartAzurite()`); in memory otherwise. */
  onDiskAzurite?: boolean;
  /** Put an HTTPS proxy in front of the Network Controller emulator, deciding per request. */
  ncProxy?: (request: ProxiedRequest) => ProxyDecision | undefined | Promise<ProxyDecision | undefined>;
  /** The same in front of the ARM emulator. */
  armProxy?: (request: ProxiedRequest) => ProxyDecision | undefined | Promise<ProxyDecision | undefined>;
  provisioningDelayInMs?: number;
  runDurationInMs?: number;
}

/** One runner child process: the functions host. */
export interface RunnerHandle {
  readonly name: string;
  readonly pid: number;
  readonly apiUrl: string;
  readonly alive: boolean;
  readonly exited: Promise<void>;
  /** Invocations it has started and not finished (by its log), by invocation id. */
  readonly inFlight: ReadonlyMap<string, { functionName: string; startedAtInMs: number }>;
  /** Called for every line it prints, until it exits. */
  onLine(listener: (line: string) => void): () => void;
  kill(signal: NodeJS.Signals): Promise<void>;
}

export interface ApiAnswer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

/** A free loopback port right now (for services that must keep their port across a restart). */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
  });
}

/**
 * The product as the integration tests run it (Azurite, the two emulators, the runner as a child process), with
 * what reliability tests need on top: Azurite on fixed ports (optionally on disk, restartable mid-run), a queue proxy
 * that can end a dead runner's message leases, optional fault proxies in front of the emulators, and any number of
 * runners (kill one with SIGKILL, start another).
 */
export async function startReliabilityStack(options: ReliabilityStackOptions = {}) {
  const ports = { blobPort: await freePort(), queuePort: await freePort(), tablePort: await freePort() };
  const location = options.onDiskAzurite ? mkdtempSync(join(tmpdir(), 'sdn-reliability-azurite-')) : undefined;
  const launchAzurite = () => startAzurite({ ...ports, ...(location ? { location } : {}) });
  let azurite: RunningAzurite = await launchAzurite();
  const directConnectionString = connectionStringFor(ports);
  const queueProxy: QueueLeaseProxy = await startQueueLeaseProxy({
    upstreamPort: ports.queuePort,
    connectionString: directConnectionString,
  });
  const appConnectionString = connectionStringFor({ ...ports, queuePort: queueProxy.port });

  const nc = await startTestNetworkController({ provisioningDelayInMs: options.provisioningDelayInMs ?? 100 });
  const arm = await startArmEmulator({
    port: 0,
    tls: testCa().issueServerCertificate(['127.0.0.1']),
    runDurationInMs: options.runDurationInMs ?? 150,
  });
  const proxies: HttpsFaultProxy[] = [];
  let ncOrigin = nc.origin;
  if (options.ncProxy) {
    const proxy = await startHttpsFaultProxy({ target: nc.origin, decide: options.ncProxy });
    proxies.push(proxy);
    ncOrigin = proxy.origin;
  }
  let armOrigin = arm.origin;
  if (options.armProxy) {
    const proxy = await startHttpsFaultProxy({ target: arm.origin, decide: options.armProxy });
    proxies.push(proxy);
    armOrigin = proxy.origin;
  }

  const env: NodeJS.ProcessEnv = {
    ...runnerEnvironment({
      storageConnectionString: appConnectionString,
      ncBaseUrl: `${ncOrigin}/networking/v1`,
      ncCaCertPem: nc.ca.caCertPem,
      armOrigin,
    }),
    STEP_INLINE_WAIT_MS: '1500',
    ...options.env,
  };

  const lab = labRegistry(directConnectionString, env.TENANT_TABLE_NAME);

  /** Every line every runner printed, prefixed with its name. */
  const output: string[] = [];
  const runners: RunnerHandle[] = [];
  let runnerCount = 0;

  /** Starts a runner; `overrides` change settings for this runner only. */
  async function startRunner(overrides: Record<string, string> = {}): Promise<RunnerHandle> {
    const name = `runner-${++runnerCount}`;
    const listeners = new Set<(line: string) => void>();
    const inFlight = new Map<string, { functionName: string; startedAtInMs: number }>();
    const emit = (line: string) => {
      output.push(`[${name}] ${line}`);
      const executing = /Executing '([A-Za-z]+)' \(Reason=.*?, Id=([0-9a-f-]{36})/.exec(line);
      if (executing?.[1] && executing[2])
        inFlight.set(executing[2], { functionName: executing[1], startedAtInMs: Date.now() });
      const executed = /Executed '[A-Za-z]+' \([A-Za-z]+, Id=([0-9a-f-]{36})/.exec(line);
      if (executed?.[1]) inFlight.delete(executed[1]);
      for (const listener of listeners) listener(line);
    };
    const runner = await startRunnerProcess({
      name,
      env: { ...env, ...overrides },
      onLine: emit,
      outputForErrors: () => output.slice(-40),
    });
    const handle: RunnerHandle = {
      name,
      pid: runner.child.pid ?? 0,
      apiUrl: runner.apiUrl,
      get alive() {
        return runner.alive;
      },
      exited: runner.exited,
      inFlight,
      onLine(listener) {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
      kill: (signal) => runner.kill(signal),
    };
    runners.push(handle);
    return handle;
  }

  const liveRunner = (): RunnerHandle | undefined => [...runners].reverse().find((r) => r.alive);

  /** A call to the API of a live runner; waits (briefly) for one while runners are being restarted. */
  async function api(method: string, path: string, body?: unknown, via?: RunnerHandle): Promise<ApiAnswer> {
    const deadline = Date.now() + 30_000;
    const submit = method === 'POST' ? /^\/tenants\/([^/?]+)\/attachments\/?$/.exec(path) : null;
    for (;;) {
      const runner = via ?? liveRunner();
      try {
        // These tests are about failures, not the tenant boundary: each tenant may use what its requests name.
        if (submit) await lab.ensure(decodeURIComponent(submit[1] ?? ''), body);
        if (!runner) throw new Error('no live runner');
        const response = await callApi(runner.apiUrl, method, path, body);
        // Keeps a body that is not JSON visible in the assertions and errors that print it.
        return { status: response.status, headers: response.headers, body: response.json ?? { text: response.text } };
      } catch (error) {
        if (via || Date.now() > deadline) throw error;
        await sleep(200);
      }
    }
  }

  const queues = () => QueueServiceClient.fromConnectionString(directConnectionString);

  return {
    env,
    output,
    runners,
    queueProxy,
    nc,
    arm,
    get azurite() {
      return azurite;
    },
    directConnectionString,
    startRunner,
    liveRunner,
    api,
    /** Registers a tenant for what a request names, as `api` does for HTTP submits (for entry-queue messages). */
    registerLabTenant: (tenantId: string, request: unknown) => lab.ensure(tenantId, request),
    ncAdmin: (method: string, path: string, body?: unknown) =>
      emulatorRequest(`${nc.origin}${path}`, method, body, { failOnErrorStatus: true }),
    armAdmin: (method: string, path: string, body?: unknown) =>
      emulatorRequest(`${arm.origin}${path}`, method, body, { failOnErrorStatus: true }),
    queues,

    /** Kills every live runner with SIGKILL. */
    async killRunners(): Promise<void> {
      await Promise.all(runners.filter((r) => r.alive).map((r) => r.kill('SIGKILL')));
    },

    /** Stops Azurite (SIGTERM: it saves its data), waits, and starts it again on the same ports and folder. */
    async restartAzurite(downForInMs: number): Promise<void> {
      if (!location) throw new Error('restartAzurite needs onDiskAzurite');
      await azurite.stop();
      await sleep(downForInMs);
      azurite = await launchAzurite();
    },

    /** Peeks up to 32 messages of a queue (decoded from base64), [] when it does not exist. */
    async peekQueue(queueName: string): Promise<string[]> {
      const queue = queues().getQueueClient(queueName);
      if (!(await queue.exists())) return [];
      const peeked = await queue.peekMessages({ numberOfMessages: 32 });
      return peeked.peekedMessageItems.map((m) => Buffer.from(m.messageText, 'base64').toString('utf8'));
    },

    /** Every queue with its approximate message count (visible and invisible). */
    async queueCounts(): Promise<Record<string, number>> {
      const service = queues();
      const counts: Record<string, number> = {};
      for await (const item of service.listQueues()) {
        const properties = await service.getQueueClient(item.name).getProperties();
        counts[item.name] = properties.approximateMessagesCount ?? 0;
      }
      return counts;
    },

    async stop(): Promise<void> {
      await Promise.all(runners.filter((r) => r.alive).map((r) => r.kill('SIGTERM')));
      for (const proxy of proxies) await proxy.close();
      await queueProxy.close();
      await nc.close();
      await arm.close();
      await azurite.stop();
      if (location) rmSync(location, { recursive: true, force: true });
    },
  };
}

export type ReliabilityStack = Awaited<ReturnType<typeof startReliabilityStack>>;
