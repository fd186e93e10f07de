import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * Runs Azurite (the Storage emulator) as a child process. Its npm `main` is the VS Code extension, so the CLI is the
 * only supported way in; each caller gets its own instance, which lets test files run in parallel on free ports.
 */
export interface AzuriteOptions {
  /** 0 picks a free port. Defaults: blob 10000, queue 10001, table 10002 (what `UseDevelopmentStorage=true` expects). */
  queuePort?: number;
  tablePort?: number;
  blobPort?: number;
  /** Keeps data on disk in this folder; without it the data lives in memory and dies with the process. */
  location?: string;
  /**
   * Keeps data in a fresh folder (on tmpfs when the machine has /dev/shm) that stop() removes, instead of in memory.
   * For long or busy runs: Azurite 3.35's in-memory queue store gives every message its own extent, and its GC,
   * once a minute, removes the spent ones one at a time with a scan of all of them, so the emulator stops answering
   * for a time that grows with the square of the messages sent (48 s after 8,000 send+receive+delete cycles on a
   * 2-core machine). On disk, messages share extent files and the same GC takes milliseconds. Ignored with
   * `location`.
   */
  scratch?: boolean;
  /** Azurite's own debug log, useful when a request is rejected without a clear SDK error. */
  debugLogPath?: string;
  /** How long to wait for all three services to listen; default 20 s. */
  startTimeoutInMs?: number;
  /** Extra Node.js flags for the Azurite process, e.g. `--cpu-prof` when profiling the storage emulator. */
  nodeArgs?: readonly string[];
  /** Serves HTTPS with this certificate (e.g. from dev/tls.ts) instead of HTTP. */
  tls?: { certPem: string; keyPem: string };
  /**
   * Accepts Entra ID bearer tokens (`--oauth basic`: audience, issuer and lifetime are checked, the signature is not),
   * besides the account key. Azurite takes bearer tokens over HTTPS only, so this needs `tls`.
   */
  oauth?: 'basic';
}

export interface RunningAzurite {
  pid: number;
  queuePort: number;
  tablePort: number;
  blobPort: number;
  /** Full devstoreaccount1 connection string pointing at this instance's ports. */
  connectionString: string;
  /** The account's service endpoints (http, or https with `tls`), e.g. for identity-based settings. */
  serviceUrls: { queue: string; table: string };
  /** The folder holding the data; undefined when it lives in memory. */
  location: string | undefined;
  /** SIGTERM, then SIGKILL after 5 s; resolves once the process has exited. Safe to call more than once. */
  stop(): Promise<void>;
}

const ACCOUNT_NAME = 'devstoreaccount1';
// The well-known, public development account key that every Azurite build accepts.
const ACCOUNT_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';
const HOST = '127.0.0.1';
const DEFAULT_START_TIMEOUT_IN_MS = 20_000;
const KILL_AFTER_IN_MS = 5_000;
const MAX_CAPTURED_OUTPUT_CHARS = 8_192;
const TMPFS = '/dev/shm';

// Azurite 3.35 prints e.g. "Azurite Queue service is successfully listening at http://127.0.0.1:38505", even with
// --silent (that flag only silences the per-request access log).
const LISTENING_LINE = /Azurite (Blob|Queue|Table) service is successfully listening at https?:\/\/[^\s:]+:(\d+)/g;

type Service = 'Blob' | 'Queue' | 'Table';

const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;

// A test runner or CLI that dies without calling stop() must not leave emulators holding ports.
function killChildrenOnExit(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of liveChildren) {
      try {
        if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  });
}

function azuriteBinPath(): string {
  const packageJsonPath = require.resolve('azurite/package.json');
  const { bin } = JSON.parse(readFileSync(packageJsonPath, 'utf8')) as { bin?: string | Record<string, string> };
  const relative = typeof bin === 'string' ? bin : bin?.azurite;
  if (!relative) throw new Error(`The azurite package at ${packageJsonPath} declares no "azurite" bin.`);
  return path.resolve(path.dirname(packageJsonPath), relative);
}

function buildArgs(options: AzuriteOptions & { certFiles?: { cert: string; key: string } }): string[] {
  const args = [
    '--silent',
    '--disableTelemetry',
    // The current SDKs send API versions newer than Azurite 3.35 knows about.
    '--skipApiVersionCheck',
    '--loose',
    '--blobHost',
    HOST,
    '--queueHost',
    HOST,
    '--tableHost',
    HOST,
    '--blobPort',
    String(options.blobPort ?? 10000),
    '--queuePort',
    String(options.queuePort ?? 10001),
    '--tablePort',
    String(options.tablePort ?? 10002),
  ];
  // Azurite refuses to start when both are given.
  if (options.location !== undefined) args.push('--location', options.location);
  else args.push('--inMemoryPersistence');
  if (options.debugLogPath !== undefined) args.push('--debug', options.debugLogPath);
  if (options.certFiles !== undefined) args.push('--cert', options.certFiles.cert, '--key', options.certFiles.key);
  if (options.oauth !== undefined) args.push('--oauth', options.oauth);
  return args;
}

export function connectionStringFor(
  ports: { blobPort: number; queuePort: number; tablePort: number },
  protocol: 'http' | 'https' = 'http',
): string {
  const endpoint = (port: number): string => serviceUrlFor(port, protocol);
  return (
    `DefaultEndpointsProtocol=${protocol};AccountName=${ACCOUNT_NAME};AccountKey=${ACCOUNT_KEY};` +
    `BlobEndpoint=${endpoint(ports.blobPort)};QueueEndpoint=${endpoint(ports.queuePort)};` +
    `TableEndpoint=${endpoint(ports.tablePort)};`
  );
}

function serviceUrlFor(port: number, protocol: 'http' | 'https'): string {
  return `${protocol}://${HOST}:${port}/${ACCOUNT_NAME}`;
}

function appendCapped(buffer: string, chunk: string): string {
  const joined = buffer + chunk;
  return joined.length > MAX_CAPTURED_OUTPUT_CHARS ? joined.slice(-MAX_CAPTURED_OUTPUT_CHARS) : joined;
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve();
      return;
    }
    const killTimer = setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_IN_MS);
    child.once('exit', () => {
      clearTimeout(killTimer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Azurite reads its certificate from files; they live in a private folder that stop() removes. */
function writeCertFiles(tls: { certPem: string; keyPem: string }): { folder: string; cert: string; key: string } {
  const folder = mkdtempSync(path.join(tmpdir(), 'azurite-tls-'));
  const cert = path.join(folder, 'cert.pem');
  const key = path.join(folder, 'key.pem');
  writeFileSync(cert, tls.certPem, { mode: 0o600 });
  writeFileSync(key, tls.keyPem, { mode: 0o600 });
  return { folder, cert, key };
}

export function startAzurite(options: AzuriteOptions = {}): Promise<RunningAzurite> {
  if (options.oauth !== undefined && options.tls === undefined) {
    return Promise.reject(new Error('Azurite accepts bearer tokens over HTTPS only: give `tls` with `oauth`.'));
  }
  const startTimeoutInMs = options.startTimeoutInMs ?? DEFAULT_START_TIMEOUT_IN_MS;
  const protocol = options.tls === undefined ? 'http' : 'https';
  const certFiles = options.tls === undefined ? undefined : writeCertFiles(options.tls);
  const scratch =
    options.location === undefined && options.scratch === true
      ? mkdtempSync(path.join(existsSync(TMPFS) ? TMPFS : tmpdir(), 'azurite-'))
      : undefined;
  const location = options.location ?? scratch;
  // It is also the child's cwd, which must exist for spawn to succeed.
  if (location !== undefined) mkdirSync(location, { recursive: true });
  const child = spawn(
    process.execPath,
    [...(options.nodeArgs ?? []), azuriteBinPath(), ...buildArgs({ ...options, location, certFiles })],
    {
      // Without --location Azurite may still drop files (e.g. a debug log default) into its cwd; keep them out of the
      // repo.
      cwd: location ?? tmpdir(),
      stdio: ['ignore', 'pipe', 'pipe'],
      windowsHide: true,
    },
  );
  killChildrenOnExit();
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));

  let stdout = '';
  let stderr = '';
  const ports = new Map<Service, number>();
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= stopChild(child).then(() => {
      if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
      if (certFiles !== undefined) rmSync(certFiles.folder, { recursive: true, force: true });
    }));

  return new Promise<RunningAzurite>((resolve, reject) => {
    let settled = false;
    const fail = (reason: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(startTimer);
      const details = [stderr.trim() && `stderr:\n${stderr.trim()}`, stdout.trim() && `stdout:\n${stdout.trim()}`]
        .filter(Boolean)
        .join('\n');
      const error = new Error(`Azurite failed to start: ${reason}${details ? `\n${details}` : ''}`);
      void stop().then(() => reject(error));
    };

    const startTimer = setTimeout(() => fail(`not listening after ${startTimeoutInMs} ms`), startTimeoutInMs);

    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr = appendCapped(stderr, chunk);
    });
    child.stdout.on('data', (chunk: string) => {
      stdout = appendCapped(stdout, chunk);
      if (settled) return;
      for (const match of stdout.matchAll(LISTENING_LINE)) {
        ports.set(match[1] as Service, Number(match[2]));
      }
      if (ports.size < 3) return;
      settled = true;
      clearTimeout(startTimer);
      const found = {
        blobPort: ports.get('Blob') ?? 0,
        queuePort: ports.get('Queue') ?? 0,
        tablePort: ports.get('Table') ?? 0,
      };
      resolve({
        pid: child.pid ?? 0,
        ...found,
        connectionString: connectionStringFor(found, protocol),
        serviceUrls: {
          queue: serviceUrlFor(found.queuePort, protocol),
          table: serviceUrlFor(found.tablePort, protocol),
        },
        location,
        stop,
      });
    });
    child.once('error', (error) => fail(`could not spawn ${process.execPath}: ${error.message}`));
    child.once('exit', (code, signal) => fail(`exited early (code ${String(code)}, signal ${String(signal)})`));
  });
}
