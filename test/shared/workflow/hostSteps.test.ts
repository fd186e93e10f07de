import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import type { RemoteRunClient } from '../../../shared/arc/remoteRun';
import { isKnownError } from '../../../shared/errors';
import { stableUuid } from '../../../shared/ids';
import type { AttachRequestInput } from '../../../shared/model/attachRequest';
import type { TaskWaiter } from '../../../shared/model/MachineTaskStore';
import {
  type AttachmentRecord,
  newAttachmentRecord,
  type RuntimeStatus,
  type StepState,
  withAllSteps,
} from '../../../shared/model/records';
import {
  createContainerNetwork,
  type DetachHostStepDeps,
  enableNetworkProxy,
  type HostStepDeps,
  installPrivateCloudPlugin,
  type NetworkUsers,
  removeContainerNetwork,
} from '../../../shared/workflow/hostSteps';
import type { MachineTaskCheckpoint } from '../../../shared/workflow/machineTask';
import type { StepOutcome, StepRunContext } from '../../../shared/workflow/stepTypes';
import { tenantGuard } from '../../../shared/workflow/tenantGuard';
import { machine, startTestArmEmulator, type TestArmEmulator } from '../../dev/arm/harness';
import { InMemoryMachineTaskStore } from '../../support/InMemoryMachineTaskStore';
import { InMemoryStateStore } from '../../support/InMemoryStateStore';
import { InMemoryTenantStore } from '../../support/InMemoryTenantStore';
import { rejectionOf } from '../../support/rejection';
import { acceptedSeedRequest } from '../../support/seed';
import { exampleTenant, LAB_DEFAULTS, labTenant } from '../../support/tenants';

/** Steps 2-4 with an ARM client that records every call: the registry is checked before any of them. */
function setup(registry: InMemoryTenantStore) {
  const calls: string[] = [];
  const record = (name: string) => () => {
    calls.push(name);
    return Promise.reject(new Error(`${name} must not be called`));
  };
  const runCommands = {
    getMachine: record('getMachine'),
    createOrReplaceRunCommand: record('createOrReplaceRunCommand'),
    getRunCommand: record('getRunCommand'),
    deleteRunCommand: record('deleteRunCommand'),
  } as unknown as RemoteRunClient;
  const deps: HostStepDeps = {
    tasks: {
      tasks: new InMemoryMachineTaskStore(),
      runCommands,
      stableUuid,
      reuseForInMs: 60_000,
      pollIntervalInMs: 10,
      wake: () => Promise.resolve(),
      watch: () => Promise.resolve({ messageId: 'w', popReceipt: 'p' }),
      unwatch: () => Promise.resolve(true),
    },
    defaults: LAB_DEFAULTS,
    authorize: tenantGuard(registry, LAB_DEFAULTS),
  };
  return { deps, calls };
}

function run(): StepRunContext<MachineTaskCheckpoint> {
  return {
    tenantId: 'contoso',
    attachmentId: 'seed-1',
    request: acceptedSeedRequest(),
    attempt: 1,
    steps: withAllSteps({}),
    result: {
      subnet: {
        resourceRef: '/virtualNetworks/VNet1/subnets/Subnet1',
        addressPrefix: '192.168.1.0/24',
        gateway: '192.168.1.1',
      },
    },
    saveCheckpoint: () => Promise.resolve(),
    inlineWaitInMs: 0,
    options: {},
    nowInMs: () => Date.now(),
    sleep: () => Promise.resolve(),
    log: () => undefined,
  };
}

describe('steps 2-4 re-check the machines against the registry before a run command', () => {
  const revoked = (machines: string[]) =>
    InMemoryTenantStore.with({
      contoso: { ...exampleTenant('contoso'), machines: machines.map((machineName) => ({ machineName })) },
    });

  it.each([
    ['enableNetworkProxy', enableNetworkProxy, ['ContainerHostVM1']],
    ['installPrivateCloudPlugin', installPrivateCloudPlugin, ['HV01']],
    ['createContainerNetwork', createContainerNetwork, ['HV01']],
  ] as const)(
    '%s fails TenantNotAuthorized, sending nothing, once a machine left the entry',
    async (_, step, machines) => {
      for (const mode of ['run', 'probe'] as const) {
        const { deps, calls } = setup(revoked([...machines]));
        const error = await step(deps, run(), mode).then(
          () => undefined,
          (caught: unknown) => caught,
        );
        expect(isKnownError(error) && error.code).toBe('TenantNotAuthorized');
        expect(isKnownError(error) && error.retryable).toBe(false);
        expect(calls).toEqual([]);
      }
    },
  );

  it('a tenant removed from the registry runs nothing either', async () => {
    const { deps, calls } = setup(new InMemoryTenantStore());
    await expect(enableNetworkProxy(deps, run())).rejects.toMatchObject({ code: 'TenantNotAuthorized' });
    expect(calls).toEqual([]);
  });
});

describe('removeContainerNetwork: the network goes with its last user, and only then', () => {
  const VM = 'ContainerHostVM1';
  const NETWORK = 'MyContainerOverlayNetwork';
  const MADE = { name: NETWORK, driver: 'l2bridge', subnet: '192.168.1.0/24', gateway: '192.168.1.1' };
  const SUBNET = {
    resourceRef: '/virtualNetworks/VNet1/subnets/Subnet1',
    addressPrefix: '192.168.1.0/24',
    gateway: '192.168.1.1',
  };
  let arm: TestArmEmulator;

  beforeAll(async () => {
    arm = await startTestArmEmulator({ runDurationInMs: 20 });
  });
  afterAll(() => arm.close());
  beforeEach(() => arm.reset());

  /** The removal's deps over a fresh state store (the users) and task store; run commands and wake-ups recorded. */
  function lab(options: { users?: NetworkUsers; defaults?: HostStepDeps['defaults'] } = {}) {
    const store = new InMemoryStateStore();
    const tasks = new InMemoryMachineTaskStore();
    const client = arm.client();
    const started: string[] = [];
    const runCommands: RemoteRunClient = {
      getMachine: (...args) => client.getMachine(...args),
      createOrReplaceRunCommand: (target, name, ...rest) => {
        started.push(name);
        return client.createOrReplaceRunCommand(target, name, ...rest);
      },
      getRunCommand: (...args) => client.getRunCommand(...args),
      deleteRunCommand: (...args) => client.deleteRunCommand(...args),
    };
    const woken: TaskWaiter[] = [];
    const usersAsked: string[] = [];
    const deps: DetachHostStepDeps = {
      tasks: {
        tasks,
        runCommands,
        stableUuid,
        reuseForInMs: 60 * 60_000,
        pollIntervalInMs: 10,
        wake: (waiter) => {
          woken.push(waiter);
          return Promise.resolve();
        },
        watch: () => Promise.resolve({ messageId: 'w', popReceipt: 'p' }),
        unwatch: () => Promise.resolve(true),
      },
      defaults: options.defaults ?? LAB_DEFAULTS,
      authorize: tenantGuard(new InMemoryTenantStore({ lab: () => labTenant() }), LAB_DEFAULTS),
      networkUsers: (machineName, networkName) => {
        usersAsked.push(`${machineName}/${networkName}`);
        return (options.users ?? ((m, n) => store.listContainerNetworkUsers(m, n)))(machineName, networkName);
      },
    };
    return { deps, store, tasks, started, woken, usersAsked };
  }

  /** One delivery of a step for `attachmentId` (contoso's unless told), after step 4 ran unless told otherwise. */
  function runOf(
    attachmentId = 'seed-1',
    options: {
      reachedStep4?: boolean;
      checkpoint?: MachineTaskCheckpoint;
      tenantId?: string;
      request?: Partial<AttachRequestInput>;
    } = {},
  ): StepRunContext<MachineTaskCheckpoint> {
    const run: StepRunContext<MachineTaskCheckpoint> = {
      tenantId: options.tenantId ?? 'contoso',
      attachmentId,
      request: acceptedSeedRequest({ attachmentId, ...options.request }),
      attempt: 1,
      steps: withAllSteps(
        options.reachedStep4 === false ? {} : { createContainerNetwork: { status: 'Succeeded', attempts: 1 } },
      ),
      result: { subnet: SUBNET, ...(options.reachedStep4 === false ? {} : { containerNetwork: MADE }) },
      ...(options.checkpoint ? { checkpoint: options.checkpoint } : {}),
      saveCheckpoint: (next) => {
        run.checkpoint = next;
        return Promise.resolve();
      },
      inlineWaitInMs: 0,
      options: {},
      nowInMs: () => Date.now(),
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      log: () => undefined,
    };
    return run;
  }

  /** Delivers a step again and again, carrying its checkpoint, until it ends (a parked step is not woken here). */
  async function untilDone(
    step: (run: StepRunContext<MachineTaskCheckpoint>) => Promise<StepOutcome<MachineTaskCheckpoint>>,
    run: StepRunContext<MachineTaskCheckpoint>,
  ) {
    for (;;) {
      const outcome = await step(run);
      if (outcome.kind === 'succeeded') return outcome;
      if (outcome.park) throw new Error(`parked: ${outcome.message}`);
      run.checkpoint = outcome.checkpoint;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** Step 4 of an attachment, as the attach ran it: the network on the VM and the creation's task record. */
  async function created(deps: DetachHostStepDeps, attachmentId = 'seed-1') {
    await untilDone((run) => createContainerNetwork(deps, run), runOf(attachmentId));
  }

  const networksOnVm = async () => (await arm.inspect(VM)).dockerNetworks.map((n) => n.name);
  const taskOf = (deps: DetachHostStepDeps) => deps.tasks.tasks.getTask(machine(VM), 'createContainerNetwork', NETWORK);

  /** Another attachment on record, as the state store holds it. */
  function other(
    tenantId: string,
    attachmentId: string,
    runtimeStatus: RuntimeStatus,
    step4: StepState = { status: 'Pending', attempts: 0 },
    request: Partial<AttachRequestInput> = {},
  ): AttachmentRecord {
    const record = newAttachmentRecord(
      tenantId,
      acceptedSeedRequest({ attachmentId, ...request }),
      '2026-11-28T09:00:00.000Z',
    );
    return { ...record, runtimeStatus, steps: { ...record.steps, createContainerNetwork: step4 } };
  }
  const atStep4: StepState = { status: 'Succeeded', attempts: 1 };

  /** What a finished step reports. */
  function detailOf(outcome: StepOutcome<MachineTaskCheckpoint>): Record<string, unknown> {
    if (outcome.kind !== 'succeeded') throw new Error(`expected the step to end, got ${JSON.stringify(outcome)}`);
    return outcome.detail;
  }

  it('removes nothing, and starts nothing, for an attachment that never reached step 4 when no network was made', async () => {
    const { deps, started, tasks, usersAsked } = lab();
    const outcome = await removeContainerNetwork(deps, runOf('seed-1', { reachedStep4: false }));
    expect(outcome).toEqual({
      kind: 'succeeded',
      result: {},
      detail: {
        machine: VM,
        machineResourceGroup: 'sdn-lab',
        network: NETWORK,
        removed: false,
        reason: 'this attachment never reached step 4',
      },
    });
    expect(started).toEqual([]);
    expect(usersAsked).toEqual([`${VM}/${NETWORK}`]);
    expect(tasks.writes).toBe(0);
  });

  it('is the last one out though it never reached step 4: removes the network another attachment made and left for it', async () => {
    const { deps, store, started } = lab();
    await created(deps, 'maker');
    // The maker detached, keeping the network for this attachment, which was still attaching, then failed before step 4.
    await store.createAttachment(other('contoso', 'maker', 'Detached', atStep4), []);
    started.length = 0;
    const outcome = await untilDone(
      (run) => removeContainerNetwork(deps, run),
      runOf('seed-1', { reachedStep4: false }),
    );
    expect(outcome.detail).toMatchObject({
      removed: true,
      scriptResult: { action: 'removed', network: { name: NETWORK, subnet: MADE.subnet, gateway: MADE.gateway } },
    });
    expect(started).toEqual([expect.stringMatching(/^sdnattach-removecontainernetwork-/)]);
    expect(await networksOnVm()).not.toContain(NETWORK);
    expect(await taskOf(deps)).toMatchObject({ status: 'Applied', script: 'remove-container-network' });
  });

  it('never reached step 4 and another attachment still uses the network: kept, nothing started', async () => {
    const { deps, store, started } = lab();
    await created(deps, 'maker');
    await store.createAttachment(other('contoso', 'maker', 'Completed', atStep4), []);
    started.length = 0;
    const outcome = await removeContainerNetwork(deps, runOf('seed-1', { reachedStep4: false }));
    expect(detailOf(outcome)).toMatchObject({ removed: false, reason: 'this attachment never reached step 4' });
    expect(started).toEqual([]);
    expect(await networksOnVm()).toContain(NETWORK);
  });

  it('never reached step 4 and the network was removed already: nothing started', async () => {
    const { deps, started } = lab();
    await created(deps, 'maker');
    await untilDone((run) => removeContainerNetwork(deps, run), runOf('maker'));
    started.length = 0;
    const outcome = await removeContainerNetwork(deps, runOf('seed-1', { reachedStep4: false }));
    expect(detailOf(outcome)).toMatchObject({ removed: false, reason: 'this attachment never reached step 4' });
    expect(started).toEqual([]);
  });

  it('removes the network its step 4 made once nobody else uses it, on the creation’s record, named for its own step', async () => {
    const { deps, started, tasks } = lab();
    await created(deps);
    expect(await networksOnVm()).toContain(NETWORK);
    started.length = 0;
    const writes = tasks.writes;

    const outcome = await untilDone((run) => removeContainerNetwork(deps, run), runOf());
    expect(outcome.detail).toMatchObject({
      machine: VM,
      machineResourceGroup: 'sdn-lab',
      network: NETWORK,
      removed: true,
      script: 'remove-container-network',
      scriptResult: { action: 'removed', network: { name: NETWORK, subnet: MADE.subnet, gateway: MADE.gateway } },
    });
    expect(await networksOnVm()).not.toContain(NETWORK);
    expect(started).toEqual([expect.stringMatching(/^sdnattach-removecontainernetwork-a1-seed-1-/)]);
    // The removal is recorded where the creation was: a creation waits for it, and never reuses it (machineTask).
    expect(await taskOf(deps)).toMatchObject({
      status: 'Applied',
      script: 'remove-container-network',
      appliedBy: { tenantId: 'contoso', attachmentId: 'seed-1' },
    });
    expect(tasks.writes).toBeGreaterThan(writes);
  });

  it('says so when the network was already gone (removed: false)', async () => {
    const { deps } = lab();
    const outcome = await untilDone((run) => removeContainerNetwork(deps, run), runOf());
    expect(outcome.detail).toMatchObject({ removed: false, scriptResult: { action: 'absent', changed: false } });
  });

  it.each<[string, AttachmentRecord]>([
    ['a Completed attachment of the same tenant', other('contoso', 'neighbour', 'Completed', atStep4)],
    ['a Running attachment of another tenant', other('fabrikam', 'f-1', 'Running', atStep4)],
    [
      'a Pending attachment that has not started (its step 4 will use the network)',
      other('fabrikam', 'f-2', 'Pending'),
    ],
    ['an attachment that Failed at step 4', other('contoso', 'failed-4', 'Failed', { status: 'Failed', attempts: 2 })],
    [
      'an attachment Canceled once step 4 had started',
      other('contoso', 'canceled-4', 'Canceled', { status: 'Succeeded', attempts: 1 }),
    ],
    [
      'one naming the machine and network in another case, and the machine’s group in full',
      other('fabrikam', 'f-3', 'Completed', atStep4, {
        containerHost: {
          machineName: 'containerhostvm1',
          resourceGroup: 'SDN-LAB',
          subscriptionId: LAB_DEFAULTS.subscriptionId,
        },
        network: { name: NETWORK.toUpperCase(), driver: 'l2bridge' },
      }),
    ],
  ])('keeps the network for %s, running nothing', async (_, user) => {
    const { deps, store, started, tasks } = lab();
    await store.createAttachment(user, []);
    const outcome = await removeContainerNetwork(deps, runOf());
    expect(outcome).toEqual({
      kind: 'succeeded',
      result: {},
      detail: {
        machine: VM,
        machineResourceGroup: 'sdn-lab',
        network: NETWORK,
        removed: false,
        reason: 'kept, in use by 1 other attachment(s)',
      },
    });
    expect(started).toEqual([]);
    expect(tasks.writes).toBe(0);
  });

  it('counts every other user, across tenants', async () => {
    const { deps, store } = lab();
    for (const user of [
      other('contoso', 'a', 'Completed', atStep4),
      other('fabrikam', 'b', 'Completed', atStep4),
      other('northwind', 'c', 'Running', { status: 'Running', attempts: 1 }),
      other('fabrikam', 'gone', 'Detached', atStep4),
    ])
      await store.createAttachment(user, []);
    expect(detailOf(await removeContainerNetwork(deps, runOf()))).toMatchObject({
      removed: false,
      reason: 'kept, in use by 3 other attachment(s)',
    });
  });

  it('does not count itself, but counts the same attachment id in another tenant', async () => {
    const { deps, store } = lab();
    await store.createAttachment(other('contoso', 'seed-1', 'Completed', atStep4), []);
    expect((await untilDone((run) => removeContainerNetwork(deps, run), runOf())).detail.reason).toBeUndefined();
    await store.createAttachment(other('fabrikam', 'seed-1', 'Completed', atStep4), []);
    expect(detailOf(await removeContainerNetwork(deps, runOf()))).toMatchObject({
      removed: false,
      reason: 'kept, in use by 1 other attachment(s)',
    });
  });

  it.each<[string, AttachmentRecord]>([
    ['a Detaching attachment', other('fabrikam', 'leaving', 'Detaching', atStep4)],
    ['a Detached attachment', other('contoso', 'gone', 'Detached', atStep4)],
    [
      'an attachment whose detach Failed after its step 4 (it let the network go)',
      {
        ...other('fabrikam', 'stuck', 'Failed', atStep4),
        currentStep: 'removeIpConfigurations',
        detachRequested: true,
      },
    ],
    ['an attachment that Failed before step 4', other('contoso', 'failed-1', 'Failed')],
    [
      'an attachment Canceled before step 4',
      other('fabrikam', 'canceled-2', 'Canceled', { status: 'Canceled', attempts: 0 }),
    ],
    [
      'the same machine name in another resource group',
      other('fabrikam', 'elsewhere', 'Completed', atStep4, {
        containerHost: { machineName: VM, resourceGroup: 'other-rg' },
      }),
    ],
    [
      'the same machine name in another subscription',
      other('fabrikam', 'far', 'Completed', atStep4, {
        containerHost: { machineName: VM, subscriptionId: '11111111-1111-1111-1111-111111111111' },
      }),
    ],
    [
      'another network on the same machine',
      other('contoso', 'next-door', 'Completed', atStep4, { network: { name: 'OtherNet', driver: 'l2bridge' } }),
    ],
    [
      'another machine',
      other('contoso', 'vm2', 'Completed', atStep4, { containerHost: { machineName: 'ContainerHostVM2' } }),
    ],
  ])('does not count %s: the network is removed', async (_, record) => {
    const { deps, store } = lab();
    await created(deps);
    await store.createAttachment(record, []);
    const outcome = await untilDone((run) => removeContainerNetwork(deps, run), runOf());
    expect(outcome.detail).toMatchObject({ removed: true });
    expect(await networksOnVm()).not.toContain(NETWORK);
  });

  it('counts a user whose machine it cannot resolve (no default resource group): the network is kept', async () => {
    const { deps, store, started } = lab({ defaults: { subscriptionId: LAB_DEFAULTS.subscriptionId } });
    await store.createAttachment(other('fabrikam', 'vague', 'Completed', atStep4), []);
    const outcome = await removeContainerNetwork(
      deps,
      runOf('seed-1', { request: { containerHost: { machineName: VM, resourceGroup: 'sdn-lab' } } }),
    );
    expect(detailOf(outcome)).toMatchObject({ removed: false, reason: 'kept, in use by 1 other attachment(s)' });
    expect(started).toEqual([]);
  });

  it('counts again once it holds the task: a user that arrived meanwhile keeps the network, the task is given back and its waiters woken', async () => {
    let asked = 0;
    const newcomer = other('fabrikam', 'newcomer', 'Running', { status: 'Running', attempts: 1 });
    let parked: boolean | undefined;
    const t = lab({
      users: async () => {
        if (++asked === 1) return [];
        // Between the first count and the claim, another attachment reached step 4 and parked on the task.
        const waiting = await createContainerNetwork(t.deps, runOf('newcomer', { tenantId: 'fabrikam' }));
        if (waiting.kind !== 'waiting' || !waiting.park) throw new Error('the newcomer should wait for the removal');
        parked = await waiting.park(3);
        return [newcomer];
      },
    });
    await created(t.deps);
    const before = await taskOf(t.deps);
    t.started.length = 0;

    const outcome = await removeContainerNetwork(t.deps, runOf());
    expect(parked).toBe(true);
    expect(outcome).toMatchObject({
      kind: 'succeeded',
      detail: { ran: false, removed: false, reason: 'kept, in use by 1 other attachment(s)', network: NETWORK },
    });
    expect(t.started).toEqual([]);
    expect(await networksOnVm()).toContain(NETWORK);
    // Given back as it was, and the newcomer woken with the re-check it parked for.
    const { etag: _e1, updatedTime: _u1, ...restored } = (await taskOf(t.deps))!;
    const { etag: _e2, updatedTime: _u2, ...original } = before!;
    expect(restored).toEqual(original);
    expect(t.woken).toEqual([
      { tenantId: 'fabrikam', attachmentId: 'newcomer', step: 'createContainerNetwork', recheck: 3 },
    ]);
    expect(await t.tasks.listWaiters(machine(VM), 'createContainerNetwork', NETWORK)).toEqual([]);
    // Woken, the newcomer reuses the network the attach made.
    const woken = await createContainerNetwork(
      t.deps,
      runOf('newcomer', {
        tenantId: 'fabrikam',
        checkpoint: { waitingFor: { tenantId: 'contoso', attachmentId: 'seed-1' } },
      }),
    );
    expect(woken).toMatchObject({ kind: 'succeeded', detail: { reused: true, appliedBy: 'contoso/seed-1' } });
  });

  it('gives back a task that had no record as Failed and unowned, so a waiter may claim it', async () => {
    let asked = 0;
    const t = lab({ users: () => Promise.resolve(++asked === 1 ? [] : [other('fabrikam', 'newcomer', 'Pending')]) });
    const outcome = await removeContainerNetwork(t.deps, runOf());
    expect(detailOf(outcome)).toMatchObject({ ran: false, removed: false });
    const task = await taskOf(t.deps);
    expect(task).toMatchObject({ status: 'Failed' });
    expect(task?.owner).toBeUndefined();
    expect(task?.leaseExpiresAtInMs).toBeUndefined();
    expect(t.started).toEqual([]);
  });

  it('waits, parked under its own step, for a creation under way, and counts its creator once woken', async () => {
    let asked = 0;
    const creator = other('fabrikam', 'creator', 'Running', { status: 'Running', attempts: 1 });
    const t = lab({ users: () => Promise.resolve(++asked === 1 ? [] : [creator]) });
    // The creator claims the task and starts its run.
    const creating = await createContainerNetwork(t.deps, runOf('creator', { tenantId: 'fabrikam' }));
    if (creating.kind !== 'waiting') throw new Error('the creator should be running its script');

    const removal = await removeContainerNetwork(t.deps, runOf());
    if (removal.kind !== 'waiting' || !removal.park) throw new Error('the removal should park');
    expect(removal.checkpoint.waitingFor).toEqual({ tenantId: 'fabrikam', attachmentId: 'creator' });
    expect(await removal.park(2)).toBe(true);
    expect(await t.tasks.listWaiters(machine(VM), 'createContainerNetwork', NETWORK)).toEqual([
      { tenantId: 'contoso', attachmentId: 'seed-1', step: 'removeContainerNetwork', recheck: 2 },
    ]);

    const creatorRun = runOf('creator', { tenantId: 'fabrikam', checkpoint: creating.checkpoint });
    await untilDone((run) => createContainerNetwork(t.deps, run), creatorRun);
    expect(t.woken).toEqual([
      { tenantId: 'contoso', attachmentId: 'seed-1', step: 'removeContainerNetwork', recheck: 2 },
    ]);

    const again = await removeContainerNetwork(t.deps, runOf('seed-1', { checkpoint: removal.checkpoint }));
    expect(detailOf(again)).toMatchObject({ removed: false, reason: 'kept, in use by 1 other attachment(s)' });
    expect(await networksOnVm()).toContain(NETWORK);
  });

  it('refuses, sending nothing, once the container host left the tenant’s entry', async () => {
    const { deps, started, usersAsked } = lab();
    deps.authorize = tenantGuard(
      InMemoryTenantStore.with({ contoso: { ...exampleTenant('contoso'), machines: [{ machineName: 'HV01' }] } }),
      LAB_DEFAULTS,
    );
    await expect(removeContainerNetwork(deps, runOf())).rejects.toMatchObject({ code: 'TenantNotAuthorized' });
    expect(started).toEqual([]);
    expect(usersAsked).toEqual([]);
  });
});

describe('installPrivateCloudPlugin: the script’s permanent failures end the step', () => {
  const VM = 'ContainerHostVM1';
  let arm: TestArmEmulator;

  beforeAll(async () => {
    arm = await startTestArmEmulator({ runDurationInMs: 20 });
  });
  afterAll(() => arm.close());
  beforeEach(() => arm.reset());

  function lab(): HostStepDeps {
    return {
      tasks: {
        tasks: new InMemoryMachineTaskStore(),
        runCommands: arm.client(),
        stableUuid,
        reuseForInMs: 60 * 60_000,
        pollIntervalInMs: 10,
        wake: () => Promise.resolve(),
        watch: () => Promise.resolve({ messageId: 'w', popReceipt: 'p' }),
        unwatch: () => Promise.resolve(true),
      },
      defaults: LAB_DEFAULTS,
      authorize: tenantGuard(new InMemoryTenantStore({ lab: () => labTenant() }), LAB_DEFAULTS),
    };
  }

  /** Delivers step 3 again and again, carrying its checkpoint, until it succeeds or throws. */
  async function deliverUntilDone(deps: HostStepDeps): Promise<StepOutcome<MachineTaskCheckpoint>> {
    const current = run();
    current.saveCheckpoint = (next) => {
      current.checkpoint = next;
      return Promise.resolve();
    };
    for (;;) {
      const outcome = await installPrivateCloudPlugin(deps, current);
      if (outcome.kind === 'succeeded') return outcome;
      current.checkpoint = outcome.checkpoint;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  it('fails with PluginDllMissing, not retryable, and the VM keeps its registry and hns as they were', async () => {
    await arm.setMachine(VM, { files: { 'C:\\Windows\\System32\\PrivateCloudHNSPlugin.dll': false } });
    const before = await arm.inspect(VM);
    const error = await rejectionOf(deliverUntilDone(lab()));
    expect(error).toMatchObject({ code: 'PluginDllMissing', retryable: false, source: 'RunCommand' });
    const after = await arm.inspect(VM);
    expect(after.registry).toEqual(before.registry);
    expect(after.services.hns?.restartCount).toBe(0);
  });

  it('succeeds once the DLL is there, reporting how it reached the hns key', async () => {
    const outcome = await deliverUntilDone(lab());
    expect(outcome.kind).toBe('succeeded');
    if (outcome.kind !== 'succeeded') return;
    expect(outcome.detail).toMatchObject({
      script: 'install-private-cloud-plugin',
      scriptResult: { ok: true, hnsKeyAccess: 'direct', pluginDll: 'C:\\Windows\\System32\\PrivateCloudHNSPlugin.dll' },
    });
  });
});

describe('steps 3-4 in a VM reached through its Hyper-V host', () => {
  let arm: TestArmEmulator;
  beforeAll(async () => {
    arm = await startTestArmEmulator({ runDurationInMs: 20 });
  });
  afterAll(() => arm.close());
  beforeEach(() => arm.reset());

  const PASSWORD = 'Unit-Guest-Passw0rd-5c1e';
  const guestRequest = (attachmentId: string) =>
    acceptedSeedRequest({
      attachmentId,
      containerHost: { vmName: 'ContainerHostVM1', through: 'hyperVHost', credential: { secretName: 'contoso-guest' } },
    });

  function guestLab(password = PASSWORD) {
    const reads: string[] = [];
    const tasks = new InMemoryMachineTaskStore();
    const deps: HostStepDeps = {
      tasks: {
        tasks,
        runCommands: arm.client(),
        stableUuid,
        reuseForInMs: 60_000,
        pollIntervalInMs: 10,
        wake: () => Promise.resolve(),
        watch: () => Promise.resolve({ messageId: 'w', popReceipt: 'p' }),
        unwatch: () => Promise.resolve(true),
        guestCredential: (secretName) => {
          reads.push(secretName);
          return Promise.resolve({ userName: '.\\sdnattach', password });
        },
      },
      defaults: LAB_DEFAULTS,
      authorize: tenantGuard(InMemoryTenantStore.with({ contoso: exampleTenant('contoso') }), LAB_DEFAULTS),
    };
    return { deps, reads, tasks };
  }

  async function toEnd(step: typeof installPrivateCloudPlugin, deps: HostStepDeps, attachmentId: string) {
    let checkpoint: MachineTaskCheckpoint | undefined;
    for (let round = 0; round < 200; round++) {
      const outcome = await step(deps, {
        ...run(),
        attachmentId,
        request: guestRequest(attachmentId),
        checkpoint,
        saveCheckpoint: (saved: MachineTaskCheckpoint) => {
          checkpoint = saved;
          return Promise.resolve();
        },
      });
      if (outcome.kind !== 'waiting') return outcome;
      checkpoint = outcome.checkpoint;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error('the step never ended');
  }

  it('runs on the host, keys the task by the VM, reads the secret once per run and never keeps it', async () => {
    await arm.setMachine('HV01', {
      hostedVms: { ContainerHostVM1: { account: { userName: '.\\sdnattach', password: PASSWORD } } },
    });
    const { deps, reads, tasks } = guestLab();
    const plugin = await toEnd(installPrivateCloudPlugin, deps, 'g-1');
    expect(plugin).toMatchObject({
      kind: 'succeeded',
      detail: { machine: 'HV01', script: 'install-private-cloud-plugin' },
    });
    const network = await toEnd(createContainerNetwork, deps, 'g-1');
    expect(network).toMatchObject({ kind: 'succeeded', result: { containerNetwork: { vmName: 'ContainerHostVM1' } } });
    expect(reads).toEqual(['contoso-guest', 'contoso-guest']);
    expect(await tasks.getTask(machine('HV01'), 'installPrivateCloudPlugin', '(vm)ContainerHostVM1')).toMatchObject({
      status: 'Applied',
    });
    expect(
      await tasks.getTask(
        machine('HV01'),
        'createContainerNetwork',
        '(vm)ContainerHostVM1(network)MyContainerOverlayNetwork',
      ),
    ).toMatchObject({ status: 'Applied' });
    // The host's own step-3 record is not this VM's.
    expect(await tasks.getTask(machine('HV01'), 'installPrivateCloudPlugin', '')).toBeUndefined();

    // A second attachment on the VM reuses the run: no second run, no second read of the secret.
    expect(await toEnd(installPrivateCloudPlugin, deps, 'g-2')).toMatchObject({
      kind: 'succeeded',
      detail: { reused: true },
    });
    expect(reads).toHaveLength(2);
    const records = await Promise.all([
      tasks.getTask(machine('HV01'), 'installPrivateCloudPlugin', '(vm)ContainerHostVM1'),
      tasks.getTask(
        machine('HV01'),
        'createContainerNetwork',
        '(vm)ContainerHostVM1(network)MyContainerOverlayNetwork',
      ),
    ]);
    expect(JSON.stringify([records, plugin, network])).not.toContain(PASSWORD);
  });

  it('fails the step with the guest refusal, permanently, and records the task Failed', async () => {
    const { deps, tasks } = guestLab('not-the-guest-password');
    await expect(toEnd(installPrivateCloudPlugin, deps, 'g-3')).rejects.toMatchObject({
      code: 'GuestCredentialRejected',
      retryable: false,
    });
    expect(await tasks.getTask(machine('HV01'), 'installPrivateCloudPlugin', '(vm)ContainerHostVM1')).toMatchObject({
      status: 'Failed',
      lastError: { code: 'GuestCredentialRejected' },
    });
  });

  it('refuses, reading no secret and sending nothing, once the grant left the tenant’s entry', async () => {
    const { deps, reads } = guestLab();
    deps.authorize = tenantGuard(
      InMemoryTenantStore.with({ contoso: { ...exampleTenant('contoso'), guestCredentials: [] } }),
      LAB_DEFAULTS,
    );
    await expect(toEnd(installPrivateCloudPlugin, deps, 'g-4')).rejects.toMatchObject({ code: 'TenantNotAuthorized' });
    expect(reads).toEqual([]);
    expect((await arm.inspect('HV01')).scriptRuns).toEqual([]);
  });
});
