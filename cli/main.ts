#!/usr/bin/env node
import { readFileSync } from 'node:fs';

import { readEnvironment } from './environment';
import { runCli } from './program';

/** `sdn-attach`: the operators' command line (docs/cli.md). Ctrl-C stops a watch, never the attachment. */
const interrupt = new AbortController();
process.once('SIGINT', () => interrupt.abort());
// `sdn-attach list t | head`: a reader that went away is not an error of ours.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(process.exitCode ?? 0);
});

runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: readEnvironment(),
  readFile: (path) => readFileSync(path === '-' ? 0 : path, 'utf8'),
  signal: interrupt.signal,
}).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
