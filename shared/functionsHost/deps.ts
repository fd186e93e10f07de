import { managedIdentityTokenProvider, noTokenProvider, RunCommandClient } from '../arc/RunCommandClient';
import { type AppConfig, getConfig, type NetworkControllerSettings } from '../config';
import { sleep } from '../http/sleep';
import { stableUuid } from '../ids';
import {
  keyVaultDevelopmentToken,
  keyVaultManagedIdentity,
  KeyVaultSecretsClient,
} from '../keyVault/KeyVaultSecretsClient';
import type { MachineTaskStore } from '../model/MachineTaskStore';
import type { StateStore } from '../model/StateStore';
import type { TenantStore } from '../model/TenantStore';
import { NetworkControllerClient } from '../networkController/NetworkControllerClient';
import { NicDirectory } from '../networkController/NicDirectory';
import { NicUpdateBatcher } from '../networkController/NicUpdateBatcher';
import { tableClientFor } from '../state/storageConnection';
import { TableMachineTaskStore } from '../state/TableMachineTaskStore';
import { TableStateStore } from '../state/TableStateStore';
import { TableTenantStore } from '../state/TableTenantStore';
import { type AccessPolicy, accessPolicy } from './access';
import { QueueSender } from './QueueSender';

/** Everything the functions need from the outside world, built once per worker process. */
export interface AppDeps {
  config: AppConfig;
  store: StateStore;
  /** The tenant registry: what each tenant may touch. */
  tenants: TenantStore;
  /** Who may use which route (see access.ts). */
  access: AccessPolicy;
  queues: Pick<QueueSender, 'send' | 'delete'>;
  networkController(name: string): ControllerAccess;
  machineTasks: MachineTaskStore;
  runCommands: RunCommandClient;
  /** Guest credentials from Key Vault (`KEY_VAULT_URL`); absent when no vault is configured. */
  keyVault?: Pick<KeyVaultSecretsClient, 'getGuestCredential'>;
  stableUuid: (seed: string) => string;
  nowInMs: () => number;
  sleep: (ms: number) => Promise<void>;
}

/** One configured controller: its client, and the per-process NIC directory and write batcher in front of it. */
export interface ControllerAccess {
  client: NetworkControllerClient;
  directory: NicDirectory;
  writer: NicUpdateBatcher;
}

function createNetworkControllerClient(
  settings: NetworkControllerSettings,
  config: AppConfig,
): NetworkControllerClient {
  const tls = {
    caCertPem: settings.caCertPem,
    insecureSkipTlsVerify: settings.insecureSkipTlsVerify,
    ...(settings.auth.mode === 'x509' ? settings.auth : {}),
  };
  const { timeoutInMs, maxRetries, retryDelayInMs, maxRetryDelayInMs } = config.networkControllerDefaults;
  return new NetworkControllerClient(settings.url, { tls, timeoutInMs, maxRetries, retryDelayInMs, maxRetryDelayInMs });
}

export function createAppDeps(config: AppConfig): AppDeps {
  const controllers = new Map<string, ControllerAccess>();
  return {
    config,
    store: new TableStateStore(tableClientFor(config.storage, config.tables.state)),
    tenants: new TableTenantStore(tableClientFor(config.storage, config.tables.tenants)),
    access: accessPolicy(config),
    queues: new QueueSender(config.storage),
    networkController(name) {
      let client = controllers.get(name);
      if (!client) {
        const settings = config.networkControllers.get(name);
        if (!settings) throw new RangeError(`Network Controller "${name}" is not configured`);
        const nc = createNetworkControllerClient(settings, config);
        const defaults = config.networkControllerDefaults;
        client = {
          client: nc,
          directory: new NicDirectory(nc, { maxAgeInMs: defaults.networkReadMaxAgeInMs }),
          writer: new NicUpdateBatcher(nc, {
            windowInMs: defaults.batchWindowInMs,
            pollIntervalInMs: defaults.pollIntervalInMs,
            stableUuid,
            sleep: (ms) => sleep(ms),
          }),
        };
        controllers.set(name, client);
      }
      return client;
    },
    machineTasks: new TableMachineTaskStore(tableClientFor(config.storage, config.machineTasks.table)),
    runCommands: new RunCommandClient(config.arm.endpoint, {
      credential:
        config.arm.auth.mode === 'none' ? noTokenProvider() : managedIdentityTokenProvider(config.arm.auth.clientId),
      caCertPem: config.arm.caCertPem,
      timeoutInMs: config.arm.timeoutInMs,
      maxRetries: config.arm.maxRetries,
    }),
    ...(config.keyVault && {
      keyVault: new KeyVaultSecretsClient(config.keyVault.url, {
        // The emulator (ARM_AUTH_MODE=none, Development only) takes any well-formed bearer token.
        credential:
          config.arm.auth.mode === 'none'
            ? keyVaultDevelopmentToken()
            : keyVaultManagedIdentity(config.arm.auth.clientId),
        caCertPem: config.arm.caCertPem,
        timeoutInMs: config.arm.timeoutInMs,
        maxRetries: config.arm.maxRetries,
      }),
    }),
    stableUuid,
    nowInMs: () => Date.now(),
    sleep: (ms) => sleep(ms),
  };
}

let cached: AppDeps | undefined;

/** The process-wide dependencies, built on first use (so a bad setting fails the first invocation loudly). */
export function getDeps(): AppDeps {
  cached ??= createAppDeps(getConfig());
  return cached;
}
