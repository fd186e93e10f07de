import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import type { AttachRequestInput } from '../../shared/model/attachRequest';
import { crashPoints } from './support/crashPoint';
import { ownershipProblems, type StatusDocument } from './support/invariants';
import { expectCompleted, expectDetached, labOf } from './support/lab';
import { type ReliabilityStack, startReliabilityStack } from './support/reliabilityStack';
import { requestDetach } from './support/workload';

const STEP_LEASE_MS = 2_000;
/** A dead runner's messages come back this long after the kill: after the step lease, as the 10-minute lease would. */
const LEASE_SECONDS = STEP_LEASE_MS / 1000 + 1;
const NIC = 'ContainerHostVM1_Net0';
const VM = 'ContainerHostVM1';

/**
 * The runner killed with SIGKILL at exact points of a detach, as crashPoints.test.ts does for attach: inside
 * removeContainerNetwork (right after ARM accepted the remove run, while it runs, after it ended and before its
 * outcome was recorded), between the two detach steps, inside removeIpConfigurations (right after the controller
 * accepted the release write, while its operation is followed), and between storing a detach and enqueuing its first
 * step. One live attachment and one attachment per test share a NIC, each with its own Docker network on the same
 * VM, all attached before the first test. After the restart the detach must end Detached, with nothing of it left on
 * the NIC or the VM, everything of the others in place, and no more remove runs than the crash forces.
 */
describe('detach crash points', () => {
  let stack: ReliabilityStack;
  const { request, waitForEnd, ncLog, machine } = labOf(() => stack);
  const points = crashPoints(() => stack, { leaseSeconds: LEASE_SECONDS });
  const { recover, crashOnQueue } = points;

  /** The live attachment, then one to detach per test, each with two addresses and its own network. */
  const attachments: { attachmentId: string; request: AttachRequestInput }[] = [
    'live',
    'cd-run',
    'cd-follow',
    'cd-outcome',
    'cd-between',
    'cd-put',
    'cd-op',
    'cd-delete',
  ].map((attachmentId, k) => ({
    attachmentId,
    request: request(attachmentId, {
      nic: { resourceId: NIC },
      containerIps: { addresses: [`192.168.1.${100 + 2 * k}`, `192.168.1.${101 + 2 * k}`] },
      network: { name: `CrashNet${k}`, driver: 'l2bridge' },
    }),
  }));
  const docs = new Map<string, StatusDocument>();

  beforeAll(async () => {
    stack = await startReliabilityStack({
      env: { STEP_LEASE_MS: String(STEP_LEASE_MS), MACHINE_TASK_REUSE_MS: '0' },
      ncProxy: points.ncProxy,
      armProxy: points.armProxy,
    });
    await stack.startRunner();
    await Promise.all(
      attachments.map(async ({ attachmentId, request: body }) => {
        expect((await stack.api('POST', '/tenants/cd/attachments', body)).status).toBe(202);
        const doc = await waitForEnd('cd', attachmentId, 60_000);
        expectCompleted(doc);
        docs.set(attachmentId, doc);
      }),
    );
  }, 90_000);
  afterAll(() => stack.stop());
  beforeEach(async () => {
    points.reset();
    await stack.ncAdmin('DELETE', '/_emulator/requests');
    if (!stack.liveRunner()) await stack.startRunner();
  });

  async function detachAfterCrash(attachmentId: string): Promise<StatusDocument> {
    await requestDetach(stack, { tenantId: 'cd', attachmentId });
    await recover();
    const doc = await waitForEnd('cd', attachmentId);
    docs.set(attachmentId, doc);
    return doc;
  }
  /** Nothing of a Detached attachment left, everything of the others in place (support/invariants.ts). */
  async function expectOwnershipKept(): Promise<void> {
    const entries = attachments.map((a) => ({ tenantId: 'cd', ...a, doc: docs.get(a.attachmentId) }));
    expect(await ownershipProblems(stack, entries)).toEqual([]);
  }
  const networkOf = (attachmentId: string) =>
    attachments.find((a) => a.attachmentId === attachmentId)?.request.network.name ?? '';
  /** Runs of the remove script for this attachment's network, by the ARM emulator's run log. */
  const removeRuns = async (attachmentId: string) =>
    (await machine(VM)).scriptRuns.filter(
      (r) => r.script === 'remove-container-network' && r.parameters.NetworkName === networkOf(attachmentId),
    ).length;
  const appliedNicWrites = async () =>
    (await ncLog()).filter((r) => r.method === 'PUT' && /networkInterfaces/i.test(r.path) && r.status < 300);
  const removeRun = /\/machines\/ContainerHostVM1\/runCommands\/sdnattach-removecontainernetwork/i;

  it('removeContainerNetwork: crash right after ARM accepted the remove run command', async () => {
    points.crashAfterArm((r) => r.method === 'PUT' && removeRun.test(r.path));
    expectDetached(await detachAfterCrash('cd-run'));
    await expectOwnershipKept();
    // The run the dead runner started is not known to the next delivery (no checkpoint yet): one more run, which
    // finds the network gone.
    expect(await removeRuns('cd-run')).toBe(2);
    expect(await appliedNicWrites()).toHaveLength(1);
  });

  it('removeContainerNetwork: crash while following the remove script', async () => {
    points.crashAfterArm((r) => r.method === 'GET' && removeRun.test(r.path));
    const doc = await detachAfterCrash('cd-follow');
    expectDetached(doc);
    await expectOwnershipKept();
    // The run was in the checkpoint: the next delivery follows it instead of starting another.
    expect(await removeRuns('cd-follow')).toBe(1);
    expect(doc.detachSteps?.[0]?.detail).toMatchObject({ removed: true });
  });

  it('removeContainerNetwork: crash after the remove script ended and before its outcome was recorded', async () => {
    points.crashAfterArm((r) => r.method === 'DELETE' && removeRun.test(r.path));
    expectDetached(await detachAfterCrash('cd-outcome'));
    await expectOwnershipKept();
    // The outcome died with the runner and the run command was deleted: running the (idempotent) script once more is
    // the only way to learn it.
    expect(await removeRuns('cd-outcome')).toBe(2);
  });

  it('between steps: crash after removeContainerNetwork ended and before the removeIpConfigurations message was sent', async () => {
    crashOnQueue((q) => q.kind === 'send' && q.queue === 'step-remove-ip-configurations');
    const doc = await detachAfterCrash('cd-between');
    expectDetached(doc);
    await expectOwnershipKept();
    expect(await removeRuns('cd-between')).toBe(1);
    expect(await appliedNicWrites()).toHaveLength(1);
    expect(doc.detachSteps?.map((s) => s.attempts)).toEqual([1, 1]);
  });

  it('removeIpConfigurations: crash right after the controller accepted the release write', async () => {
    points.crashAfterController((r) => r.method === 'PUT' && /\/networkInterfaces\/[^/]+$/i.test(r.path));
    expectDetached(await detachAfterCrash('cd-put'));
    await expectOwnershipKept();
    expect(await removeRuns('cd-put')).toBe(1);
    // The write landed before the crash; the next delivery finds nothing left to release and writes nothing.
    expect(await appliedNicWrites()).toHaveLength(1);
  });

  it('removeIpConfigurations: crash while following the release operation', async () => {
    points.crashAfterController((r) => r.method === 'GET' && /\/operations\//i.test(r.path));
    expectDetached(await detachAfterCrash('cd-op'));
    await expectOwnershipKept();
    expect(await removeRuns('cd-op')).toBe(1);
    expect(await appliedNicWrites()).toHaveLength(1);
  });

  // The DELETE stores the detach (Detaching) before the host writes the first detach step's message (output binding).
  // A crash in between leaves the row without a message; the client's retried DELETE finds the step not started and
  // sends it again.
  it('DELETE: crash between storing the detach and enqueuing its first step; the client retries the DELETE', async () => {
    crashOnQueue((q) => q.kind === 'send' && q.queue === 'step-remove-container-network');
    await requestDetach(stack, { tenantId: 'cd', attachmentId: 'cd-delete' }, stack.liveRunner()).catch(
      () => undefined,
    );
    await recover();
    // The client did not get its 202: it sends the same request again.
    await requestDetach(stack, { tenantId: 'cd', attachmentId: 'cd-delete' });
    const doc = await waitForEnd('cd', 'cd-delete');
    docs.set('cd-delete', doc);
    expectDetached(doc);
    await expectOwnershipKept();
    expect(await removeRuns('cd-delete')).toBe(1);
    expect(await appliedNicWrites()).toHaveLength(1);
  });
});
