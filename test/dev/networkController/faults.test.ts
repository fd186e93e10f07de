import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import {
  type Harness,
  match,
  type NicBody,
  type OperationBody,
  SEED_NIC,
  startHarness,
  staticIpConfiguration,
} from './harness';

const NIC_PATH = `/networkInterfaces/${SEED_NIC}`;
const NIC_RULE = '^/networkInterfaces/[^/]+$';

interface FaultListing {
  id: string;
  remaining?: number;
  hits: number;
}

describe('NC emulator: fault injection', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });
  beforeEach(async () => {
    await h.admin('POST', '/reset');
  });

  async function addFault(rule: Record<string, unknown>): Promise<string> {
    const res = await h.admin<{ id: string }>('POST', '/faults', rule);
    expect(res.status).toBe(201);
    return res.body.id;
  }

  async function putSeedNicWithExtraIp(
    extra = 'x',
    address = '192.168.1.101',
  ): Promise<{ status: number; operationUrl: string }> {
    const nic = (await h.api<NicBody>('GET', NIC_PATH)).body;
    const body = {
      ...nic,
      properties: {
        ...nic.properties,
        ipConfigurations: [...nic.properties.ipConfigurations, staticIpConfiguration(extra, address)],
      },
    };
    const res = await h.api<NicBody>('PUT', NIC_PATH, { body });
    return { status: res.status, operationUrl: res.headers['azure-asyncoperation'] ?? '' };
  }

  it('answers the injected status with an error body and Retry-After for the next N matching requests', async () => {
    const id = await addFault({ method: 'get', path: NIC_RULE, times: 2, status: 503, retryAfterInSeconds: 5 });
    for (let i = 0; i < 2; i++) {
      const res = await h.api('GET', NIC_PATH);
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toBe('5');
      expect(res.headers['x-ms-request-id']).toBeDefined();
      expect(res.body.error).toEqual({ code: 'ServiceUnavailable', message: match.string });
    }
    expect((await h.api('GET', NIC_PATH)).status).toBe(200);
    const listed = await h.admin<FaultListing[]>('GET', '/faults');
    expect(listed.body).toEqual([expect.objectContaining({ id, remaining: 0, hits: 2 }) as unknown]);
  });

  it('matches the path case-insensitively, only for the given method, and not for child paths', async () => {
    await addFault({ method: 'PUT', path: NIC_RULE, status: 429 });
    expect((await h.request('GET', `/networking/v1/NETWORKINTERFACES/${SEED_NIC}`)).status).toBe(200);
    expect((await h.api('GET', `${NIC_PATH}/ipConfigurations`)).status).toBe(200);
    const throttled = await h.request('PUT', `/networking/v1/NetworkInterfaces/${SEED_NIC}`, { body: {} });
    expect(throttled.status).toBe(429);
    expect(throttled.body.error.code).toBe('TooManyRequests');
  });

  it.each([
    [500, 'InternalServerError'],
    [409, 'AnotherOperationInProgress'],
    [412, 'PreconditionFailed'],
  ])('defaults the error code for %i to %s, and honours a custom error', async (status, code) => {
    await addFault({ path: '^/virtualNetworks', status, times: 1 });
    expect((await h.api('GET', '/virtualNetworks/VNet1')).body.error.code).toBe(code);
    await addFault({
      path: '^/virtualNetworks',
      status,
      times: 1,
      error: { code: 'RetryableError', message: 'try later' },
    });
    expect((await h.api('GET', '/virtualNetworks/VNet1')).body.error).toEqual({
      code: 'RetryableError',
      message: 'try later',
    });
  });

  it('delays a request by latencyInMs and then processes it normally', async () => {
    await addFault({ path: NIC_RULE, latencyInMs: 150, times: 1 });
    const started = Date.now();
    const res = await h.api('GET', NIC_PATH);
    expect(res.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('never fires a rule with probability 0', async () => {
    await addFault({ path: '.*', probability: 0, status: 500 });
    for (let i = 0; i < 5; i++) expect((await h.api('GET', NIC_PATH)).status).toBe(200);
  });

  it('accepts a write whose operation then fails, leaving the NIC Failed', async () => {
    await addFault({
      method: 'PUT',
      path: NIC_RULE,
      times: 1,
      operation: {
        status: 'Failed',
        error: { code: 'PolicyConfigurationFailure', message: 'VFP rejected the policy' },
      },
    });
    const { status, operationUrl } = await putSeedNicWithExtraIp();
    expect(status).toBe(200);
    expect(await h.waitForOperation(operationUrl)).toEqual({
      status: 'Failed',
      error: { code: 'PolicyConfigurationFailure', message: 'VFP rejected the policy', details: [] },
    });
    const nic = (await h.api<NicBody>('GET', NIC_PATH)).body;
    expect(nic.properties.provisioningState).toBe('Failed');
    expect(nic.properties.ipConfigurations.map((c) => c.properties.provisioningState)).toEqual(['Failed', 'Failed']);
    // The next write is not affected.
    const retry = await putSeedNicWithExtraIp('y', '192.168.1.102');
    expect((await h.waitForOperation(retry.operationUrl)).status).toBe('Succeeded');
  });

  it('reports a canceled DELETE through operations and operationResults', async () => {
    await addFault({
      method: 'DELETE',
      path: NIC_RULE,
      operation: { status: 'Canceled', error: { code: 'Canceled', message: 'superseded' } },
    });
    const res = await h.api('DELETE', NIC_PATH);
    expect(res.status).toBe(202);
    expect((await h.waitForOperation(res.headers['azure-asyncoperation'] ?? '')).status).toBe('Canceled');
    const result = await h.request('GET', new URL(res.headers.location ?? '').pathname);
    expect(result.status).toBe(500);
    expect(result.body.error.code).toBe('Canceled');
    expect((await h.api<NicBody>('GET', NIC_PATH)).body.properties.provisioningState).toBe('Failed');
  });

  it('makes the NIC report an injected configurationState after provisioning', async () => {
    const detailedInfo = [
      { source: 'VirtualSwitch', message: 'Host is not connected', code: 'HostNotConnectedToController' },
    ];
    await addFault({
      method: 'PUT',
      path: NIC_RULE,
      times: 1,
      configurationState: { status: 'Failure', detailedInfo },
    });
    const { operationUrl } = await putSeedNicWithExtraIp();
    expect((await h.waitForOperation(operationUrl)).status).toBe('Succeeded');
    const nic = (await h.api<NicBody>('GET', NIC_PATH)).body;
    expect(nic.properties.provisioningState).toBe('Succeeded');
    expect(nic.properties.configurationState).toEqual({
      status: 'Failure',
      detailedInfo,
      lastUpdatedTime: match.string,
      id: nic.instanceId,
    });
  });

  it('lets faults be listed, removed one by one, and cleared; reset clears them too', async () => {
    const first = await addFault({ path: '^/virtualNetworks', status: 503 });
    await addFault({ path: '^/accessControlLists', status: 503 });
    expect((await h.admin<FaultListing[]>('GET', '/faults')).body).toHaveLength(2);
    expect((await h.admin('DELETE', `/faults/${first}`)).status).toBe(204);
    expect((await h.api('GET', '/virtualNetworks/VNet1')).status).toBe(200);
    expect((await h.api('GET', '/accessControlLists/AllowAll')).status).toBe(503);
    expect((await h.admin('DELETE', '/faults')).status).toBe(204);
    expect((await h.api('GET', '/accessControlLists/AllowAll')).status).toBe(200);
    await addFault({ path: '.*', status: 503 });
    await h.admin('POST', '/reset');
    expect((await h.admin<FaultListing[]>('GET', '/faults')).body).toEqual([]);
  });

  it('rejects malformed fault rules with 400', async () => {
    for (const rule of [{}, { path: '(' }, { path: '.*', status: 200 }, { path: '.*', probability: 2 }]) {
      const res = await h.admin('POST', '/faults', rule);
      expect(res.status, JSON.stringify(rule)).toBe(400);
      expect(res.body.error.code).toBe('InvalidRequestFormat');
    }
  });

  it('PUT /_emulator/settings changes the provisioning delay', async () => {
    const res = await h.request<{ provisioningDelayInMs: number }>('PUT', '/_emulator/settings', {
      body: { provisioningDelayInMs: 0 },
    });
    expect(res.body.provisioningDelayInMs).toBe(0);
    const { operationUrl } = await putSeedNicWithExtraIp();
    expect((await h.waitForOperation(operationUrl)).status).toBe('Succeeded');
    const op = await h.request<OperationBody>('GET', new URL(operationUrl).pathname);
    expect(op.body.status).toBe('Succeeded');
    expect((await h.request('PUT', '/_emulator/settings', { body: { validationStatus: 418 } })).status).toBe(400);
  });
});
