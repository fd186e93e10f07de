import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type RunningAzurite, startAzurite } from '../../../dev/azurite';
import { assertBuilt, FIXTURE_ROOT, REGISTRY_MODULE_PATH, REPO_ROOT, waitFor } from './helpers';

const MAIN_JS = path.join(REPO_ROOT, 'dist', 'dev', 'runner', 'main.js');
let azurite: RunningAzurite;
let child: ChildProcessWithoutNullStreams | undefined;

beforeAll(async () => {
  assertBuilt();
  assertBuilt(MAIN_JS);
  azurite = await startAzurite({ blobPort: 0, queuePort: 0, tablePort: 0 });
});

afterAll(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await azurite?.stop();
});

describe('dev/runner/main (CLI)', () => {
  it('prints one ready line, serves the app, and exits 0 on SIGTERM', async () => {
    child = spawn(
      process.execPath,
      [MAIN_JS, '--app-root', FIXTURE_ROOT, '--port', '0', '--registry-module', REGISTRY_MODULE_PATH],
      { env: { ...process.env, AzureWebJobsStorage: azurite.connectionString }, stdio: 'pipe' },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));

    const ready = await waitFor(`the ready line (stderr: ${stderr})`, () =>
      /Runner ready: (http:\/\/127\.0\.0\.1:\d+\/api) \((\d+) functions\)/.exec(stdout),
    );
    expect(Number(ready[2])).toBeGreaterThan(10);
    expect(stdout.match(/Runner ready:/g)).toHaveLength(1);
    expect(await (await fetch(`${ready[1]}/ping`)).text()).toBe('pong');

    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const [code] = (await exited) as [number | null];
    expect(code).toBe(0);
    expect(stderr).not.toMatch(/Failed to detect the Azure Functions runtime|package is in test mode/);
  });

  it('fails with a clear message when the connection setting is missing', async () => {
    const env = { ...process.env };
    delete env.AzureWebJobsStorage;
    const failing = spawn(
      process.execPath,
      [MAIN_JS, '--app-root', FIXTURE_ROOT, '--port', '0', '--registry-module', REGISTRY_MODULE_PATH],
      { env, stdio: 'pipe' },
    );
    let stderr = '';
    failing.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = (await once(failing, 'exit')) as [number | null];
    expect(code).toBe(1);
    expect(stderr).toContain('"AzureWebJobsStorage" is not set');
  });
});
