import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { withPath } from '../support/requests';
import { seedRequest } from '../support/seed';
import { type ApiResponse, base64, type Stack, startStack } from '../support/stack';

interface LoggedRequest {
  method: string;
  path: string;
  status: number;
}

const STEP1_QUEUE = 'step-add-ip-configurations';

function targets(response: ApiResponse): string[] {
  const error = response.body.error as { details?: { target: string }[] } | undefined;
  return (error?.details ?? []).map((d) => d.target);
}

describe('hostile input end to end (Azurite, the runner, the NC and ARM emulators)', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({ waitForEndTimeoutInMs: 40_000 });
  });
  afterAll(() => stack.stop());

  async function rowsOf(tenantId: string) {
    return (await stack.tableRows('attachments')).filter((row) => row.partitionKey === tenantId);
  }

  async function ncWrites(): Promise<LoggedRequest[]> {
    const log = (await stack.nc.admin('GET', '/_emulator/requests')) as LoggedRequest[];
    return log.filter((r) => r.method === 'PUT');
  }

  it('answers 400 naming the field to every broken body over real HTTP, storing and enqueuing nothing', async () => {
    const seed = (id: string) => ({ ...seedRequest(), attachmentId: id });
    const cases: { body: unknown; target: string; code?: string; headers?: Record<string, string> }[] = [
      { body: '{"virtualNetworkId":', target: '(body)', code: 'InvalidJson' },
      { body: 'null', target: '(body)' },
      { body: { ...seed('h-type'), virtualNetworkId: 5 }, target: 'virtualNetworkId' },
      {
        body: JSON.stringify({ ...seed('h-big'), pad: 'x'.repeat(100 * 1024) }),
        target: '(body)',
        code: 'RequestTooLarge',
      },
      {
        body: JSON.stringify({ ...seed('h-big-utf8'), pad: 'é'.repeat(40_000) }),
        target: '(body)',
        code: 'RequestTooLarge',
      },
      { body: withPath('containerIps', { addresses: ['fe80::1'] }, seed('h-v6')), target: 'containerIps.addresses[0]' },
      {
        body: withPath('containerIps', { addresses: ['192.168.1.101', '192.168.1.101'] }, seed('h-dup')),
        target: 'containerIps.addresses[1]',
      },
      {
        body: withPath('containerIps', { range: { first: '192.168.1.20', last: '192.168.1.10' } }, seed('h-range')),
        target: 'containerIps.range.last',
      },
      { body: withPath('network.name', '$(Stop-Computer -Force)', seed('h-ps')), target: 'network.name' },
      { body: withPath('network.name', 'net;rm -rf /', seed('h-sh')), target: 'network.name' },
      { body: withPath('subnetId', "Subnet1' or PartitionKey ne '", seed('h-odata')), target: 'subnetId' },
      { body: withPath('hyperVHost.machineName', 'HV01 & calc', seed('h-host')), target: 'hyperVHost.machineName' },
      { body: withPath('networkController', 'lab', seed('h-nc')), target: 'networkController' },
      {
        body: withPath('networkController', 'https://127.0.0.1:9/networking/v1', seed('h-url')),
        target: 'networkController',
      },
      { body: { ...seed('h-extra'), runAs: 'SYSTEM' }, target: '(body)' },
      { body: { ...seed('h-tenant'), tenantId: 'victim' }, target: '(body)' },
      {
        body: JSON.stringify(seed('h-ctype')),
        target: '(body)',
        code: 'UnsupportedMediaType',
        headers: { 'content-type': 'text/plain' },
      },
    ];
    for (const c of cases) {
      const response = await stack.api('POST', '/tenants/hostile/attachments', c.body, c.headers);
      expect(response.status, JSON.stringify(c.body).slice(0, 80)).toBe(400);
      expect(targets(response)).toContain(c.target);
      if (c.code) expect((response.body.error as { code: string }).code).toBe(c.code);
    }

    const listed = await stack.api('GET', '/tenants/hostile/attachments');
    expect(listed.body.value).toEqual([]);
    expect(await rowsOf('hostile')).toEqual([]);
    expect(await stack.peekRaw(STEP1_QUEUE)).toEqual([]);
  });

  it('refuses a body over the runner’s own 1 MiB limit with 413, and stays up', async () => {
    const response = await stack.api(
      'POST',
      '/tenants/hostile/attachments',
      JSON.stringify({ ...seedRequest(), attachmentId: 'h-huge', pad: 'x'.repeat(2 * 1024 * 1024) }),
    );
    expect(response.status).toBe(413);
    expect(await rowsOf('hostile')).toEqual([]);
    expect(stack.runnerAlive()).toBe(true);
  });

  it('answers traversal and injection in route parameters (DELETE too) with 400 or 404, never another tenant’s data', async () => {
    const victim = await stack.api('POST', '/tenants/victim/attachments', {
      ...seedRequest(),
      attachmentId: 'victim-1',
    });
    expect(victim.status).toBe(202);
    const paths: [string, string][] = [
      ['POST', '/tenants/..%2Fvictim/attachments'],
      ['POST', '/tenants/%2e%2e/attachments'],
      ['POST', '/tenants/victim%00/attachments'],
      ['POST', "/tenants/victim'%20or%20PartitionKey%20ne%20'/attachments"],
      ['GET', '/tenants/..%2Fvictim/attachments/victim-1'],
      ['GET', '/tenants/evil/attachments/..%2F..%2Fvictim%2Fattachments%2Fvictim-1'],
      ['GET', '/tenants/evil/attachments/%2e%2e%2f%2e%2e%2fvictim%2fattachments%2fvictim-1'],
      ['GET', '/tenants/evil/attachments/%252e%252e%252fvictim-1'],
      ['GET', '/tenants/evil/attachments/victim-1%27%20or%20PartitionKey%20ne%20%27'],
      ['GET', '/tenants/%27%20or%20PartitionKey%20ne%20%27/attachments'],
      ['GET', "/tenants/evil'%20or%20'1'%20eq%20'1/attachments"],
      ['GET', '/tenants/victim%2Fattachments%2Fvictim-1/attachments'],
      ['GET', '/tenants/evil%5C..%5Cvictim/attachments'],
      ['POST', '/tenants/evil/attachments/..%2F..%2Fvictim%2Fattachments%2Fvictim-1/cancel'],
      ['POST', '/tenants/evil/attachments/victim-1%00/retry'],
      ['DELETE', '/tenants/evil/attachments/..%2F..%2Fvictim%2Fattachments%2Fvictim-1'],
      ['DELETE', '/tenants/..%2Fvictim/attachments/victim-1'],
      ['DELETE', '/tenants/victim%00/attachments/victim-1'],
      ['DELETE', '/tenants/evil/attachments/victim-1%27%20or%20PartitionKey%20ne%20%27'],
      ['DELETE', "/tenants/victim'%20or%20'1'%20eq%20'1/attachments/victim-1"],
      ['DELETE', '/tenants/evil/attachments/%2e%2e%2f%2e%2e%2fvictim%2fattachments%2fvictim-1'],
    ];
    for (const [method, path] of paths) {
      const body = method === 'POST' && !/cancel|retry/.test(path) ? JSON.stringify(seedRequest()) : undefined;
      const response = await stack.rawRequest(method, path, body);
      expect([400, 404], `${method} ${path} → ${response.status} ${response.text}`).toContain(response.status);
      expect(response.text).not.toContain('victim-1"');
      expect(response.text).not.toMatch(/"runtimeStatus"/);
      if (response.status === 400) {
        const parsed = JSON.parse(response.text) as { error: { details: { target: string }[] } };
        for (const d of parsed.error.details) expect(['tenantId', 'id']).toContain(d.target);
      }
    }
    const tenants = new Set((await stack.tableRows('attachments')).map((r) => r.partitionKey));
    expect([...tenants].every((t) => typeof t === 'string' && /^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(t))).toBe(true);
    // The victim's attachment is untouched by all of that (and has finished before the next test counts NIC writes).
    expect(await stack.waitForEnd('victim', 'victim-1')).toMatchObject({ runtimeStatus: 'Completed' });
  });

  it('fails an address outside the subnet at step 1 with PrivateIPAddressNotInSubnet naming the field, before any write', async () => {
    await stack.nc.admin('DELETE', '/_emulator/requests');
    const cases: { id: string; containerIps: unknown; target: string }[] = [
      {
        id: 'outside-1',
        containerIps: { addresses: ['192.168.1.120', '10.0.0.5'] },
        target: 'containerIps.addresses[1]',
      },
      { id: 'outside-gw', containerIps: { addresses: ['192.168.1.1'] }, target: 'containerIps.addresses[0]' },
      { id: 'outside-bc', containerIps: { addresses: ['192.168.1.255'] }, target: 'containerIps.addresses[0]' },
      {
        id: 'outside-range',
        containerIps: { range: { first: '192.168.1.250', last: '192.168.2.3' } },
        target: 'containerIps.range.last',
      },
    ];
    for (const c of cases) {
      const submitted = await stack.api('POST', '/tenants/subnets/attachments', {
        ...seedRequest(),
        attachmentId: c.id,
        containerIps: c.containerIps,
      });
      expect(submitted.status).toBe(202);
    }
    for (const c of cases) {
      const status = await stack.waitForEnd('subnets', c.id);
      expect(status).toMatchObject({
        runtimeStatus: 'Failed',
        currentStep: 'addIpConfigurations',
        lastError: { code: 'PrivateIPAddressNotInSubnet', retryable: false },
      });
      const steps = status.steps as { name: string; status: string; attempts: number }[];
      expect(steps.map((s) => [s.name, s.status, s.attempts])).toEqual([
        ['addIpConfigurations', 'Failed', 1],
        ['enableNetworkProxy', 'Pending', 0],
        ['installPrivateCloudPlugin', 'Pending', 0],
        ['createContainerNetwork', 'Pending', 0],
      ]);
      const details = (status.lastError as { details: { target: string; message: string }[] }).details;
      expect(details.map((d) => d.target)).toEqual([c.target]);
      expect(details[0]?.message).toMatch(/192\.168\.1\.0\/24/);
    }
    expect(await ncWrites()).toEqual([]);
  });

  it('never completes a network the host must refuse (gateway outside the subnet, a predefined name), and names it', async () => {
    const cases = [
      { id: 'gw-outside', network: { name: 'gwnet', driver: 'l2bridge', gateway: '10.9.9.9' }, target: /gateway$/ },
      { id: 'gw-network', network: { name: 'gwnet2', driver: 'l2bridge', gateway: '192.168.1.0' }, target: /gateway$/ },
      { id: 'name-nat', network: { name: 'nat', driver: 'l2bridge' }, target: /^(network\.name|networkName)$/ },
    ];
    for (const c of cases) {
      const submitted = await stack.api('POST', '/tenants/netcheck/attachments', {
        ...seedRequest(),
        attachmentId: c.id,
        containerIps: { count: 1 },
        network: c.network,
      });
      // 400 at submit would be best; accepted, it must at least end Failed naming the field.
      if (submitted.status === 400) {
        expect(targets(submitted).some((t) => c.target.test(t))).toBe(true);
        continue;
      }
      expect(submitted.status).toBe(202);
      const status = await stack.waitForEnd('netcheck', c.id);
      expect(status.runtimeStatus).toBe('Failed');
      const details = (status.lastError as { details?: { target: string }[] }).details ?? [];
      expect(
        details.some((d) => c.target.test(d.target)),
        JSON.stringify(status.lastError),
      ).toBe(true);
    }
  });

  it('moves every broken entry-queue message to attach-requests-poison with a logged reason, storing nothing', async () => {
    const tenant = 'qtenant';
    const request = (id: string) => ({ schemaVersion: 1, tenantId: tenant, ...seedRequest(), attachmentId: id });
    const raw: string[] = [
      'this is not base64 !!',
      base64('{"tenantId":"qtenant",'),
      base64('[1,2,3]'),
      base64('null'),
      base64(JSON.stringify({ ...request('q-odata'), tenantId: "qtenant' or PartitionKey ne '" })),
      base64(JSON.stringify({ ...request('q-extra'), priority: 'high' })),
      base64(JSON.stringify({ ...request('q-v2'), schemaVersion: 2 })),
      base64(JSON.stringify({ ...request('q-v6'), containerIps: { addresses: ['::ffff:192.168.1.5'] } })),
      base64(JSON.stringify({ ...request('q-ps'), network: { name: '`calc`', driver: 'l2bridge' } })),
    ];
    for (const text of raw) await stack.sendToQueue('attach-requests', text, false);

    const poisoned = await stack.eventually(
      () => stack.peekRaw('attach-requests-poison'),
      (messages) => messages.length >= raw.length,
    );
    expect(poisoned).toHaveLength(raw.length);
    expect(await stack.peekRaw('attach-requests')).toEqual([]);
    expect(await rowsOf(tenant)).toEqual([]);
    const log = stack.output.join('\n');
    expect(log).toContain('Message decoding has failed');
    for (const reason of [
      'must be a JSON object',
      'tenantId',
      'priority',
      'schemaVersion',
      'containerIps.addresses[0]',
      'network.name',
    ]) {
      expect(log).toMatch(new RegExp(`Attach request rejected[^\\n]*${reason.replace(/[.[\]]/g, '\\$&')}`));
    }
    expect(stack.runnerAlive()).toBe(true);

    // The runner still works after all that.
    // Free addresses: every address on a NIC belongs to one attachment, and earlier tests took the seed's.
    await stack.sendToQueue('attach-requests', { ...request('q-ok'), containerIps: { count: 2 } });
    const ok = await stack.waitForEnd(tenant, 'q-ok');
    expect(ok.runtimeStatus).toBe('Completed');
  });

  it('survives broken step-queue messages: logged, no row created, ended attachments untouched', async () => {
    const done = await stack.api('POST', '/tenants/steps/attachments', {
      ...seedRequest(),
      attachmentId: 'step-done',
      containerIps: { count: 2 },
    });
    expect(done.status).toBe(202);
    const before = await stack.waitForEnd('steps', 'step-done');
    expect(before.runtimeStatus).toBe('Completed');
    const rowsBefore = (await stack.tableRows('attachments')).length;
    const outputBefore = stack.output.length;

    const valid = { schemaVersion: 1, tenantId: 'steps', attachmentId: 'step-done', step: 'addIpConfigurations' };
    const raw: string[] = [
      '%%% not base64 %%%',
      base64('{"schemaVersion":1,'),
      base64('"just a string"'),
      base64(JSON.stringify({ ...valid, attachmentId: 'never-submitted' })),
      base64(JSON.stringify({ ...valid, tenantId: "steps' or PartitionKey ne '" })),
      base64(JSON.stringify({ ...valid, attachmentId: '../step-done' })),
      base64(JSON.stringify({ ...valid, step: 'createContainerNetwork' })),
      base64(JSON.stringify({ ...valid, extra: '$(calc)' })),
    ];
    for (const text of raw) await stack.sendToQueue(STEP1_QUEUE, text, false);

    const handled =
      /invalid step message dropped|no such attachment|nothing to do|not a step message|decoding has failed/;
    await stack.eventually(
      () => Promise.resolve(stack.output.slice(outputBefore).filter((l) => handled.test(l)).length),
      (n) => n >= raw.length,
    );
    const queue = await stack.eventually(
      () => stack.peekRaw(STEP1_QUEUE),
      (m) => m.length === 0,
    );
    expect(queue).toEqual([]);
    expect(stack.runnerAlive()).toBe(true);
    expect((await stack.tableRows('attachments')).length).toBe(rowsBefore);
    expect((await stack.tableRows('attachments')).some((r) => r.rowKey === 'never-submitted')).toBe(false);

    const after = await stack.waitForEnd('steps', 'step-done');
    expect(after).toEqual(before);
  });
});
