import { type ChildProcess, spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

import { ARM_SEED } from '../../dev/arm/seed';
import { testCa } from './tls';

const APP_ROOT = resolve(__dirname, '..', '..');

/** Where the runner finds the services it depends on. */
export interface RunnerServices {
  storageConnectionString: string;
  ncBaseUrl: string;
  ncCaCertPem: string;
  armOrigin: string;
}

/**
 * The settings `npm start` would give the app in development, pointed at the test's services, with polls and waits
 * short enough for tests to finish in seconds.
 */
export function runnerEnvironment(services: RunnerServices): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    APP_ENVIRONMENT: 'Development',
    FUNCTIONS_WORKER_RUNTIME: 'node',
    AzureWebJobsStorage: services.storageConnectionString,
    NC_DEFAULT_URL: services.ncBaseUrl,
    NC_DEFAULT_CA_PEM: services.ncCaCertPem,
    NETWORK_CONTROLLER_POLL_INTERVAL_MS: '100',
    NETWORK_CONTROLLER_RETRY_DELAY_MS: '50',
    STEP_INLINE_WAIT_MS: '2000',
    ARM_ENDPOINT: services.armOrigin,
    ARM_CA_PEM: testCa().caCertPem,
    ARM_AUTH_MODE: 'none',
    ARC_DEFAULT_SUBSCRIPTION_ID: ARM_SEED.subscriptionId,
    ARC_DEFAULT_RESOURCE_GROUP: ARM_SEED.resourceGroup,
    RUN_COMMAND_POLL_INTERVAL_MS: '200',
  };
}

export interface RunnerProcessOptions {
  /** How errors name this runner (stacks with several runners tell them apart by it). */
  name: string;
  env: NodeJS.ProcessEnv;
  /** Arguments for dev/runner/main.js beyond the app root and port, e.g. `--function-key`. */
  extraArgs?: readonly string[];
  /** Gets every line the runner prints, stderr lines prefixed with `[stderr] `, for as long as it runs. */
  onLine: (line: string) => void;
  /** The output to show when the runner exits before it is ready. */
  outputForErrors: () => readonly string[];
}

/** A runner child process that has printed its URL. */
export interface RunnerProcess {
  readonly child: ChildProcess;
  readonly apiUrl: string;
  readonly alive: boolean;
  /** Resolves once the process has exited, however it ended. */
  readonly exited: Promise<void>;
  /** Sends `signal` and waits for the exit; does nothing when the process has already exited. */
  kill(signal: NodeJS.Signals): Promise<void>;
}

/**
 * Starts dev/runner/main.js (so `npm run build` must have run) on a free port, as a child process so that a test can
 * stop or kill it like an operator would; resolves once it is ready to take requests.
 */
export async function startRunnerProcess(options: RunnerProcessOptions): Promise<RunnerProcess> {
  const child = spawn(
    process.execPath,
    [
      join(APP_ROOT, 'dist', 'dev', 'runner', 'main.js'),
      '--app-root',
      APP_ROOT,
      '--port',
      '0',
      ...(options.extraArgs ?? []),
    ],
    { env: options.env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  createInterface({ input: child.stderr }).on('line', (line) => options.onLine(`[stderr] ${line}`));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const apiUrl = await new Promise<string>((resolveUrl, reject) => {
    child.once('exit', (code) =>
      reject(new Error(`${options.name} exited (${code ?? 'signal'}):\n${options.outputForErrors().join('\n')}`)),
    );
    createInterface({ input: child.stdout }).on('line', (line) => {
      options.onLine(line);
      const ready = /^Runner ready: (\S+)/.exec(line);
      if (ready?.[1]) resolveUrl(ready[1]);
    });
  });
  const isAlive = () => child.exitCode === null && child.signalCode === null;
  return {
    child,
    apiUrl,
    get alive() {
      return isAlive();
    },
    exited,
    async kill(signal) {
      if (!isAlive()) return;
      child.kill(signal);
      await exited;
    },
  };
}

export interface ApiCallResult {
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed as JSON: `{}` when empty, undefined when it is not JSON. */
  json: Record<string, unknown> | undefined;
}

/** One call to a runner's HTTP API; a string body goes out as it is, so that tests can send malformed JSON. */
export async function callApi(
  apiUrl: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<ApiCallResult> {
  const response = await fetch(`${apiUrl}${path}`, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let json: Record<string, unknown> | undefined;
  try {
    json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}
