import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

import { APP_ROOT } from '../paths';

/** Per function: what the runner's "Executed '<fn>' (Succeeded|Failed, Id=..., Duration=NNms)" lines say. */
export interface InvocationStats {
  succeeded: number;
  failed: number;
  durationsInMs: number[];
}

export interface RunnerProcess {
  apiUrl: string;
  pid: number;
  invocations: Map<string, InvocationStats>;
  /** Attachments the runner's log reports as ended (Completed, or failed for good), keyed tenant/attachment. */
  ended: Set<string>;
  /** When the runner last wrote a line (epoch ms): the driver's sign that it is still working. */
  lastOutputAtInMs(): number;
  /** The last lines, for error reports. */
  tail(): string[];
  stop(): Promise<void>;
}

const EXECUTED = /Executed '([^']+)' \((Succeeded|Failed), Id=[^,]+, Duration=(\d+)ms\)/;
// executeStep logs "[tenant/attachment step delivery n] succeeded; attachment Completed" or "... failed: code".
const ENDED =
  /\[([^/\s\]]+)\/([^\s\]]+) \w+ delivery \d+\] (?:succeeded; attachment Completed|failed(?::| on its last delivery))/;
const READY = /^Runner ready: (\S+)/;
const TAIL_LINES = 60;
const STOP_GRACE_IN_MS = 10_000;

// A bench that dies (error, Ctrl-C) must not leave a runner behind: kill what is still alive, by pid, on exit.
const livePids = new Set<number>();
process.on('exit', () => {
  for (const pid of livePids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
});

/**
 * The product's functions in the local runner, as a child process so the bench can stop it by pid and so its CPU
 * is the app's own. Its stdout is drained line by line (a full pipe would stall the app) and mined for invocation
 * counts and durations, and for attachments that ended, which tells the driver when to read status documents
 * without polling the API during the measurement.
 */
export async function startRunner(env: NodeJS.ProcessEnv, preload: readonly string[] = []): Promise<RunnerProcess> {
  // e.g. BENCH_RUNNER_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' to profile the app during a bench run.
  const nodeArgs = (process.env.BENCH_RUNNER_NODE_ARGS ?? '').split(' ').filter((arg) => arg !== '');
  // Bench-only registrations (the floor's functions) load before the app, into the same registry module.
  const requires = preload.flatMap((file) => ['--require', file]);
  const child: ChildProcess = spawn(
    process.execPath,
    [
      ...nodeArgs,
      ...requires,
      join(APP_ROOT, 'dist', 'dev', 'runner', 'main.js'),
      '--app-root',
      APP_ROOT,
      '--port',
      '0',
    ],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const lines: string[] = [];
  const remember = (line: string): void => {
    lines.push(line);
    if (lines.length > TAIL_LINES * 2) lines.splice(0, lines.length - TAIL_LINES);
  };
  const invocations = new Map<string, InvocationStats>();
  const ended = new Set<string>();
  // e.g. BENCH_RUNNER_LOG=/tmp/runner.log keeps the whole log, stamped with the bench's clock, to follow one message.
  const logFile = process.env.BENCH_RUNNER_LOG ? createWriteStream(process.env.BENCH_RUNNER_LOG) : undefined;
  let lastOutputAtInMs = Date.now();
  const onLine = (line: string): void => {
    lastOutputAtInMs = Date.now();
    remember(line);
    logFile?.write(`${Date.now()} ${line}\n`);
    const executed = EXECUTED.exec(line);
    if (executed) {
      const [, name = '', outcome, duration] = executed;
      let stats = invocations.get(name);
      if (!stats) invocations.set(name, (stats = { succeeded: 0, failed: 0, durationsInMs: [] }));
      if (outcome === 'Succeeded') stats.succeeded++;
      else stats.failed++;
      stats.durationsInMs.push(Number(duration));
      return;
    }
    const end = ENDED.exec(line);
    if (end) ended.add(`${end[1]}/${end[2]}`);
  };
  if (!child.stdout || !child.stderr || child.pid === undefined) throw new Error('could not spawn the runner');
  const pid = child.pid;
  livePids.add(pid);
  child.once('exit', () => livePids.delete(pid));
  createInterface({ input: child.stderr }).on('line', (line) => remember(`[stderr] ${line}`));
  const stdout = createInterface({ input: child.stdout });

  const apiUrl = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`runner exited (${code ?? 'signal'}):\n${lines.join('\n')}`)));
    stdout.on('line', (line) => {
      const ready = READY.exec(line);
      if (ready?.[1]) resolve(ready[1]);
      onLine(line);
    });
  });

  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    process.kill(pid, 'SIGTERM');
    const timer = setTimeout(() => {
      if (child.exitCode === null && child.signalCode === null) process.kill(pid, 'SIGKILL');
    }, STOP_GRACE_IN_MS);
    await exited;
    clearTimeout(timer);
    logFile?.end();
  };
  return {
    apiUrl,
    pid,
    invocations,
    ended,
    lastOutputAtInMs: () => lastOutputAtInMs,
    tail: () => lines.slice(-TAIL_LINES),
    stop,
  };
}
