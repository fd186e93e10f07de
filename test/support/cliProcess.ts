import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';

const APP_ROOT = resolve(__dirname, '..', '..');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliProcessOptions {
  /** Environment beyond PATH (e.g. SDN_ATTACH_KEY); nothing else of the test's environment leaks in. */
  env?: Record<string, string>;
  /** Called with each chunk of stdout, e.g. to send Ctrl-C once watching has begun. */
  onStdout?: (chunk: string, child: { kill(signal: NodeJS.Signals): boolean }) => void;
  /** Standard input (for `submit -`); none when absent. */
  stdin?: string;
  timeoutInMs?: number;
}

/**
 * Runs the built `sdn-attach` (dist/cli/main.js, so `npm run build` must have run) as an operator would, with stdout
 * and stderr as pipes (not a terminal), from the app root so that relative paths like examples/ resolve.
 */
export function runCliProcess(args: readonly string[], options: CliProcessOptions = {}): Promise<CliRun> {
  const child = spawn(process.execPath, [join(APP_ROOT, 'dist', 'cli', 'main.js'), ...args], {
    cwd: APP_ROOT,
    env: { PATH: process.env.PATH, ...options.env },
    stdio: [options.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  child.stdin?.end(options.stdin);
  if (!child.stdout || !child.stderr) throw new Error('spawn gave no pipes');
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    options.onStdout?.(chunk, child);
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolveRun, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`sdn-attach ${args.join(' ')} did not end in time:\n${stdout}\n${stderr}`));
    }, options.timeoutInMs ?? 45_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolveRun({ code, stdout, stderr });
    });
  });
}
