import path from 'node:path';

import { ConcurrencyManager } from './dynamicConcurrency';
import { readHostSettings } from './hostConfig';
import { HttpHost } from './httpHost';
import { type LineWriter, timestamped } from './invocationLog';
import { loadFunctionApp } from './loadApp';
import { platformAuthSettingsFrom } from './platformAuth';
import { QueueListener } from './queueListener';
import { createQueueMessageHandler } from './queueMessageHandler';
import { QueueOutputWriter } from './queueOutputs';
import { createQueues, QueueAccounts } from './queueStorage';
import { QueueWatcher } from './queueWatcher';
import { resolveFunctions } from './resolveFunctions';
import { writeStdoutLine } from './stdoutLines';

export interface LocalRunnerOptions {
  /** Folder holding package.json (whose `main` glob names the function files) and host.json. */
  appRoot: string;
  /** Default 7071, like `func start`; 0 picks a free port. */
  httpPort?: number;
  /** Default '127.0.0.1'. */
  host?: string;
  /** When set, HTTP functions whose authLevel is not 'anonymous' require this key as ?code= or x-functions-key. */
  functionKey?: string;
  /** Receives each log line (timestamped); default: process.stdout. */
  log?: (line: string) => void;
  /** The compiled registration wrapper the function files load; default `<appRoot>/dist/shared/functionsHost/functionApp.js`. */
  registryModulePath?: string;
  /** How long stop() waits for running invocations; default 10 s. */
  stopTimeoutInMs?: number;
  /**
   * Creates every trigger queue and poison queue before listening (idempotently), as `npm start` wants; the host
   * itself only polls for a missing queue, and its output bindings create a queue at the first write.
   */
  createQueues?: boolean;
  /** Lists every function, the queues created and expected notes; otherwise one summary line says how many. */
  verbose?: boolean;
}

export interface RunningLocalRunner {
  /** e.g. http://127.0.0.1:7071/api */
  httpUrl: string;
  functionNames: string[];
  /** Stops polling, waits for in-flight invocations (bounded by stopTimeoutInMs), closes HTTP. Idempotent. */
  stop(): Promise<void>;
}

const DEFAULT_HTTP_PORT = 7071;
const DEFAULT_HOST = '127.0.0.1';
const DEFAULT_STOP_TIMEOUT_IN_MS = 10_000;

function urlHostFor(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * Serves the app's registrations against Azure Storage (Azurite locally) the way the Functions host would: queue
 * triggers with the host's polling, retry and poison rules, queue output bindings, and HTTP triggers.
 */
export async function startLocalRunner(options: LocalRunnerOptions): Promise<RunningLocalRunner> {
  const appRoot = path.resolve(options.appRoot);
  const host = options.host ?? DEFAULT_HOST;
  const stopTimeoutInMs = options.stopTimeoutInMs ?? DEFAULT_STOP_TIMEOUT_IN_MS;
  const write: LineWriter = timestamped(options.log ?? writeStdoutLine);
  const detail: LineWriter = options.verbose ? write : () => undefined;

  const platformAuth = platformAuthSettingsFrom(process.env);
  // App Service injects WEBSITE_AUTH_ENABLED when its authentication is on; with test principals the runner is that
  // authentication, and the app (loaded below) must trust the principal it injects.
  if (platformAuth.testPrincipalHeader) process.env.WEBSITE_AUTH_ENABLED = 'true';
  const hostSettings = readHostSettings(appRoot);
  const { registrations } = loadFunctionApp({
    appRoot,
    registryModulePath:
      options.registryModulePath ?? path.join(appRoot, 'dist', 'shared', 'functionsHost', 'functionApp.js'),
    log: write,
  });

  const accounts = new QueueAccounts();
  const watcher = new QueueWatcher();
  const outputs = new QueueOutputWriter(accounts, watcher, hostSettings.queues.messageEncoding);
  const { queueFunctions, httpFunctions } = resolveFunctions(registrations, {
    accounts,
    settings: process.env,
    routePrefix: hostSettings.httpRoutePrefix,
    write,
    detail,
  });
  let queueSummary = '';
  if (options.createQueues) {
    const queues = queueFunctions.flatMap((fn) => (fn.poisonQueue ? [fn.queue, fn.poisonQueue] : [fn.queue]));
    const { created, existing } = await createQueues(queues);
    for (const name of created) detail(`Queue '${name}' created.`);
    queueSummary = `; queues: ${created.length} created, ${existing.length} already there`;
  }

  const httpHost = new HttpHost({
    functions: httpFunctions,
    host,
    port: options.httpPort ?? DEFAULT_HTTP_PORT,
    functionKey: options.functionKey,
    platformAuth,
    outputs,
    write,
  });
  const port = await httpHost.listen();
  const baseUrl = `http://${urlHostFor(host)}:${port}`;
  const httpUrl = hostSettings.httpRoutePrefix ? `${baseUrl}/${hostSettings.httpRoutePrefix}` : baseUrl;

  const { dynamicConcurrencyEnabled, maximumFunctionConcurrency } = hostSettings.concurrency;
  const concurrency = dynamicConcurrencyEnabled
    ? new ConcurrencyManager({ maximumFunctionConcurrency, log: write })
    : undefined;
  concurrency?.start();
  const listeners = queueFunctions.map(
    (fn) =>
      new QueueListener({
        functionName: fn.functionName,
        queue: fn.queue,
        settings: hostSettings.queues,
        watcher,
        handler: createQueueMessageHandler(fn, { settings: hostSettings.queues, outputs, write }),
        write,
        concurrency: concurrency?.forFunction(fn.functionName),
      }),
  );
  for (const listener of listeners) listener.start();

  if (platformAuth.testPrincipalHeader) {
    write(
      `Test principals: the JSON in '${platformAuth.testPrincipalHeader}' becomes x-ms-client-principal (WEBSITE_AUTH_ENABLED=true).`,
    );
  }
  write(
    `${queueFunctions.length + httpFunctions.length} functions: ${httpFunctions.length} HTTP, ${queueFunctions.length} ` +
      `on queues${queueSummary}${options.verbose ? '' : ' (--verbose lists them)'}.`,
  );
  detail('Functions:');
  for (const fn of queueFunctions) detail(`  ${fn.functionName}: queueTrigger '${fn.queue.name}'`);
  for (const fn of httpFunctions)
    detail(
      `  ${fn.functionName}: [${fn.methods.join(',')}] ${baseUrl}/${[hostSettings.httpRoutePrefix, fn.route.template].filter(Boolean).join('/')}`,
    );

  const served = new Set([...queueFunctions, ...httpFunctions].map((fn) => fn.functionName));
  let stopping: Promise<void> | undefined;
  const stop = async (): Promise<void> => {
    const drained = await Promise.all([
      ...listeners.map((listener) => listener.stop(stopTimeoutInMs)),
      httpHost.stop(stopTimeoutInMs),
    ]);
    concurrency?.stop();
    if (!drained.every(Boolean)) {
      write(
        `Stopped with invocations still running after ${stopTimeoutInMs} ms; their queue messages reappear when their leases end.`,
      );
    }
  };

  return {
    httpUrl,
    functionNames: registrations.map(({ name }) => name).filter((name) => served.has(name)),
    stop: () => (stopping ??= stop()),
  };
}
