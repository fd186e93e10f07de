import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

import { identitySettingsOf } from '../shared/state/storageConnection';
import { ARM_SEED } from './arm/seed';
import { DEFAULT_ARM_EMULATOR_PORT, type RunningArmEmulator, startArmEmulator } from './arm/startArmEmulator';
import { type RunningAzurite, startAzurite } from './azurite';
import { DEFAULT_KEY_VAULT_EMULATOR_PORT, startKeyVaultEmulator } from './keyVault/startKeyVaultEmulator';
import { type RunningNetworkControllerEmulator, startNetworkControllerEmulator } from './networkController/emulator';
import { createDevCertificateAuthority } from './tls';

/**
 * `npm start`: the whole product on this machine with no configuration. Azurite, the emulated Network Controller
 * and the local Functions runner start on the same ports `func start` and the real systems' defaults would use;
 * anything already configured (a real controller, a real storage account) is used instead of its emulator.
 */
const APP_ROOT = resolve(__dirname, '..', '..');
const DEFAULT_RUNNER_PORT = 7071;
const DEFAULT_NC_PORT = 8443;

interface StartOptions {
  persist: boolean;
  runnerPort: number;
  /** Serve the functions with Azure Functions Core Tools (`func start`) instead of the local runner. */
  func: boolean;
  /** The runner lists every function and queue instead of one summary line. */
  verbose: boolean;
}

function parseArgs(argv: readonly string[]): StartOptions {
  const options: StartOptions = { persist: false, runnerPort: DEFAULT_RUNNER_PORT, func: false, verbose: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--persist') options.persist = true;
    else if (arg === '--func') options.func = true;
    else if (arg === '--verbose') options.verbose = true;
    else if (arg === '--port') options.runnerPort = Number(argv[++i]);
    else if (arg === '--help') {
      process.stdout.write('npm start -- [--persist] [--port <port>] [--func] [--verbose]\n');
      process.exit(0);
    } else throw new Error(`Unknown argument ${arg}; try --help`);
  }
  if (!Number.isInteger(options.runnerPort)) throw new Error('--port needs a number');
  return options;
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  // Embedded defaults: only the shell's environment counts, so a local.settings.json written for another setup
  // cannot point `npm start` somewhere else by accident.
  const env: NodeJS.ProcessEnv = { ...process.env };
  env.APP_ENVIRONMENT ??= 'Development';
  env.FUNCTIONS_WORKER_RUNTIME ??= 'node';

  const stops: (() => Promise<void>)[] = [];
  // Filled in once started; stopAll may run before that.
  const started: { runner?: ChildProcess } = {};
  let stopping = false;
  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('\nStopping...\n');
    const runner = started.runner;
    if (runner?.pid !== undefined && runner.exitCode === null) {
      const exited = new Promise((r) => runner.once('exit', r));
      runner.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 12_000))]);
      if (runner.exitCode === null) runner.kill('SIGKILL');
    }
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    process.exit(code);
  };
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));

  const lines: string[] = [];
  let azurite: RunningAzurite | undefined;
  // Identity-based storage settings (AzureWebJobsStorage__accountName, ...) count as configured storage too.
  const identityStorage = identitySettingsOf('AzureWebJobsStorage', env).length > 0;
  if (!identityStorage && (!env.AzureWebJobsStorage || env.AzureWebJobsStorage === 'UseDevelopmentStorage=true')) {
    // Scratch, not in-memory: Azurite's in-memory queue store stalls for longer and longer once a minute (see scratch).
    azurite = await startAzurite(options.persist ? { location: join(APP_ROOT, '.azurite') } : { scratch: true });
    stops.push(() => azurite?.stop() ?? Promise.resolve());
    env.AzureWebJobsStorage = azurite.connectionString;
    lines.push(
      `Azurite (${options.persist ? 'on disk in .azurite/' : 'scratch, removed on exit'}): queues http://127.0.0.1:${azurite.queuePort}, tables http://127.0.0.1:${azurite.tablePort}`,
    );
  } else {
    lines.push(`Storage: the configured AzureWebJobsStorage${identityStorage ? ' (identity-based)' : ''}`);
  }

  const ca = createDevCertificateAuthority();
  const serverTls = { ...ca.issueServerCertificate(['127.0.0.1', 'localhost']), caCertPem: ca.caCertPem };
  let nc: RunningNetworkControllerEmulator | undefined;
  if (!env.NC_DEFAULT_URL) {
    nc = await startNetworkControllerEmulator({ port: DEFAULT_NC_PORT, tls: serverTls });
    stops.push(() => nc?.close() ?? Promise.resolve());
    env.NC_DEFAULT_URL = nc.baseUrl;
    env.NC_DEFAULT_CA_PEM = ca.caCertPem;
    lines.push(`Network Controller emulator: ${nc.baseUrl} (inspect: ${nc.origin}/_emulator/requests)`);
  } else {
    lines.push(`Network Controller: ${env.NC_DEFAULT_URL}`);
  }

  let arm: RunningArmEmulator | undefined;
  if (!env.ARM_ENDPOINT) {
    arm = await startArmEmulator({ port: DEFAULT_ARM_EMULATOR_PORT, tls: serverTls });
    stops.push(() => arm?.close() ?? Promise.resolve());
    env.ARM_ENDPOINT = arm.origin;
    env.ARM_CA_PEM = ca.caCertPem;
    env.ARM_AUTH_MODE ??= 'none';
    env.ARC_DEFAULT_SUBSCRIPTION_ID ??= ARM_SEED.subscriptionId;
    env.ARC_DEFAULT_RESOURCE_GROUP ??= ARM_SEED.resourceGroup;
    // The emulated machines finish a run in a fraction of a second; real ones take tens of seconds.
    env.RUN_COMMAND_POLL_INTERVAL_MS ??= '500';
    lines.push(
      `Azure Resource Manager emulator: ${arm.origin} (machines: ${arm.origin}/_emulator/machines/HV01, .../ContainerHostVM1)`,
    );
  } else {
    lines.push(`Azure Resource Manager: ${env.ARM_ENDPOINT}`);
  }

  // The guest credentials for VMs reached through their Hyper-V host; trusted through ARM_CA_PEM, as the ARM emulator.
  if (!env.KEY_VAULT_URL && arm) {
    const vault = await startKeyVaultEmulator({ port: DEFAULT_KEY_VAULT_EMULATOR_PORT, tls: serverTls });
    stops.push(() => vault.close());
    env.KEY_VAULT_URL = vault.origin;
    lines.push(`Key Vault emulator: ${vault.origin} (secrets contoso-guest, fabrikam-guest)`);
  } else if (env.KEY_VAULT_URL) {
    lines.push(`Key Vault: ${env.KEY_VAULT_URL}`);
  }

  const runner = options.func
    ? spawn('func', ['start', '--port', String(options.runnerPort)], {
        cwd: APP_ROOT,
        env,
        stdio: ['ignore', 'pipe', 'inherit'],
      })
    : spawn(
        process.execPath,
        [
          join(APP_ROOT, 'dist', 'dev', 'runner', 'main.js'),
          '--app-root',
          APP_ROOT,
          '--port',
          String(options.runnerPort),
          // The queues exist before the functions poll them: no "does not exist yet" per queue at start.
          '--create-queues',
          ...(options.verbose ? ['--verbose'] : []),
        ],
        { env, stdio: ['ignore', 'pipe', 'inherit'] },
      );
  started.runner = runner;
  runner.once('error', (error) => {
    process.stderr.write(
      `Could not start ${options.func ? 'func (is Azure Functions Core Tools installed?)' : 'the runner'}: ${error.message}\n`,
    );
    void stopAll(1);
  });
  runner.once('exit', (code) => {
    if (!stopping) {
      process.stderr.write(`The functions runner exited (${code ?? 'signal'}).\n`);
      void stopAll(1);
    }
  });
  const ready = new Promise<string>((resolveReady) => {
    createInterface({ input: runner.stdout }).on('line', (line) => {
      process.stdout.write(`${line}\n`);
      // The runner prints one ready line; Core Tools lists the functions once the host has started.
      const ready = options.func
        ? /Host lock lease acquired|Worker process started/.test(line)
        : line.startsWith('Runner ready:');
      if (ready) resolveReady(line);
    });
  });
  await ready;
  lines.push(await registerExampleTenants(`http://127.0.0.1:${options.runnerPort}/api`));
  for (const line of lines) process.stdout.write(`${line}\n`);
  process.stdout.write(
    `Ready: http://127.0.0.1:${options.runnerPort}/api; try: npx sdn-attach${options.runnerPort === DEFAULT_RUNNER_PORT ? '' : ` --api http://127.0.0.1:${options.runnerPort}/api`} submit examples/seed-attach.json --tenant contoso --wait. Ctrl-C stops everything.\n`,
  );
}

/**
 * Registers the tenants under examples/tenants/ through the admin API, as an operator would; an entry already in
 * the registry (a `--persist` run) is kept as it is (`If-None-Match: *`).
 */
async function registerExampleTenants(apiUrl: string): Promise<string> {
  const folder = join(APP_ROOT, 'examples', 'tenants');
  const tenants = readdirSync(folder)
    .filter((file) => file.endsWith('.json'))
    .map((file) => file.slice(0, -'.json'.length));
  for (const tenantId of tenants) {
    const response = await fetch(`${apiUrl}/admin/tenants/${tenantId}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', 'if-none-match': '*' },
      body: readFileSync(join(folder, `${tenantId}.json`), 'utf8'),
    });
    if (response.status !== 201 && response.status !== 412)
      throw new Error(`Registering tenant ${tenantId} failed: ${response.status} ${await response.text()}`);
  }
  return `Tenants: ${tenants.join(', ')} (examples/tenants/; GET ${apiUrl}/admin/tenants)`;
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
