import { setTimeout as sleep } from 'node:timers/promises';

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import type { AttachRequestInput } from '../../shared/model/attachRequest';
import { compactHistory } from './support/invariants';
import { expectCompleted, expectNicHoldsOnce, labOf } from './support/lab';
import { type ReliabilityStack, startReliabilityStack } from './support/reliabilityStack';

/**
 * Single faults, one at a time, each with the outcome it must have: the transient ones end Completed with every
 * address once and every service restarted once; the last two are the faults that exposed (now fixed) bugs.
 */
describe('single faults', () => {
  let stack: ReliabilityStack;
  const { request, waitForEnd, nic, ncLog, machine } = labOf(() => stack);

  beforeAll(async () => {
    stack = await startReliabilityStack({
      env: {
        STEP_LEASE_MS: '3000',
        MACHINE_TASK_REUSE_MS: '0',
        NETWORK_CONTROLLER_TIMEOUT_MS: '1000',
        NETWORK_CONTROLLER_MAX_RETRY_DELAY_MS: '1000',
        ARM_TIMEOUT_MS: '1000',
      },
    });
    await stack.startRunner();
  });
  afterAll(() => stack.stop());
  beforeEach(async () => {
    await stack.ncAdmin('POST', '/_emulator/reset');
    await stack.armAdmin('POST', '/_emulator/reset');
  });

  async function submit(tenantId: string, body: AttachRequestInput): Promise<void> {
    expect((await stack.api('POST', `/tenants/${tenantId}/attachments`, body)).status).toBe(202);
  }

  it('a NIC write whose answer is lost to the client timeout still lands once', async () => {
    // The request waits 1.5 s at the controller, past NETWORK_CONTROLLER_TIMEOUT_MS (1 s), and is then applied.
    await stack.ncAdmin('POST', '/_emulator/faults', {
      method: 'PUT',
      path: '^/networkInterfaces/[^/]+$',
      times: 1,
      latencyInMs: 1_500,
    });
    await submit(
      'f',
      request('f-timeout', { containerIps: { range: { first: '192.168.1.101', last: '192.168.1.102' } } }),
    );
    expectCompleted(await waitForEnd('f', 'f-timeout'));
    const written = await nic('ContainerHostVM1_Net0');
    expectNicHoldsOnce(written, ['192.168.1.101', '192.168.1.102']);
    expect(written.properties.provisioningState).toBe('Succeeded');
  });

  it('a 429 whose Retry-After is longer than the client waits is left to a queue redelivery', async () => {
    // The first NIC read: of the network's NICs (when this process has not read VNet1 yet), or the one before the write.
    await stack.ncAdmin('POST', '/_emulator/faults', {
      method: 'GET',
      path: '^/networkInterfaces/[^/]+$',
      times: 1,
      status: 429,
      retryAfterInSeconds: 3,
    });
    await submit('f', request('f-429', { containerIps: { range: { first: '192.168.1.111', last: '192.168.1.112' } } }));
    const doc = await waitForEnd('f', 'f-429');
    expectCompleted(doc);
    // Not retried inside the invocation (3 s > NETWORK_CONTROLLER_MAX_RETRY_DELAY_MS): the queue brought it back, later
    // than the controller asked.
    const history = doc.history ?? [];
    const retrying = history.find((e) => e.type === 'StepRetrying');
    expect(retrying?.error?.code).toBe('TooManyRequests');
    const next = history[history.indexOf(retrying!) + 1] as { time: string } | undefined;
    const before = retrying as unknown as { time: string };
    expect(Date.parse(next?.time ?? '') - Date.parse(before.time)).toBeGreaterThanOrEqual(3_000);
    expectNicHoldsOnce(await nic('ContainerHostVM1_Net0'), ['192.168.1.111', '192.168.1.112']);
  });

  it('a run command that ends TimedOut is started again; the host agent restarts once', async () => {
    await stack.armAdmin('PUT', '/_emulator/machines/HV01', { runCommandOutcome: 'TimedOut' });
    await submit(
      'f',
      request('f-timedout', { containerIps: { range: { first: '192.168.1.121', last: '192.168.1.122' } } }),
    );
    // Let the first run end TimedOut, then let the machine behave.
    for (let i = 0; i < 100; i++) {
      const host = await machine('HV01');
      if (
        (host as unknown as { runCommands: { executionState: string }[] }).runCommands.some(
          (r) => r.executionState === 'TimedOut',
        )
      )
        break;
      await sleep(100);
    }
    await stack.armAdmin('PUT', '/_emulator/machines/HV01', { runCommandOutcome: null });
    const doc = await waitForEnd('f', 'f-timedout');
    expectCompleted(doc);
    expect(compactHistory(doc)).toContain('StepRetrying enableNetworkProxy #1 dq1 RunCommandTimedOut');
    const host = await machine('HV01');
    expect(host.scriptRuns.filter((r) => r.script === 'enable-network-proxy')).toHaveLength(1);
    expect(host.services.nchostagent?.restartCount).toBe(1);
  });

  // An operation that ends Failed with the retryable code `RetryableError` is forgotten, and the next attempt
  // writes the NIC again (a NIC left Failed is written again even when it already holds the addresses).
  it('a NIC write whose operation ends Failed with RetryableError once is written again and completes', async () => {
    await stack.ncAdmin('POST', '/_emulator/faults', {
      method: 'PUT',
      path: '^/networkInterfaces/[^/]+$',
      times: 1,
      operation: {
        status: 'Failed',
        error: { code: 'RetryableError', message: 'Transient host failure (injected).' },
      },
    });
    await submit(
      'f',
      request('f-opfail', { containerIps: { range: { first: '192.168.1.141', last: '192.168.1.142' } } }),
    );
    const doc = await waitForEnd('f', 'f-opfail');
    const log = await ncLog();
    console.log(
      `operation failed once: ${log.filter((r) => r.method === 'PUT').length} NIC PUT(s), ` +
        `${log.filter((r) => /\/operations\//i.test(r.path)).length} operation GET(s); ${compactHistory(doc)}`,
    );
    expectCompleted(doc);
    expect((await nic('ContainerHostVM1_Net0')).properties.provisioningState).toBe('Succeeded');
  });

  // Two attachments choosing free addresses (`count`) at the same moment in one process reserve their choices
  // before writing, so they never choose the same ones; a conflict with another process chooses again.
  it('two count-based attachments on two NICs of one subnet at once both complete, with distinct addresses', async () => {
    await Promise.all([
      submit('fa', request('count-a', { containerIps: { count: 2 } })),
      submit(
        'fb',
        request('count-b', {
          nic: { resourceId: 'ContainerHostVM2_Net0' },
          containerHost: { machineName: 'ContainerHostVM2' },
          containerIps: { count: 2 },
        }),
      ),
    ]);
    const docs = await Promise.all([waitForEnd('fa', 'count-a', 7_000), waitForEnd('fb', 'count-b', 7_000)]);
    for (const doc of docs) expectCompleted(doc);
    const taken = docs.flatMap((d) => (d.result.ipConfigurations ?? []).map((c) => c.privateIPAddress));
    expect(new Set(taken).size).toBe(4);
  });
});
