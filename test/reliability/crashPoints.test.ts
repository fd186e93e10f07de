import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import type { AttachRequestInput } from '../../shared/model/attachRequest';
import type { NetworkInterface } from '../../shared/networkController/resources';
import { crashPoints } from './support/crashPoint';
import { type MachineSnapshot } from './support/invariants';
import { expectCompleted, expectNicHoldsOnce, labOf } from './support/lab';
import { type ReliabilityStack, startReliabilityStack } from './support/reliabilityStack';

const STEP_LEASE_MS = 2_000;
/** A dead runner's messages come back this long after the kill: after the step lease, as the 10-minute lease would. */
const LEASE_SECONDS = STEP_LEASE_MS / 1000 + 1;

/**
 * The runner killed with SIGKILL at exact points: right after a remote system acted and before the runner saw the
 * answer, while an operation or run is being followed, between a step's end and the next step's message, and
 * between storing a new attachment and enqueuing its first step. The fault proxies hold the answer (or the queue
 * proxy holds the send) and kill the runner at that moment; a new runner takes over once the dead runner's message
 * leases end.
 */
describe('crash points', () => {
  let stack: ReliabilityStack;
  const { request, waitForEnd, nic, ncLog, machine } = labOf(() => stack);
  const points = crashPoints(() => stack, { leaseSeconds: LEASE_SECONDS });
  const { recover, reached, crashOnQueue } = points;

  beforeAll(async () => {
    stack = await startReliabilityStack({
      env: { STEP_LEASE_MS: String(STEP_LEASE_MS), MACHINE_TASK_REUSE_MS: '0' },
      ncProxy: points.ncProxy,
      armProxy: points.armProxy,
    });
    await stack.startRunner();
  });
  afterAll(() => stack.stop());
  beforeEach(async () => {
    points.reset();
    await stack.ncAdmin('POST', '/_emulator/reset');
    await stack.ncAdmin('DELETE', '/_emulator/requests');
    await stack.armAdmin('POST', '/_emulator/reset');
    if (!stack.liveRunner()) await stack.startRunner();
  });

  async function submit(tenantId: string, body: AttachRequestInput): Promise<void> {
    const answer = await stack.api('POST', `/tenants/${tenantId}/attachments`, body);
    expect(answer.status).toBe(202);
  }
  const appliedNicWrites = async () =>
    (await ncLog()).filter((r) => r.method === 'PUT' && /networkInterfaces/i.test(r.path) && r.status < 300);
  const runsOf = (m: MachineSnapshot, script: string) => m.scriptRuns.filter((r) => r.script === script).length;

  function expectNicWrittenOnce(n: NetworkInterface, wanted: string[]): void {
    expectNicHoldsOnce(n, wanted);
    expect(n.properties.provisioningState).toBe('Succeeded');
  }

  it('step 1: crash right after the controller accepted the NIC write', async () => {
    points.crashAfterController((r) => r.method === 'PUT' && /\/networkInterfaces\/[^/]+$/i.test(r.path));
    await submit(
      'cp',
      request('cp-put', { containerIps: { range: { first: '192.168.1.101', last: '192.168.1.103' } } }),
    );
    await recover();
    expectCompleted(await waitForEnd('cp', 'cp-put'));
    expectNicWrittenOnce(await nic('ContainerHostVM1_Net0'), ['192.168.1.101', '192.168.1.102', '192.168.1.103']);
    expect(await appliedNicWrites()).toHaveLength(1);
  });

  it('step 1: crash while following the controller operation', async () => {
    points.crashAfterController((r) => r.method === 'GET' && /\/operations\//i.test(r.path));
    await submit(
      'cp',
      request('cp-op', { containerIps: { range: { first: '192.168.1.111', last: '192.168.1.112' } } }),
    );
    await recover();
    expectCompleted(await waitForEnd('cp', 'cp-op'));
    expectNicWrittenOnce(await nic('ContainerHostVM1_Net0'), ['192.168.1.111', '192.168.1.112']);
    expect(await appliedNicWrites()).toHaveLength(1);
  });

  it('between steps: crash after step 1 ended and before the step 2 message was sent', async () => {
    crashOnQueue((q) => q.kind === 'send' && q.queue === 'step-enable-network-proxy');
    await submit(
      'cp',
      request('cp-between', { containerIps: { range: { first: '192.168.1.121', last: '192.168.1.122' } } }),
    );
    await recover();
    const doc = await waitForEnd('cp', 'cp-between');
    expectCompleted(doc);
    expect(await appliedNicWrites()).toHaveLength(1);
    expect(doc.steps.map((s) => s.attempts)).toEqual([1, 1, 1, 1]);
  });

  it('step 2: crash right after ARM accepted the run command', async () => {
    points.crashAfterArm((r) => r.method === 'PUT' && /\/machines\/HV01\/runCommands\//i.test(r.path));
    await submit(
      'cp',
      request('cp-run', { containerIps: { range: { first: '192.168.1.131', last: '192.168.1.132' } } }),
    );
    await recover();
    expectCompleted(await waitForEnd('cp', 'cp-run'));
    const host = await machine('HV01');
    // The run the dead runner started is not known to the next delivery (no checkpoint yet): one more, no-op, run.
    expect(runsOf(host, 'enable-network-proxy')).toBeLessThanOrEqual(2);
    expect(host.services.nchostagent?.restartCount).toBe(1);
  });

  it('step 3: crash while following a running script', async () => {
    points.crashAfterArm(
      (r) => r.method === 'GET' && /\/machines\/ContainerHostVM1\/runCommands\/sdnattach-installprivate/i.test(r.path),
    );
    await submit(
      'cp',
      request('cp-follow', { containerIps: { range: { first: '192.168.1.141', last: '192.168.1.142' } } }),
    );
    await recover();
    expectCompleted(await waitForEnd('cp', 'cp-follow'));
    const vm = await machine('ContainerHostVM1');
    expect(runsOf(vm, 'install-private-cloud-plugin')).toBe(1);
    expect(vm.services.hns?.restartCount).toBe(1);
  });

  it('step 4: crash after the script ended and before its outcome was recorded', async () => {
    points.crashAfterArm(
      (r) =>
        r.method === 'DELETE' &&
        /\/machines\/ContainerHostVM1\/runCommands\/sdnattach-createcontainernetwork/i.test(r.path),
    );
    await submit(
      'cp',
      request('cp-outcome', { containerIps: { range: { first: '192.168.1.151', last: '192.168.1.152' } } }),
    );
    await recover();
    expectCompleted(await waitForEnd('cp', 'cp-outcome'));
    const vm = await machine('ContainerHostVM1');
    // The outcome died with the runner and the run command was deleted: running the (idempotent) script once more is
    // the only way to learn it.
    expect(runsOf(vm, 'ensure-container-network')).toBeLessThanOrEqual(2);
    expect(vm.dockerNetworks.filter((n) => n.name === 'MyContainerOverlayNetwork')).toHaveLength(1);
  });

  // The HTTP submit stores the attachment (Pending) before the host writes the first step's message (output binding).
  // A crash in between leaves the row without a message; the client's retried POST finds it Pending and not
  // started, and sends the step again.
  it('submit: crash between storing the attachment and enqueuing step 1; the client retries the POST', async () => {
    crashOnQueue((q) => q.kind === 'send' && q.queue === 'step-add-ip-configurations');
    const body = request('cp-submit', { containerIps: { range: { first: '192.168.1.161', last: '192.168.1.162' } } });
    await stack.api('POST', '/tenants/cp/attachments', body, stack.liveRunner()).catch(() => undefined);
    await recover();
    // The client did not get its 202: it sends the same request again, as the API invites it to.
    const again = await stack.api('POST', '/tenants/cp/attachments', body);
    expect(again.status).toBe(202);
    const doc = await waitForEnd('cp', 'cp-submit');
    expectCompleted(doc);
  });

  // The same gap on the entry queue: the redelivered request finds its attachment Pending and sends step 1 again.
  it('entry queue: crash between storing the attachment and enqueuing step 1', async () => {
    crashOnQueue((q) => q.kind === 'send' && q.queue === 'step-add-ip-configurations');
    const entry = stack.queues().getQueueClient('attach-requests');
    await entry.createIfNotExists();
    const body = request('cp-entry', { containerIps: { range: { first: '192.168.1.171', last: '192.168.1.172' } } });
    await stack.registerLabTenant('cp', body);
    await entry.sendMessage(Buffer.from(JSON.stringify({ tenantId: 'cp', ...body })).toString('base64'));
    await recover();
    const doc = await waitForEnd('cp', 'cp-entry');
    expectCompleted(doc);
  });

  // A delivery that finds the step leased by another invocation ("busy") looks again when the holder should be
  // done, and takes the step over once the lease has run out: the holder may be dead with this its only message (the
  // host abandons a timed-out invocation's message with visibilityTimeout = 5 s while STEP_LEASE_MS is 6 min).
  it('a message back before the dead holder’s step lease ended is not lost', async () => {
    // The host that claims the step leases it for 10 s (as STEP_LEASE_MS = 6 min outlasts a 5-minute timeout).
    await stack.killRunners();
    await stack.startRunner({ STEP_LEASE_MS: '10000' });
    points.crashAfterArm((r) => r.method === 'PUT' && /\/machines\/HV01\/runCommands\//i.test(r.path));
    await submit(
      'cp',
      request('cp-busy', { containerIps: { range: { first: '192.168.1.181', last: '192.168.1.182' } } }),
    );
    await reached();
    // Back after 1 s (an abandoned message returns after visibilityTimeout), while the dead holder's lease holds.
    await stack.queueProxy.expire({ states: ['leased', 'orphaned'], visibleInSeconds: 1 });
    await stack.startRunner();
    const doc = await waitForEnd('cp', 'cp-busy');
    expect(stack.output.some((l) => /cp-busy enableNetworkProxy delivery 2\] busy \(held by /.test(l))).toBe(true);
    expectCompleted(doc);
  });
});
