import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { RemoteRunClient } from '../../../shared/hosts/remoteRun';
import { enableNetworkProxyScript } from '../../../shared/hosts/scripts';
import { stableUuid } from '../../../shared/ids';
import type { TaskWaiter } from '../../../shared/state/MachineTaskStore';
import { tableClientFrom } from '../../../shared/state/tableClient';
import { TableMachineTaskStore } from '../../../shared/state/TableMachineTaskStore';
import {
  type MachineTaskCheckpoint,
  type MachineTaskDeps,
  type MachineTaskSpec,
  reusedMachineTask,
  runMachineTask,
} from '../../../shared/workflow/machineTask';
import type { StepOutcome, StepRunContext } from '../../../shared/workflow/stepTypes';
import { machine, startTestArmEmulator, type TestArmEmulator } from '../../dev/arm/harness';
import { useAzurite } from '../../support/azurite';

const azurite = useAzurite();
let arm: TestArmEmulator;
beforeAll(async () => {
  arm = await startTestArmEmulator({ runDurationInMs: 150 });
});
afterAll(() => arm.close());

let tableNumber = 0;

/** Machine-task deps on a fresh task table and the ARM emulator; wake-ups are recorded, not sent. */
function lab(options: { runCommands?: RemoteRunClient; wake?: (waiter: TaskWaiter) => Promise<void> } = {}) {
  tableNumber += 1;
  const tasks = new TableMachineTaskStore(
    tableClientFrom(azurite.connectionString(), `parkwake${Date.now() % 100_000}x${tableNumber}`),
  );
  const woken: TaskWaiter[] = [];
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
  };
  return { deps, tasks, woken };
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
    const { deps, tasks, woken } = lab();
    const started = waiting(await runMachineTask(deps, runFor('owner'), spec));
    expect(started.park).toBeUndefined();

    const first = waiting(await runMachineTask(deps, runFor('w1'), spec));
    const second = waiting(await runMachineTask(deps, runFor('w2'), spec));
    expect(first.checkpoint.waitingFor).toEqual({ tenantId: 'contoso', attachmentId: 'owner' });
    // The wake-up is the way on; the delayed look is only a safety net.
    expect(first.checkAfterInMs).toBe(60_000);
    expect(await first.park?.(1)).toBe(true);
    expect(await second.park?.(4)).toBe(true);
    expect(woken).toEqual([]);

    const done = await ownerUntilDone(deps, started.checkpoint);
    expect(done).toMatchObject({ kind: 'succeeded', detail: { reused: false } });
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
