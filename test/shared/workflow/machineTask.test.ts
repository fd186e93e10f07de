import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { RemoteRunClient } from '../../../shared/arc/remoteRun';
import {
  enableNetworkProxyScript,
  ensureContainerNetworkScript,
  removeContainerNetworkScript,
} from '../../../shared/arc/scripts';
import { stableUuid } from '../../../shared/ids';
import type { TaskWaiter } from '../../../shared/model/MachineTaskStore';
import type { MachineTaskWatchMessage, SentMessageReceipt } from '../../../shared/model/messages';
import { withAllSteps } from '../../../shared/model/records';
import {
  type MachineTaskCheckpoint,
  type MachineTaskDeps,
  type MachineTaskSpec,
  reusedMachineTask,
  runMachineTask,
} from '../../../shared/workflow/machineTask';
import { watchMachineTask } from '../../../shared/workflow/machineTaskWatch';
import type { StepOutcome, StepRunContext } from '../../../shared/workflow/stepTypes';
import { machine, startTestArmEmulator, type TestArmEmulator } from '../../dev/arm/harness';
import { InMemoryMachineTaskStore } from '../../support/InMemoryMachineTaskStore';

let arm: TestArmEmulator;
beforeAll(async () => {
  arm = await startTestArmEmulator({ runDurationInMs: 150 });
});
afterAll(() => arm.close());

/** Machine-task deps on a fresh in-memory task store and the ARM emulator; wake-ups and watches are recorded, not sent. */
function lab(options: { runCommands?: RemoteRunClient; wake?: (waiter: TaskWaiter) => Promise<void> } = {}) {
  const tasks = new InMemoryMachineTaskStore();
  const woken: TaskWaiter[] = [];
  const watches: { message: MachineTaskWatchMessage; delayInMs: number; receipt: SentMessageReceipt }[] = [];
  const unwatched: SentMessageReceipt[] = [];
  const deps: MachineTaskDeps = {
    tasks,
    runCommands: options.runCommands ?? arm.client(),
    stableUuid,
    reuseForInMs: 60 * 60_000,
    pollIntervalInMs: 20,
    wake:
      options.wake ??
      ((waiter) => {
        woken.push(waiter);
        return Promise.resolve();
      }),
    watch: (message, delayInMs) => {
      const receipt = { messageId: `watch-${watches.length + 1}`, popReceipt: 'pop' };
      watches.push({ message, delayInMs, receipt });
      return Promise.resolve(receipt);
    },
    unwatch: (receipt) => {
      unwatched.push(receipt);
      return Promise.resolve(true);
    },
  };
  return { deps, tasks, woken, watches, unwatched };
}

const spec: MachineTaskSpec<Record<string, never>> = {
  step: 'enableNetworkProxy',
  machine: machine('HV01'),
  subject: '',
  script: enableNetworkProxyScript,
  input: {},
};

/** One delivery's view of the step, carrying the checkpoint the previous delivery left. */
function runFor(attachmentId: string, checkpoint?: MachineTaskCheckpoint): StepRunContext<MachineTaskCheckpoint> {
  const run: StepRunContext<MachineTaskCheckpoint> = {
    tenantId: 'contoso',
    attachmentId,
    request: {} as StepRunContext<MachineTaskCheckpoint>['request'],
    attempt: 1,
    steps: withAllSteps({}),
    result: {},
    checkpoint,
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

type Waiting = Extract<StepOutcome<MachineTaskCheckpoint>, { kind: 'waiting' }>;

function waiting(outcome: StepOutcome<MachineTaskCheckpoint>): Waiting {
  if (outcome.kind !== 'waiting') throw new Error(`expected waiting, got ${JSON.stringify(outcome)}`);
  return outcome;
}

/** Looks at the owner's run the way its re-checks would, until the step is done. */
async function ownerUntilDone(deps: MachineTaskDeps, checkpoint: MachineTaskCheckpoint) {
  let outcome: StepOutcome<MachineTaskCheckpoint> = { kind: 'waiting', checkpoint, checkAfterInMs: 0, message: '' };
  while (outcome.kind === 'waiting') {
    await new Promise((resolve) => setTimeout(resolve, 25));
    outcome = await runMachineTask(deps, runFor('owner', outcome.checkpoint), spec);
  }
  return outcome;
}

describe('runMachineTask: steps waiting on another attachment’s run', () => {
  it('parks instead of polling, and the owner wakes each waiter with its re-check number when the run ends', async () => {
    const { deps, tasks, woken, watches, unwatched } = lab();
    const started = waiting(await runMachineTask(deps, runFor('owner'), spec));
    expect(started.park).toBeUndefined();

    const first = waiting(await runMachineTask(deps, runFor('w1'), spec));
    const second = waiting(await runMachineTask(deps, runFor('w2'), spec));
    expect(first.checkpoint.waitingFor).toEqual({ tenantId: 'contoso', attachmentId: 'owner' });
    // The waiters send nothing: the run's one watch, sent by its owner, stands in for all of them.
    expect(watches).toEqual([
      {
        message: {
          schemaVersion: 1,
          tenantId: 'contoso',
          attachmentId: 'owner',
          step: 'enableNetworkProxy',
          machine: spec.machine,
          subject: '',
        },
        delayInMs: 60_000,
        receipt: { messageId: 'watch-1', popReceipt: 'pop' },
      },
    ]);
    expect(started.checkpoint.watch).toEqual({ messageId: 'watch-1', popReceipt: 'pop' });
    expect(await first.park?.(1)).toBe(true);
    expect(await second.park?.(4)).toBe(true);
    expect(woken).toEqual([]);

    const done = await ownerUntilDone(deps, started.checkpoint);
    expect(done).toMatchObject({ kind: 'succeeded', detail: { reused: false } });
    // Outcome recorded and waiters woken: the watch is deleted before it is due.
    expect(unwatched).toEqual([{ messageId: 'watch-1', popReceipt: 'pop' }]);
    expect(watches).toHaveLength(1);
    expect(woken).toEqual([
      { tenantId: 'contoso', attachmentId: 'w1', step: 'enableNetworkProxy', recheck: 1 },
      { tenantId: 'contoso', attachmentId: 'w2', step: 'enableNetworkProxy', recheck: 4 },
    ]);
    expect(await tasks.listWaiters(spec.machine, spec.step, spec.subject)).toEqual([]);
    // Woken, the waiter takes the run it waited for.
    expect(await runMachineTask(deps, runFor('w1', first.checkpoint), spec)).toMatchObject({
      kind: 'succeeded',
      detail: { reused: true, appliedBy: 'contoso/owner' },
    });
  });

  it('does not park when the run ended between its look and its row (nothing would wake it)', async () => {
    const { deps, tasks, woken } = lab();
    const started = waiting(await runMachineTask(deps, runFor('owner'), spec));
    const late = waiting(await runMachineTask(deps, runFor('late'), spec));
    await ownerUntilDone(deps, started.checkpoint);
    expect(woken).toEqual([]);

    expect(await late.park?.(1)).toBe(false);
    expect(await tasks.listWaiters(spec.machine, spec.step, spec.subject)).toEqual([]);
  });

  it('wakes the waiters when the owner’s run fails, so one of them can try the machine', async () => {
    let releaseStart!: () => void;
    const startGate = new Promise<void>((resolve) => (releaseStart = resolve));
    const client = arm.client();
    await arm.setMachine('HV01', { status: 'Disconnected' });
    try {
      // The owner has claimed the machine and is about to find it Disconnected when the waiter parks.
      const gated: RemoteRunClient = {
        getMachine: async (...args) => {
          await startGate;
          return client.getMachine(...args);
        },
        createOrReplaceRunCommand: (...args) => client.createOrReplaceRunCommand(...args),
        getRunCommand: (...args) => client.getRunCommand(...args),
        deleteRunCommand: (...args) => client.deleteRunCommand(...args),
      };
      const { deps, woken } = lab({ runCommands: gated });
      const owner = runMachineTask(deps, runFor('owner'), spec);
      let parked: boolean | undefined;
      for (let i = 0; i < 100 && parked === undefined; i++) {
        const outcome = await runMachineTask({ ...deps, runCommands: client }, runFor('w1'), spec);
        if (outcome.kind === 'waiting' && outcome.park) parked = await outcome.park(2);
        else await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(parked).toBe(true);
      releaseStart();
      await expect(owner).rejects.toMatchObject({ code: 'MachineNotConnected' });
      expect(woken).toEqual([{ tenantId: 'contoso', attachmentId: 'w1', step: 'enableNetworkProxy', recheck: 2 }]);
    } finally {
      releaseStart();
      await arm.setMachine('HV01', { status: 'Connected' });
    }
  });

  it('an owner that recorded its run but died before waking anyone wakes them on its redelivery', async () => {
    let failWake = true;
    const woken: TaskWaiter[] = [];
    const { deps, tasks } = lab({
      wake: (waiter) => {
        if (failWake) return Promise.reject(new Error('host died'));
        woken.push(waiter);
        return Promise.resolve();
      },
    });
    const started = waiting(await runMachineTask(deps, runFor('owner'), spec));
    expect(await waiting(await runMachineTask(deps, runFor('w1'), spec)).park?.(1)).toBe(true);
    await expect(ownerUntilDone(deps, started.checkpoint)).rejects.toThrow('host died');
    expect((await tasks.getTask(spec.machine, spec.step, spec.subject))?.status).toBe('Applied');

    failWake = false;
    // The probe leaves the owner's redelivery to the full path, which still has the waiters to wake...
    expect(await reusedMachineTask(deps, runFor('owner', started.checkpoint), spec)).toBeUndefined();
    // ...where the finished run command is gone, and the record says the run succeeded.
    expect(await runMachineTask(deps, runFor('owner', started.checkpoint), spec)).toMatchObject({
      kind: 'succeeded',
    });
    expect(woken).toEqual([{ tenantId: 'contoso', attachmentId: 'w1', step: 'enableNetworkProxy', recheck: 1 }]);
    expect((await tasks.getTask(spec.machine, spec.step, spec.subject))?.status).toBe('Applied');
  });
});

describe('watchMachineTask: the one safety net for every step parked on a run', () => {
  const logs: string[] = [];
  const log = (text: string) => void logs.push(text);

  it('looks again while the owner holds a live lease, and once the run has ended finds nobody left to wake', async () => {
    const { deps, woken, watches } = lab();
    const started = waiting(await runMachineTask(deps, runFor('owner'), spec));
    const sent = watches[0]!.message;
    expect(await watchMachineTask(deps, sent, Date.now, log)).toBe('watching');
    expect(watches.map((w) => w.message)).toEqual([sent, sent]);
    expect(watches[1]!.delayInMs).toBe(60_000);

    await ownerUntilDone(deps, started.checkpoint);
    expect(await watchMachineTask(deps, sent, Date.now, log)).toBe('woken');
    expect(woken).toEqual([]);
    expect(watches).toHaveLength(2);
  });

  it('wakes every parked step once the owner’s lease has run out without it coming back', async () => {
    const { deps, tasks, woken, watches } = lab();
    waiting(await runMachineTask(deps, runFor('owner'), spec));
    expect(await waiting(await runMachineTask(deps, runFor('w1'), spec)).park?.(1)).toBe(true);
    expect(await waiting(await runMachineTask(deps, runFor('w2'), spec)).park?.(3)).toBe(true);
    const lease = (await tasks.getTask(spec.machine, spec.step, spec.subject))?.leaseExpiresAtInMs ?? 0;
    // The watch never waits past the lease's end.
    expect(await watchMachineTask(deps, watches[0]!.message, () => lease - 30_000, log)).toBe('watching');
    expect(watches[1]!.delayInMs).toBe(31_000);

    expect(await watchMachineTask(deps, watches[0]!.message, () => lease + 1, log)).toBe('woken');
    expect(woken.map((w) => [w.attachmentId, w.recheck])).toEqual([
      ['w1', 1],
      ['w2', 3],
    ]);
    expect(await tasks.listWaiters(spec.machine, spec.step, spec.subject)).toEqual([]);
    // Woken, a waiter finds the lease gone and takes the machine over, with a watch of its own.
    const late = { ...runFor('w1'), nowInMs: () => lease + 1 };
    const takeover = waiting(await runMachineTask(deps, late, spec));
    expect(takeover.park).toBeUndefined();
    expect(watches.at(-1)?.message.attachmentId).toBe('w1');
  });

  it('leaves a task another attachment has claimed since to that attachment’s watch', async () => {
    const { deps, tasks, woken, watches } = lab();
    waiting(await runMachineTask(deps, runFor('owner'), spec));
    const current = await tasks.getTask(spec.machine, spec.step, spec.subject);
    await tasks.putTask({ ...current!, owner: { tenantId: 'contoso', attachmentId: 'other' } }, current?.etag);
    expect(await watchMachineTask(deps, watches[0]!.message, Date.now, log)).toBe('handed over');
    expect(watches).toHaveLength(1);
    expect(woken).toEqual([]);
  });
});

describe('runMachineTask: the record of a network’s creation also records its removal', () => {
  const VM = 'ContainerHostVM1';
  const input: { networkName: string; driver: 'l2bridge' | 'l2tunnel'; subnet: string; gateway: string } = {
    networkName: 'TaskNet',
    driver: 'l2bridge',
    subnet: '192.168.1.0/24',
    gateway: '192.168.1.1',
  };
  const ensure: MachineTaskSpec<typeof input> = {
    step: 'createContainerNetwork',
    machine: machine(VM),
    subject: input.networkName,
    script: ensureContainerNetworkScript,
    input,
  };
  // The same task record and the very same inputs (so the same input hash): only the script tells them apart.
  const removal: MachineTaskSpec<Partial<typeof input> & { networkName: string }> = {
    ...ensure,
    forStep: 'removeContainerNetwork',
    script: removeContainerNetworkScript,
  };

  async function appliedBy<T>(
    tasks: InMemoryMachineTaskStore,
    spec: MachineTaskSpec<T>,
    attachmentId: string,
  ): Promise<void> {
    expect(spec.script.version).toBe(ensureContainerNetworkScript.version);
    const stored = await tasks.putTask(
      {
        machine: spec.machine,
        task: spec.step,
        subject: spec.subject,
        status: 'Applied',
        script: spec.script.name,
        scriptVersion: spec.script.version,
        inputHash: stableUuid(JSON.stringify(spec.input)),
        appliedTime: new Date().toISOString(),
        appliedBy: { tenantId: 'contoso', attachmentId },
        exitCode: 0,
        result: { ok: true, changed: true },
        updatedTime: new Date().toISOString(),
      },
      undefined,
    );
    expect(stored).toBeDefined();
  }

  async function untilDone<T>(
    deps: MachineTaskDeps,
    run: StepRunContext<MachineTaskCheckpoint>,
    spec: MachineTaskSpec<T>,
  ) {
    let outcome = await runMachineTask(deps, run, spec);
    while (outcome.kind === 'waiting') {
      await new Promise((resolve) => setTimeout(resolve, 25));
      run.checkpoint = outcome.checkpoint;
      outcome = await runMachineTask(deps, run, spec);
    }
    return outcome;
  }

  it('a removal’s Applied record is never reused by a creation, nor answered by its probe: the network is made', async () => {
    const { deps, tasks } = lab();
    await appliedBy(tasks, removal, 'remover');
    expect(await reusedMachineTask(deps, runFor('creator'), ensure)).toBeUndefined();
    const outcome = await untilDone(deps, runFor('creator'), ensure);
    expect(outcome).toMatchObject({
      kind: 'succeeded',
      detail: { reused: false, script: 'ensure-container-network', appliedBy: 'contoso/creator' },
    });
    expect((await arm.inspect(VM)).dockerNetworks.map((n) => n.name)).toContain('TaskNet');
  });

  it('not even by a creation that waited for that very removal', async () => {
    const { deps, tasks } = lab();
    await appliedBy(tasks, removal, 'remover');
    const woken = runFor('creator', { waitingFor: { tenantId: 'contoso', attachmentId: 'remover' } });
    expect(await untilDone(deps, woken, ensure)).toMatchObject({ detail: { reused: false } });
  });

  it('nor is a creation’s Applied record taken for a removal: the removal runs', async () => {
    const { deps, tasks } = lab();
    await untilDone(deps, runFor('creator'), ensure);
    const outcome = await untilDone(deps, runFor('remover'), removal);
    expect(outcome).toMatchObject({ detail: { reused: false, script: 'remove-container-network' } });
    expect(await tasks.getTask(ensure.machine, ensure.step, ensure.subject)).toMatchObject({
      status: 'Applied',
      script: 'remove-container-network',
      appliedBy: { tenantId: 'contoso', attachmentId: 'remover' },
    });
    expect((await arm.inspect(VM)).dockerNetworks.map((n) => n.name)).not.toContain('TaskNet');
  });

  it('a removal’s Applied record answers a later removal of the same network (nothing made it again since)', async () => {
    const { deps, tasks } = lab();
    await appliedBy(tasks, removal, 'remover');
    expect(await untilDone(deps, runFor('remover-2'), removal)).toMatchObject({ detail: { reused: true } });
  });

  it('beforeRun finds a reason not to run: the task goes back as it was, its waiters are woken, no run or watch starts', async () => {
    const { deps, tasks, woken, watches } = lab();
    await untilDone(deps, runFor('creator'), ensure);
    const before = await tasks.getTask(ensure.machine, ensure.step, ensure.subject);
    const runsBefore = (await arm.inspect(VM)).scriptRuns.length;
    watches.length = 0;
    let heldWhileAsked: unknown;
    const outcome = await runMachineTask(deps, runFor('remover'), {
      ...removal,
      beforeRun: async () => {
        heldWhileAsked = (await tasks.getTask(ensure.machine, ensure.step, ensure.subject))?.owner;
        // Someone parks on the task while the removal holds it.
        await tasks.addWaiter(ensure.machine, ensure.step, ensure.subject, {
          tenantId: 'fabrikam',
          attachmentId: 'late',
          step: 'createContainerNetwork',
          recheck: 5,
        });
        return 'not now';
      },
    });
    expect(heldWhileAsked).toEqual({ tenantId: 'contoso', attachmentId: 'remover' });
    expect(outcome).toEqual({
      kind: 'succeeded',
      result: {},
      detail: { machine: VM, machineResourceGroup: 'sdn-lab', ran: false, reason: 'not now' },
    });
    const { etag: _a, updatedTime: _b, ...after } = (await tasks.getTask(ensure.machine, ensure.step, ensure.subject))!;
    const { etag: _c, updatedTime: _d, ...original } = before!;
    expect(after).toEqual(original);
    expect(woken).toEqual([{ tenantId: 'fabrikam', attachmentId: 'late', step: 'createContainerNetwork', recheck: 5 }]);
    expect(watches).toEqual([]);
    expect((await arm.inspect(VM)).scriptRuns).toHaveLength(runsBefore);
  });

  it('beforeRun with no reason lets the run go ahead', async () => {
    const { deps } = lab();
    let asked = 0;
    const outcome = await untilDone(deps, runFor('creator'), {
      ...ensure,
      beforeRun: () => {
        asked++;
        return Promise.resolve(undefined);
      },
    });
    expect(asked).toBe(1);
    expect(outcome).toMatchObject({ detail: { reused: false, script: 'ensure-container-network' } });
  });
});

describe('runMachineTask: a repair runs the script whatever is on record', () => {
  it('runs again where an Applied record would otherwise be reused, and its probe does not answer', async () => {
    const { deps } = lab();
    const first = await ownerUntilDone(deps, waiting(await runMachineTask(deps, runFor('owner'), spec)).checkpoint);
    expect(first).toMatchObject({ detail: { reused: false } });
    expect(await runMachineTask(deps, runFor('other'), spec)).toMatchObject({ detail: { reused: true } });

    const repair = runFor('other', { repair: true });
    expect(await reusedMachineTask(deps, repair, spec)).toBeUndefined();
    const outcome = await runMachineTask(deps, repair, spec);
    expect(outcome.kind).toBe('waiting');
    expect(waiting(outcome).checkpoint.run).toBeDefined();
  });

  it('takes the run it waited for during a repair', async () => {
    const { deps } = lab();
    const started = waiting(await runMachineTask(deps, runFor('owner'), spec));
    const repair = waiting(await runMachineTask(deps, runFor('other', { repair: true }), spec));
    expect(repair.checkpoint.waitingFor).toEqual({ tenantId: 'contoso', attachmentId: 'owner' });
    await ownerUntilDone(deps, started.checkpoint);
    expect(
      await runMachineTask(deps, runFor('other', { repair: true, waitingFor: repair.checkpoint.waitingFor }), spec),
    ).toMatchObject({ kind: 'succeeded', detail: { reused: true, appliedBy: 'contoso/owner' } });
  });
});
