import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';

import type { DynamicConcurrencySettings } from './dynamicConcurrency';
import { parseDurationInMs } from './timeSpan';

/** The `extensions.queues` settings of host.json, with the Queues extension 5.x defaults filled in. */
export interface QueueSettings {
  batchSize: number;
  newBatchThreshold: number;
  maxPollingIntervalInMs: number;
  visibilityTimeoutInMs: number;
  maxDequeueCount: number;
  messageEncoding: 'base64' | 'none';
}

export interface HostSettings {
  queues: QueueSettings;
  concurrency: DynamicConcurrencySettings;
  /** Without slashes; '' when host.json sets an empty prefix. */
  httpRoutePrefix: string;
}

const MIN_POLLING_INTERVAL_IN_MS = 100;
// The extension's default is 1 min, but the docs state that local development defaults to 2 s, and this runner is
// only ever local.
const LOCAL_DEFAULT_MAX_POLLING_INTERVAL_IN_MS = 2_000;
/** The most messages one Get Messages call returns: the ceiling for batchSize and for a dynamic-concurrency fetch. */
export const MAX_BATCH_SIZE = 32;

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// The host binds host.json through .NET configuration, which ignores key case.
function lookup(source: unknown, key: string): unknown {
  if (!isObject(source)) return undefined;
  const found = Object.keys(source).find((k) => k.toLowerCase() === key.toLowerCase());
  return found === undefined ? undefined : source[found];
}

function integerSetting(
  source: unknown,
  key: string,
  fallback: number,
  min: number,
  max = Infinity,
  section = 'extensions.queues',
): number {
  const raw = lookup(source, key);
  if (raw === undefined) return fallback;
  const value = typeof raw === 'string' ? Number(raw) : raw;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`host.json ${section}.${key}: ${JSON.stringify(raw)} must be an integer in [${min}, ${max}].`);
  }
  return value;
}

function booleanSetting(source: unknown, key: string, fallback: boolean, section: string): boolean {
  const raw = lookup(source, key);
  if (raw === undefined) return fallback;
  // App-setting overrides arrive as strings.
  const value = typeof raw === 'string' ? raw.toLowerCase() : raw;
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw new RangeError(`host.json ${section}.${key}: ${JSON.stringify(raw)} must be true or false.`);
}

const DEFAULT_MAXIMUM_FUNCTION_CONCURRENCY = 500;

function concurrencySettingsFrom(concurrency: unknown): DynamicConcurrencySettings {
  return {
    dynamicConcurrencyEnabled: booleanSetting(concurrency, 'dynamicConcurrencyEnabled', false, 'concurrency'),
    maximumFunctionConcurrency: integerSetting(
      concurrency,
      'maximumFunctionConcurrency',
      DEFAULT_MAXIMUM_FUNCTION_CONCURRENCY,
      1,
      Infinity,
      'concurrency',
    ),
  };
}

function queueSettingsFrom(queues: unknown, processorCount: number): QueueSettings {
  const batchSize = integerSetting(queues, 'batchSize', 16, 1, MAX_BATCH_SIZE);
  // -1 is the extension's "not set" marker; the computed default scales with cores.
  const threshold = integerSetting(queues, 'newBatchThreshold', -1, -1);
  const rawPolling = lookup(queues, 'maxPollingInterval');
  const maxPollingIntervalInMs =
    rawPolling === undefined
      ? LOCAL_DEFAULT_MAX_POLLING_INTERVAL_IN_MS
      : parseDurationInMs(rawPolling, 'host.json extensions.queues.maxPollingInterval');
  if (maxPollingIntervalInMs < MIN_POLLING_INTERVAL_IN_MS) {
    throw new RangeError(
      `host.json extensions.queues.maxPollingInterval must be at least ${MIN_POLLING_INTERVAL_IN_MS} ms.`,
    );
  }
  const rawVisibility = lookup(queues, 'visibilityTimeout');
  const rawEncoding = lookup(queues, 'messageEncoding') ?? 'base64';
  const encoding = typeof rawEncoding === 'string' ? rawEncoding.toLowerCase() : rawEncoding;
  if (encoding !== 'base64' && encoding !== 'none') {
    throw new RangeError(
      `host.json extensions.queues.messageEncoding: ${JSON.stringify(rawEncoding)} is not base64 or none.`,
    );
  }
  return {
    batchSize,
    newBatchThreshold: threshold === -1 ? Math.floor(batchSize / 2) * processorCount : threshold,
    maxPollingIntervalInMs,
    visibilityTimeoutInMs:
      rawVisibility === undefined
        ? 0
        : parseDurationInMs(rawVisibility, 'host.json extensions.queues.visibilityTimeout'),
    maxDequeueCount: integerSetting(queues, 'maxDequeueCount', 5, 1),
    messageEncoding: encoding,
  };
}

export function hostSettingsFrom(hostJson: unknown, processorCount = availableParallelism()): HostSettings {
  const extensions = lookup(hostJson, 'extensions');
  const rawPrefix = lookup(lookup(extensions, 'http'), 'routePrefix') ?? 'api';
  if (typeof rawPrefix !== 'string') throw new TypeError('host.json extensions.http.routePrefix must be a string.');
  return {
    queues: queueSettingsFrom(lookup(extensions, 'queues'), processorCount),
    concurrency: concurrencySettingsFrom(lookup(hostJson, 'concurrency')),
    httpRoutePrefix: rawPrefix.replace(/^\/+|\/+$/g, ''),
  };
}

const OVERRIDE_PREFIX = 'azurefunctionsjobhost__';

/**
 * Applies `AzureFunctionsJobHost__<path>` app settings over host.json, as the host does (`__` separates the levels,
 * keys match whatever their case): how an operator changes, say, maxDequeueCount without a new deployment.
 */
export function withEnvironmentOverrides(hostJson: unknown, env: NodeJS.ProcessEnv): unknown {
  const root: JsonObject = isObject(hostJson) ? structuredClone(hostJson) : {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || !name.toLowerCase().startsWith(OVERRIDE_PREFIX)) continue;
    const keys = name.slice(OVERRIDE_PREFIX.length).split('__').filter(Boolean);
    const last = keys.pop();
    if (last === undefined) continue;
    let node = root;
    for (const key of keys) {
      const existing = Object.keys(node).find((k) => k.toLowerCase() === key.toLowerCase()) ?? key;
      const child = node[existing];
      node = isObject(child) ? child : (node[existing] = {});
    }
    const existing = Object.keys(node).find((k) => k.toLowerCase() === last.toLowerCase()) ?? last;
    node[existing] = value;
  }
  return root;
}

/** Reads `<appRoot>/host.json` (a missing file means all defaults) with the environment's overrides applied. */
export function readHostSettings(appRoot: string, env: NodeJS.ProcessEnv = process.env): HostSettings {
  const file = path.join(appRoot, 'host.json');
  let parsed: unknown = {};
  if (existsSync(file)) {
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      throw new Error(`Could not parse ${file}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return hostSettingsFrom(withEnvironmentOverrides(parsed, env));
}
