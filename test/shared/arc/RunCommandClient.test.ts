import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { RunCommandClient } from '../../../shared/arc/RunCommandClient';
import { hostScripts } from '../../../shared/arc/scripts';
import type { RemoteServiceError } from '../../../shared/errors';
import { LAB, machine, startTestArmEmulator, type TestArmEmulator } from '../../dev/arm/harness';
import { rejectionOf } from '../../support/rejection';

let arm: TestArmEmulator;

beforeAll(async () => {
  arm = await startTestArmEmulator();
});
afterAll(() => arm.close());
beforeEach(() => arm.reset());

const rejection = async (promise: Promise<unknown>) => (await rejectionOf(promise)) as RemoteServiceError;

async function faultHits(): Promise<number[]> {
  const response = await arm.raw('GET', '/_emulator/faults');
  return (response.body as { value: { hits: number }[] }).value.map((fault) => fault.hits);
}

const body = {
  location: LAB.location,
  script: hostScripts['enable-network-proxy'].text,
  parameters: [],
  timeoutInSeconds: 60,
};

describe('RunCommandClient', () => {
  it('reads a machine', async () => {
    await arm.setMachine('HV01', { extensionsBlockList: ['Microsoft.Azure.Monitor/AzureMonitorWindowsAgent'] });
    await expect(arm.client().getMachine(machine('HV01'))).resolves.toEqual({
      name: 'HV01',
      location: 'westus2',
      status: 'Connected',
      agentVersion: '1.45.02800.1640',
      extensionsBlockList: ['Microsoft.Azure.Monitor/AzureMonitorWindowsAgent'],
    });
    await expect(arm.client().getMachine(machine('HV02'))).resolves.toMatchObject({ status: 'Disconnected' });
  });

  it('creates, re-runs, reads and deletes a run command', async () => {
    const client = arm.client();
    const first = await client.createOrReplaceRunCommand(machine('HV01'), 'rc-1', body);
    expect(first).toMatchObject({
      created: true,
      retryAfterInMs: 1000,
      runCommand: { name: 'rc-1', provisioningState: 'Creating' },
    });
    expect(first.runCommand.instanceView?.executionState).toBe('Pending');
    expect(first.asyncOperationUrl).toMatch(new RegExp(`^${arm.origin}/subscriptions/.+/operationStatuses/`));
    const again = await client.createOrReplaceRunCommand(machine('HV01'), 'rc-1', body);
    expect(again.created).toBe(false);
    const read = await client.getRunCommand(machine('HV01'), 'RC-1');
    expect(read.name).toBe('rc-1');
    await client.deleteRunCommand(machine('HV01'), 'rc-1');
    await client.deleteRunCommand(machine('HV01'), 'rc-1');
    await expect(client.getRunCommand(machine('HV01'), 'rc-1')).rejects.toMatchObject({
      statusCode: 404,
      code: 'ResourceNotFound',
    });
  });

  it('keeps ARM error code, message, status and request id; 404 is not retryable', async () => {
    const error = await rejection(arm.client().getMachine(machine('HV99')));
    expect(error).toMatchObject({
      name: 'RemoteServiceError',
      source: 'AzureResourceManager',
      code: 'ResourceNotFound',
      statusCode: 404,
      retryable: false,
      method: 'GET',
      path: '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/sdn-lab/providers/Microsoft.HybridCompute/machines/HV99',
    });
    expect(error.message).toMatch(/HV99/);
    expect(error.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('keeps a 400 validation error as it is', async () => {
    const error = await rejection(
      arm.client().createOrReplaceRunCommand(machine('HV01'), 'rc-1', { ...body, location: 'eastus' }),
    );
    expect(error).toMatchObject({
      code: 'InvalidResourceLocation',
      statusCode: 400,
      retryable: false,
      target: 'location',
    });
  });

  it('honours Retry-After on 429', async () => {
    await arm.addFault({ method: 'GET', path: 'machines/HV01$', status: 429, retryAfterInSeconds: 1, times: 1 });
    const started = Date.now();
    await expect(arm.client().getMachine(machine('HV01'))).resolves.toMatchObject({ name: 'HV01' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(await faultHits()).toEqual([1]);
  });

  it('retries 503 and 500 with backoff until they pass', async () => {
    await arm.addFault({ path: 'runCommands/rc-2$', method: 'PUT', status: 503, times: 2 });
    await arm.addFault({ path: 'machines/HV01$', status: 500, times: 1 });
    const client = arm.client();
    await expect(client.getMachine(machine('HV01'))).resolves.toMatchObject({ name: 'HV01' });
    await expect(client.createOrReplaceRunCommand(machine('HV01'), 'rc-2', body)).resolves.toMatchObject({
      created: true,
    });
    expect(await faultHits()).toEqual([2, 1]);
  });

  it('gives up after maxRetries with a retryable error', async () => {
    await arm.addFault({ path: 'machines/HV01$', status: 500, error: { code: 'HCRP500', message: 'backend busy' } });
    const error = await rejection(arm.client({ maxRetries: 2 }).getMachine(machine('HV01')));
    expect(error).toMatchObject({ code: 'HCRP500', message: 'backend busy', statusCode: 500, retryable: true });
    expect(await faultHits()).toEqual([3]);
  });

  it('does not retry 501', async () => {
    await arm.addFault({ path: 'machines/HV01$', status: 501 });
    expect(await rejection(arm.client().getMachine(machine('HV01')))).toMatchObject({
      statusCode: 501,
      retryable: false,
    });
    expect(await faultHits()).toEqual([1]);
  });

  it('leaves a Retry-After longer than maxRetryDelayInMs to the queue', async () => {
    await arm.addFault({ path: 'machines/HV01$', status: 429, retryAfterInSeconds: 30 });
    const error = await rejection(arm.client().getMachine(machine('HV01')));
    expect(error).toMatchObject({ statusCode: 429, retryable: true, retryAfterInMs: 30_000 });
    expect(await faultHits()).toEqual([1]);
  });

  it('times out a slow answer and retries it', async () => {
    await arm.addFault({ path: 'machines/HV01$', latencyInMs: 400, times: 1 });
    await expect(arm.client({ timeoutInMs: 100 }).getMachine(machine('HV01'))).resolves.toMatchObject({ name: 'HV01' });
    await arm.addFault({ path: 'machines/HV01$', latencyInMs: 400, times: 1 });
    const error = await rejection(arm.client({ timeoutInMs: 100, maxRetries: 0 }).getMachine(machine('HV01')));
    expect(error).toMatchObject({ code: 'RequestTimeout', retryable: true });
  });

  it('stops at once when aborted', async () => {
    await arm.addFault({ path: 'machines/HV01$', latencyInMs: 2_000, times: 1 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    await expect(arm.client().getMachine(machine('HV01'), { abortSignal: controller.signal })).rejects.toMatchObject({
      name: 'AbortError',
    });
  });

  it('verifies TLS: without the dev CA the emulator is not trusted, and that is final', async () => {
    const client = new RunCommandClient(arm.origin, { credential: { getToken: () => Promise.resolve(undefined) } });
    expect(await rejection(client.getMachine(machine('HV01')))).toMatchObject({ code: 'TlsError', retryable: false });
    expect(
      () => new RunCommandClient('http://127.0.0.1:1', { credential: { getToken: () => Promise.resolve(undefined) } }),
    ).toThrow(/https/);
  });

  it('sends the bearer token but never puts it in an error', async () => {
    const secret = 'eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.super-secret-token';
    let calls = 0;
    const client = arm.client({
      credential: {
        getToken: (abortSignal) => {
          calls++;
          expect(abortSignal).toBeUndefined();
          return Promise.resolve(secret);
        },
      },
    });
    await expect(client.getMachine(machine('HV01'))).resolves.toMatchObject({ name: 'HV01' });
    await arm.addFault({ path: 'machines/HV01$', status: 500, times: 1 });
    const error = await rejection(client.getMachine(machine('HV99')));
    expect(calls).toBe(2);
    const serialised = JSON.stringify({
      ...error,
      message: error.message,
      stack: error.stack,
      info: error.toErrorInfo(),
    });
    expect(serialised).not.toContain('super-secret-token');
    expect(error.cause).toBeUndefined();
  });

  it('reports a credential failure as retryable AuthenticationFailed', async () => {
    const client = arm.client({
      maxRetries: 0,
      credential: { getToken: () => Promise.reject(new Error('IMDS unavailable')) },
    });
    expect(await rejection(client.getMachine(machine('HV01')))).toMatchObject({
      code: 'AuthenticationFailed',
      retryable: true,
      message: expect.stringContaining('IMDS unavailable') as unknown,
    });
  });

  it('validates names before calling', async () => {
    const client = arm.client();
    await expect(client.getRunCommand(machine('HV01'), 'bad name')).rejects.toMatchObject({ name: 'ValidationError' });
    await expect(client.getMachine({ ...machine('HV01'), subscriptionId: 'x' })).rejects.toMatchObject({
      name: 'ValidationError',
    });
  });
});
