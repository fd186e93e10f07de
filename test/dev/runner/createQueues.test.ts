import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { QueueServiceClient } from '@azure/storage-queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type RunningAzurite, startAzurite } from '../../../dev/azurite';
import { ATTACH_REQUESTS_QUEUE, MACHINE_TASK_WATCH_QUEUE, poisonQueueOf, STEPS } from '../../../shared/model/steps';
import { type Stack, startStack } from '../../support/stack';
import { assertBuilt, FIXTURE_ROOT, REGISTRY_MODULE_PATH, REPO_ROOT, waitFor } from './helpers';

const MAIN_JS = path.join(REPO_ROOT, 'dist', 'dev', 'runner', 'main.js');

async function queueNames(connectionString: string): Promise<string[]> {
  const names: string[] = [];
  for await (const queue of QueueServiceClient.fromConnectionString(connectionString).listQueues())
    names.push(queue.name);
  return names.sort();
}

/** How many HTTP functions `functions/` registers: the summary line must count exactly these. */
function httpFunctionsInSource(): number {
  const folder = path.join(REPO_ROOT, 'functions');
  return readdirSync(folder)
    .filter((name) => name.endsWith('.ts'))
    .reduce(
      (sum, name) => sum + readFileSync(path.join(folder, name), 'utf8').split('registerHttpFunction(').length - 1,
      0,
    );
}

/** The summary line for `created` new queues and `existing` ones; the HTTP count follows `functions/`. */
function summaryLine(created: number, existing: number): string {
  const http = httpFunctionsInSource();
  return `${http + 26} functions: ${http} HTTP, 26 on queues; queues: ${created} created, ${existing} already there (--verbose lists them).`;
}

/** The lines the runner printed before its ready line, without their timestamps. */
function startupLines(output: readonly string[]): string[] {
  const ready = output.findIndex((line) => line.startsWith('Runner ready:'));
  return output.slice(0, ready).map((line) => line.replace(/^\[[^\]]+\] /, ''));
}

describe('the app under `npm start`’s runner flags (--create-queues, no --verbose)', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ runnerArgs: ['--create-queues'] });
  });
  afterAll(() => stack.stop());

  it('creates every step, entry and poison queue before polling, and prints one summary line instead of details', async () => {
    const expected = [
      ATTACH_REQUESTS_QUEUE,
      MACHINE_TASK_WATCH_QUEUE,
      ...STEPS.flatMap((s) => [s.queueName, s.recheckQueueName]),
    ];
    expect(await queueNames(stack.azurite.connectionString)).toEqual(
      [...expected, ...expected.map(poisonQueueOf)].sort(),
    );
    expect(startupLines(stack.output)).toEqual([summaryLine(28, 0)]);
    // Every listener has polled once by the time an HTTP call went through and a second passed; none found its queue missing.
    await stack.api('GET', '/tenants/contoso/attachments');
    await new Promise((r) => setTimeout(r, 1_000));
    expect(
      stack.output.filter((line) => /does not exist yet|is itself a poison queue|^\S+ Functions:/.test(line)),
    ).toEqual([]);
  });

  it('is idempotent: a restart on the same storage creates nothing and keeps the messages waiting', async () => {
    await stack.stopRunner();
    await stack.sendToQueue('machine-task-watch-poison', { note: 'kept' });
    stack.output.length = 0;
    await stack.startRunner();
    expect(startupLines(stack.output)).toEqual([summaryLine(0, 28)]);
    expect(await stack.peekQueue('machine-task-watch-poison')).toEqual(['{"note":"kept"}']);
  });
});

describe('dev/runner/main --create-queues --verbose', () => {
  let azurite: RunningAzurite;
  let child: ChildProcessWithoutNullStreams | undefined;
  beforeAll(async () => {
    assertBuilt(MAIN_JS);
    azurite = await startAzurite({ blobPort: 0, queuePort: 0, tablePort: 0 });
  });
  afterAll(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await azurite?.stop();
  });

  it('lists every function and each queue it created; a name too long for a poison queue is still a warning', async () => {
    child = spawn(
      process.execPath,
      [
        MAIN_JS,
        '--app-root',
        FIXTURE_ROOT,
        '--port',
        '0',
        '--registry-module',
        REGISTRY_MODULE_PATH,
        '--create-queues',
        '--verbose',
      ],
      { env: { ...process.env, AzureWebJobsStorage: azurite.connectionString }, stdio: 'pipe' },
    );
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    await waitFor('the ready line', () => stdout.includes('Runner ready:'));
    const lines = startupLines(stdout.split('\n'));
    const created = await queueNames(azurite.connectionString);
    expect(created).toContain('runner-chain-1');
    expect(created).toContain('runner-chain-1-poison');
    for (const name of created) expect(lines).toContain(`Queue '${name}' created.`);
    expect(lines).toContain('Functions:');
    expect(lines).toContain("  chainStep1: queueTrigger 'runner-chain-1'");
    expect(lines.filter((l) => l.includes('is too long for a poison queue'))).toHaveLength(1);
    expect(lines.find((l) => /^\d+ functions: /.test(l))).toMatch(
      new RegExp(`; queues: ${created.length} created, 0 already there\\.$`),
    );
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
  });
});
