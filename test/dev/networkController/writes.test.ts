import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import {
  type AclBody,
  type ErrorBody,
  type Harness,
  type HttpResult,
  type IpConfigurationBody,
  type IpConfigurationInput,
  type ListBody,
  match,
  type NicBody,
  type OperationBody,
  SEED_NIC,
  startHarness,
  staticIpConfiguration,
  type SubnetBody,
} from './harness';

const NIC_PATH = `/networkInterfaces/${SEED_NIC}`;

describe('NC emulator: NIC writes', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });
  beforeEach(async () => {
    await h.admin('POST', '/reset');
    await h.request('PUT', '/_emulator/settings', {
      body: { provisioningDelayInMs: 40, cancelInProgressOnPut: false },
    });
  });

  async function getNic(path = NIC_PATH): Promise<NicBody> {
    const res = await h.api<NicBody>('GET', path);
    expect(res.status).toBe(200);
    return res.body;
  }

  /** The seed NIC as GET returns it plus the given ipConfigurations, the way step 1 builds its PUT. */
  async function nicWith(...extra: IpConfigurationInput[]): Promise<NicBody> {
    const nic = await getNic();
    return {
      ...nic,
      properties: {
        ...nic.properties,
        ipConfigurations: [...nic.properties.ipConfigurations, ...(extra as unknown as IpConfigurationBody[])],
      },
    };
  }

  async function putNic(
    body: unknown,
    headers: Record<string, string> = {},
    path = NIC_PATH,
  ): Promise<HttpResult<NicBody & ErrorBody>> {
    // Either shape, depending on the status the test expects.
    return h.api<NicBody & ErrorBody>('PUT', path, { body, headers });
  }

  async function settle(res: HttpResult<unknown>): Promise<OperationBody> {
    const url = res.headers['azure-asyncoperation'];
    expect(url).toBeDefined();
    return h.waitForOperation(url ?? '');
  }

  function newNic(name: string, ...ipConfigurations: IpConfigurationInput[]): Record<string, unknown> {
    return {
      resourceId: name,
      properties: { privateMacAllocationMethod: 'Static', privateMacAddress: '00155D3801FF', ipConfigurations },
    };
  }

  describe('request format', () => {
    it.each([
      ['no Content-Type', { 'Content-Type': '' }],
      ['text/plain', { 'Content-Type': 'text/plain' }],
      ['application/xml', { 'Content-Type': 'application/xml; charset=utf-8' }],
    ])('answers 500 with an error body for %s', async (_name, headers) => {
      const res = await h.api('PUT', NIC_PATH, { rawBody: JSON.stringify(await getNic()), headers });
      expect(res.status).toBe(500);
      expect(res.body.error.code).toBe('InternalServerError');
      expect(res.body.error.message).toMatch(/Content-Type/);
    });

    it.each(['application/json', 'application/json; charset=UTF-8', 'Application/JSON;charset=utf-8'])(
      'accepts Content-Type %s',
      async (contentType) => {
        const res = await h.api('PUT', NIC_PATH, {
          rawBody: JSON.stringify(await getNic()),
          headers: { 'Content-Type': contentType },
        });
        expect(res.status).toBe(200);
      },
    );

    it('answers 400 InvalidJson to a body that does not parse', async () => {
      const res = await h.api('PUT', NIC_PATH, { rawBody: '{"properties": ' });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('InvalidJson');
    });

    it('matches request property names case-insensitively and stores them in canonical casing', async () => {
      const res = await putNic(
        {
          ResourceID: 'CaseNic',
          Properties: {
            PrivateMacAllocationMethod: 'static',
            PrivateMacAddress: '00155D3801AA',
            IpConfigurations: [
              {
                ResourceId: 'ip0',
                Properties: {
                  PrivateIpAddress: '192.168.1.40',
                  PrivateIPAllocationMethod: 'static',
                  Subnet: { ResourceRef: '/VirtualNetworks/VNet1/Subnets/Subnet1' },
                },
              },
            ],
          },
        },
        {},
        '/networkInterfaces/CaseNic',
      );
      expect(res.status).toBe(201);
      expect(res.body.properties.privateMacAllocationMethod).toBe('Static');
      expect(res.body.properties.ipConfigurations[0]?.properties).toMatchObject({
        privateIPAddress: '192.168.1.40',
        privateIPAllocationMethod: 'Static',
        subnet: { resourceRef: '/VirtualNetworks/VNet1/Subnets/Subnet1' },
      });
      await settle(res);
      const subnet = await h.api<SubnetBody>('GET', '/virtualNetworks/VNet1/subnets/Subnet1');
      expect(subnet.body.properties.ipConfigurations).toContainEqual({
        resourceRef: '/networkInterfaces/CaseNic/ipConfigurations/ip0',
      });
    });
  });

  describe('If-Match / If-None-Match (spec §1.3.1.1)', () => {
    const NEW = '/networkInterfaces/BrandNew_Net0';
    const newBody = (): Record<string, unknown> =>
      newNic('BrandNew_Net0', staticIpConfiguration('ip0', '192.168.1.50'));

    it('without If-Match creates with 201 and replaces with 200', async () => {
      const created = await putNic(newBody(), {}, NEW);
      expect(created.status).toBe(201);
      await settle(created);
      const replaced = await putNic(newBody(), {}, NEW);
      expect(replaced.status).toBe(200);
    });

    it('treats an empty If-Match as absent', async () => {
      expect((await putNic(newBody(), { 'If-Match': '' }, NEW)).status).toBe(201);
    });

    it('If-Match: * fails with 412 when the NIC is missing and succeeds when it exists', async () => {
      const missing = await putNic(newBody(), { 'If-Match': '*' }, NEW);
      expect(missing.status).toBe(412);
      expect(missing.body).toEqual({ error: { code: 'PreconditionFailed', message: match.string } });
      expect((await putNic(await getNic(), { 'If-Match': '*' })).status).toBe(200);
    });

    it('If-Match: <etag> succeeds on the current etag only, compared exactly in weak form', async () => {
      const nic = await getNic();
      expect((await putNic(newBody(), { 'If-Match': nic.etag }, NEW)).status).toBe(412);
      const strong = nic.etag.replace(/^W\//, '');
      expect((await putNic(nic, { 'If-Match': strong })).status).toBe(412);
      const ok = await putNic(nic, { 'If-Match': nic.etag });
      expect(ok.status).toBe(200);
      expect(ok.body.etag).not.toBe(nic.etag);
      await settle(ok);
      const stale = await putNic(nic, { 'If-Match': nic.etag });
      expect(stale.status).toBe(412);
      expect(stale.body.error.code).toBe('PreconditionFailed');
      expect(
        (await putNic(nic, { 'If-Match': `W/"00000000-0000-0000-0000-000000000000", ${ok.body.etag}` })).status,
      ).toBe(200);
    });

    it('If-None-Match: * creates a new NIC and fails with 412 on an existing one', async () => {
      expect((await putNic(newBody(), { 'If-None-Match': '*' }, NEW)).status).toBe(201);
      const existing = await putNic(await getNic(), { 'If-None-Match': '*' });
      expect(existing.status).toBe(412);
      expect(existing.body.error.code).toBe('PreconditionFailed');
    });

    it('DELETE with a stale If-Match gets 412 and leaves the NIC alone', async () => {
      const res = await h.api('DELETE', NIC_PATH, {
        headers: { 'If-Match': 'W/"00000000-0000-0000-0000-000000000000"' },
      });
      expect(res.status).toBe(412);
      expect((await getNic()).properties.provisioningState).toBe('Succeeded');
    });
  });

  it('step 1: adding static ipConfigurations answers 200 Updating with Azure-AsyncOperation, then settles to Succeeded', async () => {
    await h.request('PUT', '/_emulator/settings', { body: { provisioningDelayInMs: 250 } });
    const before = await getNic();
    const body = await nicWith(
      staticIpConfiguration('IP_192_168_1_101', '192.168.1.101'),
      staticIpConfiguration('IP_192_168_1_102', '192.168.1.102'),
    );
    const res = await putNic(body);

    expect(res.status).toBe(200);
    const operationId = res.headers['x-ms-request-id'];
    expect(res.headers['azure-asyncoperation']).toBe(`${h.emulator.baseUrl}/operations/${operationId}`);
    expect(res.headers.location).toBeUndefined();
    expect(res.headers.etag).toBe(res.body.etag);
    expect(res.body.etag).not.toBe(before.etag);
    expect(res.body.instanceId).toBe(before.instanceId);
    expect(res.body.properties.provisioningState).toBe('Updating');
    const ipcs = res.body.properties.ipConfigurations;
    expect(ipcs.map((c) => [c.resourceRef, c.properties.provisioningState, c.etag])).toEqual([
      [`${NIC_PATH}/ipConfigurations/ContainerHostVM1_IP0`, 'Updating', res.body.etag],
      [`${NIC_PATH}/ipConfigurations/IP_192_168_1_101`, 'Updating', res.body.etag],
      [`${NIC_PATH}/ipConfigurations/IP_192_168_1_102`, 'Updating', res.body.etag],
    ]);
    expect(ipcs[0]?.instanceId).toBe(before.properties.ipConfigurations[0]?.instanceId);
    expect(ipcs[1]?.instanceId).toMatch(/^[0-9a-f-]{36}$/);

    const running = await h.api<OperationBody>('GET', `/operations/${operationId}`);
    expect(running.status).toBe(200);
    expect(running.body).toEqual({ status: 'InProgress' });
    expect((await settle(res)).status).toBe('Succeeded');

    const after = await getNic();
    expect(after.etag).toBe(res.body.etag);
    expect(after.properties.provisioningState).toBe('Succeeded');
    expect(after.properties.ipConfigurations.map((c) => c.properties.provisioningState)).toEqual([
      'Succeeded',
      'Succeeded',
      'Succeeded',
    ]);
    expect(after.properties.configurationState).toEqual({
      status: 'Success',
      detailedInfo: [],
      lastUpdatedTime: match.string,
      id: after.instanceId,
    });

    const subnet = await h.api<SubnetBody>('GET', '/virtualNetworks/VNet1/subnets/Subnet1');
    expect(subnet.body.properties.ipConfigurations).toEqual(
      expect.arrayContaining([
        { resourceRef: `${NIC_PATH}/ipConfigurations/IP_192_168_1_101` },
        { resourceRef: `${NIC_PATH}/ipConfigurations/IP_192_168_1_102` },
      ]),
    );
    expect(subnet.body.properties.ipConfigurations).toHaveLength(4);
    const acl = await h.api<AclBody>('GET', '/accessControlLists/AllowAll');
    expect(acl.body.properties.ipConfigurations).toHaveLength(4);
  });

  it('removes ipConfigurations left out of a PUT, with their back-references and addresses', async () => {
    const nic = await getNic();
    const res = await putNic({
      ...nic,
      properties: { ...nic.properties, ipConfigurations: [staticIpConfiguration('Other', '192.168.1.77')] },
    });
    expect(res.status).toBe(200);
    await settle(res);
    expect((await getNic()).properties.ipConfigurations.map((c) => c.resourceId)).toEqual(['Other']);
    const subnet = await h.api<SubnetBody>('GET', '/virtualNetworks/VNet1/subnets/Subnet1');
    expect(subnet.body.properties.ipConfigurations.map((r) => r.resourceRef)).toEqual([
      '/networkInterfaces/ContainerHostVM2_Net0/ipConfigurations/ContainerHostVM2_IP0',
      `${NIC_PATH}/ipConfigurations/Other`,
    ]);
    // 192.168.1.9 is free again.
    const taker = await putNic(
      newNic('Taker', staticIpConfiguration('ip0', '192.168.1.9')),
      {},
      '/networkInterfaces/Taker',
    );
    expect(taker.status).toBe(201);
  });

  it('a new NIC starts Uninitialized, gets Dynamic addresses allocated, then reports Success', async () => {
    const res = await putNic(
      newNic('Dyn_Net0', staticIpConfiguration('s', '192.168.1.2'), {
        resourceId: 'd',
        properties: {
          privateIPAllocationMethod: 'Dynamic',
          subnet: { resourceRef: '/virtualNetworks/VNet1/subnets/Subnet1' },
        },
      }),
      {},
      '/networkInterfaces/Dyn_Net0',
    );
    expect(res.status).toBe(201);
    expect(res.body.properties.configurationState?.status).toBe('Uninitialized');
    // .0 network, .1 gateway, .2 taken by the Static entry later in the same body.
    expect(res.body.properties.ipConfigurations[1]?.properties.privateIPAddress).toBe('192.168.1.3');
    await settle(res);
    const nic = await getNic('/networkInterfaces/Dyn_Net0');
    expect(nic.properties.configurationState?.status).toBe('Success');
    const again = await putNic(nic, {}, '/networkInterfaces/Dyn_Net0');
    expect(again.body.properties.ipConfigurations[1]?.properties.privateIPAddress).toBe('192.168.1.3');
  });

  it('PUT of a single ipConfiguration adds it to the NIC and answers with the child', async () => {
    const res = await h.api<IpConfigurationBody>('PUT', `${NIC_PATH}/ipConfigurations/Extra`, {
      body: staticIpConfiguration('Extra', '192.168.1.60'),
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      resourceRef: `${NIC_PATH}/ipConfigurations/Extra`,
      properties: { provisioningState: 'Updating' },
    });
    expect(res.headers['azure-asyncoperation']).toMatch(/\/operations\//);
    await settle(res);
    const nic = await getNic();
    expect(nic.properties.ipConfigurations.map((c) => c.resourceId)).toEqual(['ContainerHostVM1_IP0', 'Extra']);
    expect(nic.etag).toBe(res.body.etag);
  });

  describe('concurrency', () => {
    it('answers 409 AnotherOperationInProgress with the running operation URI to writes on a busy NIC', async () => {
      // Eight requests must land while the first operation runs; 40 ms is too short on a loaded machine.
      await h.request('PUT', '/_emulator/settings', { body: { provisioningDelayInMs: 1500 } });
      const first = await putNic(await nicWith(staticIpConfiguration('a', '192.168.1.101')));
      expect(first.status).toBe(200);
      const url = first.headers['azure-asyncoperation'] ?? '';
      for (const [method, path] of [
        ['PUT', NIC_PATH],
        ['DELETE', NIC_PATH],
        ['DELETE', `${NIC_PATH}/ipConfigurations/a`],
        ['PUT', `${NIC_PATH}/ipConfigurations/b`],
      ] as const) {
        const body = path === NIC_PATH ? await getNic() : staticIpConfiguration('b', '192.168.1.102');
        const res = await h.api(method, path, method === 'PUT' ? { body } : {});
        expect(res.status, `${method} ${path}`).toBe(409);
        expect(res.body.error.code).toBe('AnotherOperationInProgress');
        expect(res.body.error.message).toContain(url);
      }
      // Other NICs are not locked.
      const other = await h.api<NicBody>('GET', '/networkInterfaces/ContainerHostVM2_Net0');
      expect((await putNic(other.body, {}, '/networkInterfaces/ContainerHostVM2_Net0')).status).toBe(200);
      await settle(first);
      expect((await putNic(await getNic())).status).toBe(200);
    });

    it('with cancelInProgressOnPut, a second PUT cancels the first operation (spec §1.3.3)', async () => {
      await h.request('PUT', '/_emulator/settings', { body: { cancelInProgressOnPut: true } });
      const first = await putNic(await nicWith(staticIpConfiguration('a', '192.168.1.101')));
      const second = await putNic(await getNic());
      expect(second.status).toBe(200);
      const firstOperation = await h.api<OperationBody>('GET', `/operations/${first.headers['x-ms-request-id']}`);
      expect(firstOperation.body).toEqual({
        status: 'Canceled',
        error: { code: 'Canceled', message: match.string, details: [] },
      });
      expect((await settle(second)).status).toBe('Succeeded');
    });

    it('with cancelInProgressOnPut, a PUT refused by validation or If-Match cancels nothing', async () => {
      await h.request('PUT', '/_emulator/settings', {
        body: { cancelInProgressOnPut: true, provisioningDelayInMs: 500 },
      });
      const first = await putNic(await nicWith(staticIpConfiguration('a', '192.168.1.101')));
      const invalid = await putNic(await nicWith(staticIpConfiguration('b', '10.0.0.5')));
      expect(invalid.body.error.code).toBe('PrivateIPAddressNotInSubnet');
      const stale = await putNic(await getNic(), { 'If-Match': 'W/"00000000-0000-0000-0000-000000000000"' });
      expect(stale.status).toBe(412);
      const running = await h.api<OperationBody>('GET', `/operations/${first.headers['x-ms-request-id']}`);
      expect(running.body).toEqual({ status: 'InProgress' });
      expect((await settle(first)).status).toBe('Succeeded');
    });
  });

  describe('idempotent retries by x-ms-client-request-id', () => {
    it('replays the stored response without applying the write again', async () => {
      const id = '7d3c6a8e-2f51-4c1b-9e0f-1a2b3c4d5e6f';
      const body = await nicWith(staticIpConfiguration('a', '192.168.1.101'));
      const first = await putNic(body, { 'x-ms-client-request-id': id });
      expect(first.status).toBe(200);
      const retry = await putNic(body, { 'x-ms-client-request-id': id });
      expect(retry.status).toBe(200);
      expect(retry.text).toBe(first.text);
      expect(retry.headers['x-ms-request-id']).toBe(first.headers['x-ms-request-id']);
      expect(retry.headers['azure-asyncoperation']).toBe(first.headers['azure-asyncoperation']);
      expect(retry.headers.etag).toBe(first.headers.etag);
      expect(retry.headers['x-ms-client-request-id']).toBe(id);
      await settle(first);
      const late = await putNic(await getNic(), { 'x-ms-client-request-id': id });
      expect(late.text).toBe(first.text);
      expect((await getNic()).etag).toBe(first.body.etag);
      // A different id is a new write.
      const fresh = await putNic(await getNic(), { 'x-ms-client-request-id': 'another-id' });
      expect(fresh.body.etag).not.toBe(first.body.etag);
    });

    it('does not remember rejected writes, so a retry after a 409 is evaluated again', async () => {
      const first = await putNic(await getNic());
      const rejected = await putNic(await getNic(), { 'x-ms-client-request-id': 'retry-me' });
      expect(rejected.status).toBe(409);
      await settle(first);
      expect((await putNic(await getNic(), { 'x-ms-client-request-id': 'retry-me' })).status).toBe(200);
    });

    it('replays DELETE too', async () => {
      const first = await h.api('DELETE', NIC_PATH, { headers: { 'x-ms-client-request-id': 'del-1' } });
      expect(first.status).toBe(202);
      const retry = await h.api('DELETE', NIC_PATH, { headers: { 'x-ms-client-request-id': 'del-1' } });
      expect(retry.status).toBe(202);
      expect(retry.headers.location).toBe(first.headers.location);
    });
  });

  describe('DELETE', () => {
    it('answers 204 for a NIC or ipConfiguration that does not exist', async () => {
      expect((await h.api('DELETE', '/networkInterfaces/Nope')).status).toBe(204);
      expect((await h.api('DELETE', `${NIC_PATH}/ipConfigurations/Nope`)).status).toBe(204);
    });

    it('deletes a NIC asynchronously through operationResults', async () => {
      await h.request('PUT', '/_emulator/settings', { body: { provisioningDelayInMs: 200 } });
      const res = await h.api('DELETE', NIC_PATH);
      expect(res.status).toBe(202);
      expect(res.text).toBe('');
      const id = res.headers['x-ms-request-id'] ?? '';
      expect(res.headers.location).toBe(`${h.emulator.baseUrl}/operationResults/${id}`);
      expect(res.headers['azure-asyncoperation']).toBe(`${h.emulator.baseUrl}/operations/${id}`);
      expect(res.headers['retry-after']).toBe('1');

      const deleting = await getNic();
      expect(deleting.properties.provisioningState).toBe('Deleting');
      expect(deleting.properties.ipConfigurations[0]?.properties.provisioningState).toBe('Deleting');
      expect((await h.api('GET', `/operationResults/${id}`)).status).toBe(202);
      expect((await settle(res)).status).toBe('Succeeded');
      const done = await h.api('GET', `/operationResults/${id}`);
      expect(done.status).toBe(204);
      expect(done.text).toBe('');

      expect((await h.api('GET', NIC_PATH)).status).toBe(404);
      expect((await h.api<ListBody<NicBody>>('GET', '/networkInterfaces')).body.value).toHaveLength(3);
      const subnet = await h.api<SubnetBody>('GET', '/virtualNetworks/VNet1/subnets/Subnet1');
      expect(subnet.body.properties.ipConfigurations.map((r) => r.resourceRef)).toEqual([
        '/networkInterfaces/ContainerHostVM2_Net0/ipConfigurations/ContainerHostVM2_IP0',
      ]);
    });

    it('deletes one ipConfiguration: child Deleting, parent Updating with a new etag, then gone', async () => {
      const put = await putNic(
        await nicWith(staticIpConfiguration('a', '192.168.1.101'), staticIpConfiguration('b', '192.168.1.102')),
      );
      await settle(put);
      const res = await h.api('DELETE', `${NIC_PATH}/ipConfigurations/A`);
      expect(res.status).toBe(202);
      expect(res.headers.location).toMatch(/\/operationResults\//);
      const during = await getNic();
      expect(during.etag).not.toBe(put.body.etag);
      expect(during.properties.provisioningState).toBe('Updating');
      expect(
        during.properties.ipConfigurations.map((c) => [c.resourceId, c.properties.provisioningState, c.etag]),
      ).toEqual([
        ['ContainerHostVM1_IP0', 'Succeeded', during.etag],
        ['a', 'Deleting', during.etag],
        ['b', 'Succeeded', during.etag],
      ]);
      expect((await settle(res)).status).toBe('Succeeded');
      expect((await h.api('GET', `${NIC_PATH}/ipConfigurations/a`)).status).toBe(404);
      const after = await getNic();
      expect(after.properties.provisioningState).toBe('Succeeded');
      expect(after.properties.ipConfigurations.map((c) => c.resourceId)).toEqual(['ContainerHostVM1_IP0', 'b']);
      const subnet = await h.api<SubnetBody>('GET', '/virtualNetworks/VNet1/subnets/Subnet1');
      expect(subnet.body.properties.ipConfigurations).not.toContainEqual({
        resourceRef: `${NIC_PATH}/ipConfigurations/a`,
      });
    });
  });
});
