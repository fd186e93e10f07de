import type { QueueClient, QueueServiceClient, StoragePipelineOptions } from '@azure/storage-queue';

import {
  identitySettingsOf,
  queueServiceClientFor,
  readStorageConnection,
  type StorageConnection,
} from '../../shared/state/storageConnection';

/**
 * Storage access shared by every function of one runner: one service client per connection, one
 * createIfNotExists per queue, and the settings lookups the host does for `connection` and `queueName`.
 */

// Fail fast against a local emulator: the SDK default (4 tries, up to 2 min apart) would stall a poll loop and stop()
// for minutes while Azurite is down. The listener backs off and tries again anyway.
const PIPELINE_OPTIONS: StoragePipelineOptions = {
  retryOptions: { maxTries: 3, retryDelayInMs: 200, maxRetryDelayInMs: 1_000, tryTimeoutInMs: 30_000 },
};

const QUEUE_NAME = /^[a-z0-9](?:[a-z0-9]|-(?!-)){1,61}[a-z0-9]$/;
const MAX_QUEUE_NAME_LENGTH = 63;
const POISON_SUFFIX = '-poison';

export type Settings = Readonly<Record<string, string | undefined>>;

/**
 * The host reads `connection` as an app setting name, also trying the `AzureWebJobs` prefix: a connection string in
 * the setting, or identity-based settings in its `__` section (the same rules as the app's own clients).
 */
export function resolveConnection(settingName: string | undefined, settings: Settings): StorageConnection {
  const given = settingName || 'AzureWebJobsStorage';
  const name = [given, `AzureWebJobs${given}`].find(
    (candidate) => settings[candidate] || identitySettingsOf(candidate, settings).length > 0,
  );
  if (name === undefined) {
    throw new Error(
      `The storage connection setting "${given}" is not set (expected a connection string, or identity-based ` +
        `settings such as ${given}__accountName, in the environment).`,
    );
  }
  const read = readStorageConnection(name, settings, ['queue']);
  if (!read.connection) throw new Error(`Storage connection "${name}": ${read.problems.join('; ')}`);
  return read.connection;
}

/** Resolves `%Setting%` binding expressions and checks the name the way the service would reject it. */
export function resolveQueueName(queueName: string, settings: Settings): string {
  const resolved = queueName.replace(/%([^%]+)%/g, (_, setting: string) => {
    const value = settings[setting];
    if (value === undefined)
      throw new Error(`Queue name "${queueName}" refers to setting "${setting}", which is not set.`);
    return value;
  });
  if (!QUEUE_NAME.test(resolved)) {
    throw new Error(`"${resolved}" is not a valid queue name (3-63 lowercase letters, digits and single dashes).`);
  }
  return resolved;
}

/** Queues whose poison name would be invalid, or that are poison queues themselves, get none (QueueListenerFactory). */
export function poisonQueueNameFor(queueName: string): string | undefined {
  if (queueName.toLowerCase().endsWith(POISON_SUFFIX)) return undefined;
  const poisonName = queueName + POISON_SUFFIX;
  return poisonName.length > MAX_QUEUE_NAME_LENGTH ? undefined : poisonName;
}

export class QueueAccounts {
  readonly #services = new Map<string, QueueServiceClient>();
  readonly #created = new Map<string, Promise<void>>();

  /** `connection` is a resolved connection, or a connection string. */
  queue(connection: StorageConnection | string, queueName: string): QueueClient {
    if (typeof connection === 'string') connection = { mode: 'connectionString', connectionString: connection };
    const key = JSON.stringify(connection);
    let service = this.#services.get(key);
    if (!service) {
      // Accepts full connection strings, UseDevelopmentStorage=true and identity-based connections alike; a managed
      // identity's token comes from the platform's endpoint (IDENTITY_ENDPOINT), as it does for the host.
      service = queueServiceClientFor(connection, {}, PIPELINE_OPTIONS);
      this.#services.set(key, service);
    }
    return service.getQueueClient(queueName);
  }

  /** createIfNotExists once per queue per runner, as the output binding does before its first add. */
  ensureExists(queue: QueueClient): Promise<void> {
    const key = queueKey(queue);
    let pending = this.#created.get(key);
    if (!pending) {
      pending = queue.createIfNotExists().then(() => undefined);
      // A failed create is retried by the next writer rather than cached.
      pending.catch(() => this.#created.delete(key));
      this.#created.set(key, pending);
    }
    return pending;
  }

  /** The queue was deleted behind our back; the next ensureExists creates it again. */
  forget(queue: QueueClient): void {
    this.#created.delete(queueKey(queue));
  }
}

/**
 * Creates each queue that does not exist yet, once per queue however often it is named, all at once; says which it
 * created and which were there already. Idempotent: a second run creates nothing.
 */
export async function createQueues(queues: readonly QueueClient[]): Promise<{ created: string[]; existing: string[] }> {
  const unique = [...new Map(queues.map((queue) => [queueKey(queue), queue])).values()];
  const outcomes = await Promise.all(
    unique.map(async (queue) => ({ name: queue.name, created: (await queue.createIfNotExists()).succeeded })),
  );
  return {
    created: outcomes.filter((o) => o.created).map((o) => o.name),
    existing: outcomes.filter((o) => !o.created).map((o) => o.name),
  };
}

/** Identifies a queue across connection strings that point at the same account (e.g. two setting names). */
export function queueKey(queue: QueueClient): string {
  return queue.url.toLowerCase();
}

export function statusCodeOf(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

export function errorCodeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
