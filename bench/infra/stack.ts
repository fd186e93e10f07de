import { join } from 'node:path';

import { ARM_SEED } from '../../dev/arm/seed';
import { type RunningArmEmulator, startArmEmulator } from '../../dev/arm/startArmEmulator';
import { connectionStringFor, type RunningAzurite, startAzurite } from '../../dev/azurite';
import {
  type RunningNetworkControllerEmulator,
  startNetworkControllerEmulator,
} from '../../dev/networkController/emulator';
import { createDevCertificateAuthority } from '../../dev/tls';
import { NcAdmin } from './ncAdmin';
import { type RunnerProcess, startRunner } from './runnerProcess';
import { type CountingProxy, startCountingProxy } from './storageProxy';

/** What lives for the whole bench: one CA (key generation is slow) and the Network Controller emulator. */
export interface SharedServices {
  caCertPem: string;
  serverTls: { certPem: string; keyPem: string };
  nc: RunningNetworkControllerEmulator;
  ncAdmin: NcAdmin;
  close(): Promise<void>;
}

export async function startSharedServices(): Promise<SharedServices> {
  const ca = createDevCertificateAuthority('bench CA');
  const serverTls = ca.issueServerCertificate(['127.0.0.1']);
  const nc = await startNetworkControllerEmulator({ port: 0, tls: { ...serverTls, caCertPem: ca.caCertPem } });
  return {
    caCertPem: ca.caCertPem,
    serverTls,
    nc,
    ncAdmin: new NcAdmin(nc.origin, ca.caCertPem),
    close: () => nc.close(),
  };
}

export interface ScenarioStackOptions {
  /** ARM run command duration (Pending, Running, terminal). */
  runDurationInMs: number;
  /** Put counting proxies between the app and Azurite (costs a little latency; only for the counting run). */
  countStorage: boolean;
  /** Also load the floor's bare submit and bare step into the runner (bench/floor/entry.ts). */
  floor?: boolean;
}

/** One scenario's private stack: fresh storage (no reused machine tasks, no backlog), ARM emulator and runner. */
export interface ScenarioStack {
  azurite: RunningAzurite;
  arm: RunningArmEmulator;
  runner: RunnerProcess;
  proxies: CountingProxy[];
  runnerEnv: Record<string, string>;
  stop(): Promise<void>;
}

/** The runner's settings for the bench; every value is recorded in results.json. */
export function benchAppSettings(): Record<string, string> {
  return {
    APP_ENVIRONMENT: 'Development',
    FUNCTIONS_WORKER_RUNTIME: 'node',
    NETWORK_CONTROLLER_POLL_INTERVAL_MS: '50',
    NETWORK_CONTROLLER_RETRY_DELAY_MS: '50',
    RUN_COMMAND_POLL_INTERVAL_MS: '50',
    ARM_AUTH_MODE: 'none',
    ARC_DEFAULT_SUBSCRIPTION_ID: ARM_SEED.subscriptionId,
    ARC_DEFAULT_RESOURCE_GROUP: ARM_SEED.resourceGroup,
    // e.g. BENCH_APP_SETTINGS='{"AzureFunctionsJobHost__extensions__queues__batchSize":"4"}' to try a setting.
    ...(JSON.parse(process.env.BENCH_APP_SETTINGS ?? '{}') as Record<string, string>),
  };
}

export async function startScenarioStack(
  shared: SharedServices,
  options: ScenarioStackOptions,
): Promise<ScenarioStack> {
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async (): Promise<void> => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    stops.length = 0;
  };
  try {
    // e.g. BENCH_AZURITE_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' to see where the storage emulator's time goes.
    const nodeArgs = (process.env.BENCH_AZURITE_NODE_ARGS ?? '').split(' ').filter((arg) => arg !== '');
    const azurite = await startAzurite({ blobPort: 0, queuePort: 0, tablePort: 0, scratch: true, nodeArgs });
    stops.push(() => azurite.stop());
    const proxies: CountingProxy[] = [];
    let connectionString = azurite.connectionString;
    if (options.countStorage) {
      const queue = await startCountingProxy('queue', azurite.queuePort);
      const table = await startCountingProxy('table', azurite.tablePort);
      proxies.push(queue, table);
      stops.push(
        () => queue.close(),
        () => table.close(),
      );
      connectionString = connectionStringFor({
        blobPort: azurite.blobPort,
        queuePort: queue.port,
        tablePort: table.port,
      });
    }
    const arm = await startArmEmulator({ port: 0, tls: shared.serverTls, runDurationInMs: options.runDurationInMs });
    stops.push(() => arm.close());
    const runnerEnv = {
      ...benchAppSettings(),
      AzureWebJobsStorage: connectionString,
      NC_DEFAULT_URL: shared.nc.baseUrl,
      NC_DEFAULT_CA_PEM: shared.caCertPem,
      ARM_ENDPOINT: arm.origin,
      ARM_CA_PEM: shared.caCertPem,
    };
    const preload = options.floor ? [join(__dirname, '..', 'floor', 'entry.js')] : [];
    const runner = await startRunner({ PATH: process.env.PATH, ...runnerEnv }, preload);
    stops.push(() => runner.stop());
    return { azurite, arm, runner, proxies, runnerEnv, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
