import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type CliRun, runCliProcess } from '../support/cliProcess';
import { seedRequest } from '../support/seed';
import { type Stack, startStack } from '../support/stack';

/**
 * `sdn-attach` as an operator runs it (the built dist/cli/main.js, output to pipes), against the product as `npm start`
 * runs it: Azurite, the emulators and the runner, with a function key required.
 */
describe('sdn-attach against the running app', () => {
  const key = `key-${randomBytes(12).toString('hex')}`;
  const runs: CliRun[] = [];
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({
      runnerArgs: ['--function-key', key],
      defaultHeaders: { 'x-functions-key': key },
      labTenants: false,
      env: { STATUS_RETRY_AFTER_SECONDS: '1' },
    });
    const registered = await cli(['tenants', 'put', 'contoso', 'examples/tenants/contoso.json']);
    expect(registered.stdout).toMatch(/^Tenant contoso registered \(ETag .+\)\n$/);
  });
  afterAll(() => stack.stop());

  async function cli(args: string[], options: Parameters<typeof runCliProcess>[1] = {}): Promise<CliRun> {
    const run = await runCliProcess(['--api', stack.apiUrl, ...args], {
      ...options,
      env: { SDN_ATTACH_KEY: key, ...options.env },
    });
    runs.push(run);
    return run;
  }

  it('submit --wait runs the seed example through its four steps, one plain line per change, and exits 0', async () => {
    const run = await cli(['submit', 'examples/seed-attach.json', '--tenant', 'contoso', '--id', 'cli-seed', '--wait']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    for (const name of [
      'addIpConfigurations',
      'enableNetworkProxy',
      'installPrivateCloudPlugin',
      'createContainerNetwork',
    ])
      expect(
        lines.filter((l) =>
          new RegExp(`^cli-seed: step \\d/4 ${name} Succeeded \\(attempt 1, \\d+\\.\\ds\\)$`).test(l),
        ),
      ).toHaveLength(1);
    expect(lines.filter((l) => / Succeeded /.test(l))).toHaveLength(4);
    expect(lines.at(-2)).toMatch(/^cli-seed: Completed \(\d+\.\ds\)$/);
    expect(lines.at(-1)).toMatch(
      /^Result: 10 IP configuration\(s\) on ContainerHostVM1_Net0 \(192\.168\.1\.101 … 192\.168\.1\.110\); network MyContainerOverlayNetwork \([0-9a-f]{12}\)$/,
    );
    // Each line is a change: no line repeats, and nothing is drawn for a terminal.
    expect(new Set(lines).size).toBe(lines.length);
    expect(run.stdout).not.toContain('\x1b');
  });

  it('--json prints each changed status document as one JSON line, the last one Completed', async () => {
    const run = await cli(['--json', 'submit', '-', '--tenant', 'contoso', '--id', 'cli-json', '--wait'], {
      stdin: JSON.stringify({ ...seedRequest(), containerIps: { count: 2 }, attachmentId: undefined }),
    });
    expect(run.code).toBe(0);
    const documents = run.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as { id: string; runtimeStatus: string; steps: { status: string }[] });
    expect(documents.length).toBeGreaterThan(1);
    expect(documents.every((d) => d.id === 'cli-json' && d.steps.length === 4)).toBe(true);
    expect(documents.at(-1)).toMatchObject({
      runtimeStatus: 'Completed',
      steps: Array(4).fill({ status: 'Succeeded' }),
    });
    const fromApi = await stack.api('GET', '/tenants/contoso/attachments/cli-json');
    expect(documents.at(-1)).toEqual(fromApi.body);
  });

  it('exits 1 for a Failed attachment, showing the remote system’s code and message', async () => {
    await stack.nc.admin('POST', '/_emulator/faults', {
      method: 'PUT',
      path: '^/networkInterfaces/',
      status: 500,
      error: { code: 'InvalidResourceReference', message: 'The ACL reference is not valid.' },
    });
    try {
      const run = await cli(['submit', '-', '-t', 'contoso', '--id', 'cli-failed', '--wait'], {
        stdin: JSON.stringify({ ...seedRequest(), containerIps: { count: 1 } }),
      });
      expect(run.code).toBe(1);
      expect(run.stdout).toContain('cli-failed: Failed');
      expect(run.stdout).toContain(
        'Failed at step 1/4 addIpConfigurations: NetworkController InvalidResourceReference (HTTP 500): The ACL reference is not valid.',
      );
      const status = await cli(['status', 'contoso', 'cli-failed']);
      expect(status.code).toBe(1);
      expect(status.stdout).toContain('InvalidResourceReference');
    } finally {
      await stack.nc.admin('POST', '/_emulator/reset');
    }
  });

  it('exits 2 with the API’s field details for a bad request, and nothing is stored', async () => {
    const run = await cli(['submit', '-', '--tenant', 'contoso', '--id', 'cli-bad'], {
      stdin: JSON.stringify({ ...seedRequest(), containerIps: { count: 300 }, nic: {} }),
    });
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^Error: InvalidRequest \(HTTP 400\): /);
    expect(run.stderr).toContain('  containerIps.count: ');
    expect(run.stderr).toContain('  nic: give exactly one of resourceId or privateIpAddress (InvalidField)');
    expect((await stack.api('GET', '/tenants/contoso/attachments/cli-bad')).status).toBe(404);

    const filter = await cli(['list', 'contoso', '--status', 'Failed,Finished']);
    expect(filter.code).toBe(2);
    expect(filter.stderr).toContain('  runtimeStatus: unknown value(s) Finished');
  });

  it('exits 2 for usage errors found before anything is sent: unknown option, unreadable file, hostile ids', async () => {
    for (const args of [
      ['submit', 'examples/seed-attach.json'],
      ['status', 'contoso'],
      ['frobnicate'],
      ['submit', 'examples/missing.json', '--tenant', 'contoso'],
      ['submit', 'README.md', '--tenant', 'contoso'],
      ['status', 'contoso', '../../admin/tenants'],
      ['status', 'con%2Ftoso', 'a1'],
    ]) {
      const run = await cli(args);
      expect({ args, code: run.code }).toEqual({ args, code: 2 });
      expect(run.stderr).not.toBe('');
    }
    const keyInUrl = await cli(['--api', `${stack.apiUrl}?code=${key}`, 'list', 'contoso']);
    expect(keyInUrl.code).toBe(2);
  });

  it('exits 2 without a key (the API answers 401), naming the code, and never prints the key it was given', async () => {
    const run = await runCliProcess(['--api', stack.apiUrl, 'list', 'contoso']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^Error: Unauthorized \(HTTP 401\)/);
    const wrong = await cli(['--json', 'status', 'contoso', 'nope']);
    expect(wrong.code).toBe(2);
    expect(JSON.parse(wrong.stderr)).toMatchObject({ error: { code: 'NotFound', status: 404 } });
  });

  it('exits 4 when nothing listens at --api', async () => {
    const port = await closedPort();
    const run = await runCliProcess(['--api', `http://127.0.0.1:${port}/api`, 'status', 'contoso', 'a1'], {
      env: { SDN_ATTACH_KEY: key },
    });
    runs.push(run);
    expect(run.code).toBe(4);
    expect(run.stderr).toBe(`Error: Cannot reach the API at http://127.0.0.1:${port}/api: ECONNREFUSED\n`);
  });

  it('lists with a status filter, and detach --wait ends Detached (exit 0)', async () => {
    const listed = await cli(['list', 'contoso', '--status', 'Completed']);
    expect(listed.code).toBe(0);
    expect(listed.stdout.split('\n')[0]).toMatch(/^ID +STATUS +STEP +UPDATED$/);
    expect(listed.stdout).toMatch(/^cli-seed +Completed /m);
    expect(listed.stdout).not.toContain('cli-failed');

    const detached = await cli(['detach', 'contoso', 'cli-seed', '--wait']);
    expect(detached.code).toBe(0);
    expect(detached.stdout).toMatch(/cli-seed: step detach 2\/2 removeIpConfigurations Succeeded/);
    expect(detached.stdout).toMatch(/^cli-seed: Detached \(/m);
  });

  it('Ctrl-C stops watching (exit 130) and the attachment still completes', async () => {
    // Step 1's NIC write answers after 4 s, so the attachment is still running when Ctrl-C comes.
    await stack.nc.admin('POST', '/_emulator/faults', {
      method: 'PUT',
      path: '^/networkInterfaces/',
      latencyInMs: 4_000,
      times: 1,
    });
    const submitted = await cli(['submit', 'examples/seed-attach.json', '-t', 'contoso', '--id', 'cli-interrupt']);
    expect(submitted.code).toBe(0);
    let interrupted = false;
    const watching = await cli(['watch', 'contoso', 'cli-interrupt'], {
      onStdout: (_chunk, child) => {
        if (!interrupted) child.kill('SIGINT');
        interrupted = true;
      },
    });
    expect(watching.code).toBe(130);
    expect(watching.stderr).toContain('Stopped watching; contoso/cli-interrupt goes on.');
    const status = await stack.waitForEnd('contoso', 'cli-interrupt', 30_000);
    expect(status.runtimeStatus).toBe('Completed');
  });

  it('retry --wait completes a Failed attachment once the fault is gone; cancel of an ended one is a 409 (exit 2)', async () => {
    const retried = await cli(['retry', 'contoso', 'cli-failed', '--wait']);
    expect(retried.code).toBe(0);
    expect(retried.stdout).toMatch(/^cli-failed: step 1\/4 addIpConfigurations Succeeded \(attempt 1, /m);
    expect(retried.stdout).toMatch(/^cli-failed: Completed \(/m);

    const cancel = await cli(['cancel', 'contoso', 'cli-failed']);
    expect(cancel.code).toBe(2);
    expect(cancel.stderr).toMatch(/^Error: AttachmentNotCancelable \(HTTP 409\): /);
  });

  it('manages the registry: list, get with its ETag, create-only refused when present, delete', async () => {
    const put = await cli(['tenants', 'put', 'fabrikam', 'examples/tenants/fabrikam.json', '--create-only']);
    expect(put.code).toBe(0);
    const again = await cli(['tenants', 'put', 'fabrikam', 'examples/tenants/fabrikam.json', '--create-only']);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/^Error: PreconditionFailed \(HTTP 412\)/);

    const listed = await cli(['tenants', 'list']);
    expect(listed.stdout).toMatch(/^TENANT +VIRTUAL NETWORKS +MACHINES +PRINCIPALS\n/);
    expect(listed.stdout).toMatch(/^contoso +default: VNet1 +HV01, ContainerHostVM1, ContainerHostVM2 +0$/m);
    expect(listed.stdout).toMatch(/^fabrikam +default: VNet2 +HV01, FabrikamVM1 +0$/m);

    const got = await cli(['tenants', 'get', 'fabrikam']);
    expect(got.stderr).toMatch(/^ETag: \S+\n$/);
    expect(JSON.parse(got.stdout)).toMatchObject({
      tenantId: 'fabrikam',
      machines: [{ machineName: 'HV01' }, { machineName: 'FabrikamVM1' }],
    });

    expect((await cli(['tenants', 'delete', 'fabrikam'])).stdout).toBe('Tenant fabrikam deleted\n');
    const gone = await cli(['tenants', 'get', 'fabrikam']);
    expect(gone.code).toBe(2);
    expect(gone.stderr).toContain('NotFound (HTTP 404)');
  });

  // Last, over every run above: each got the key through SDN_ATTACH_KEY (and one in --api's query string).
  it('never prints the function key: not in progress lines, --json documents, errors or usage messages', () => {
    expect(runs.length).toBeGreaterThan(15);
    for (const run of runs) expect(`${run.stdout}${run.stderr}`).not.toContain(key);
    expect(runs.some((run) => run.stdout.startsWith('{'))).toBe(true);
    expect(runs.filter((run) => run.code === 2).length).toBeGreaterThan(5);
  });
});

/** A loopback port that nothing listens on: one the system just gave out and took back. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}
