import { QueueClient, QueueServiceClient, type StoragePipelineOptions } from '@azure/storage-queue';

/**
 * Storage access shared by every function of one runner: one service client per connection string, one
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

/** The host reads `connection` as an app setting name, also trying the `AzureWebJobs` prefix. */
export function resolveConnectionString(settingName: string | undefined, settings: Settings): string {
  const name = settingName || 'AzureWebJobsStorage';
  const value = settings[name] ?? settings[`AzureWebJobs${name}`];
  if (value) return value;
  if (settings[`${name}__queueServiceUri`] ?? settings[`${name}__serviceUri`]) {
    throw new Error(`Setting "${name}" uses identity-based connections, which the local runner does not support.`);
  }
  throw new Error(
    `The storage connection setting "${name}" is not set (expected a connection string in the environment).`,
  );
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

  queue(connectionString: string, queueName: string): QueueClient {
    let service = this.#services.get(connectionString);
    if (!service) {
      // Accepts full connection strings and UseDevelopmentStorage=true alike.
      service = QueueServiceClient.fromConnectionString(connectionString, PIPELINE_OPTIONS);
      this.#services.set(connectionString, service);
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
