import path from 'node:path';
import { parseArgs } from 'node:util';

import { startLocalRunner } from './localRunner';
import { applyLocalSettings } from './localSettings';
import { writeStdoutLine } from './stdoutLines';

/**
 * `node dist/dev/runner/main.js [--app-root <dir>] [--port <n>] [--host <ip>] [--function-key <key>]
 * [--registry-module <file>] [--create-queues] [--verbose]`: the stand-in for `func start` on machines without Core
 * Tools.
 */
const USAGE =
  'Usage: node dist/dev/runner/main.js [--app-root <dir>] [--port <n>] [--host <ip>] [--function-key <key>] ' +
  '[--registry-module <file>] [--create-queues] [--verbose]';

function parsePort(text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new Error(`--port: "${text}" is not a port number.`);
  return port;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'app-root': { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      'function-key': { type: 'string' },
      'registry-module': { type: 'string' },
      'create-queues': { type: 'boolean' },
      verbose: { type: 'boolean' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  // Like `func start`, the app is the current folder unless told otherwise.
  const appRoot = path.resolve(values['app-root'] ?? process.cwd());
  const localSettings = applyLocalSettings(appRoot);
  const runner = await startLocalRunner({
    appRoot,
    httpPort: values.port !== undefined ? parsePort(values.port) : localSettings.localHttpPort,
    host: values.host,
    functionKey: values['function-key'],
    registryModulePath: values['registry-module'] !== undefined ? path.resolve(values['registry-module']) : undefined,
    createQueues: values['create-queues'],
    verbose: values.verbose,
  });
  writeStdoutLine(`Runner ready: ${runner.httpUrl} (${runner.functionNames.length} functions)`);

  let signalled = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled) {
      // A second Ctrl+C means "now": skip waiting for running invocations.
      process.exit(1);
    }
    signalled = true;
    writeStdoutLine(`Received ${signal}; stopping.`);
    runner.stop().then(
      // Exit explicitly: the storage SDK keeps idle keep-alive sockets that would hold the process open.
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`Stopping failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n${USAGE}\n`);
  process.exit(1);
});
