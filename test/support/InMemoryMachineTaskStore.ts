import {
  machineTaskKeys,
  type MachineTaskRecord,
  type MachineTaskStore,
  type TaskWaiter,
  taskWaiterKeys,
} from '../../shared/model/MachineTaskStore';

/**
 * A real in-memory MachineTaskStore with the table store's semantics (test/shared/state/machineTaskStore.test.ts
 * runs the same contract against both): etag-guarded writes, create-only when no etag is given, waiters kept per
 * task in re-check order. `interleave` slips a competing write in between the next read and its write.
 */
export class InMemoryMachineTaskStore implements MachineTaskStore {
  private readonly rows = new Map<string, MachineTaskRecord>();
  private readonly waiters = new Map<string, TaskWaiter>();
  private nextEtag = 1;
  /** Called once before the next etag-guarded write is checked; used to provoke a lost race. */
  interleave?: () => void;
  writes = 0;

  getTask(machine: MachineTaskRecord['machine'], task: string, subject: string) {
    const row = this.rows.get(this.key(machine, task, subject));
    return Promise.resolve(row ? structuredClone(row) : undefined);
  }

  putTask(record: MachineTaskRecord, expectedEtag: string | undefined) {
    const hook = this.interleave;
    this.interleave = undefined;
    hook?.();
    const key = this.key(record.machine, record.task, record.subject);
    const current = this.rows.get(key);
    if (expectedEtag === undefined ? current !== undefined : current?.etag !== expectedEtag)
      return Promise.resolve(undefined);
    const stored: MachineTaskRecord = { ...structuredClone(record), etag: `"${this.nextEtag++}"` };
    this.rows.set(key, stored);
    this.writes += 1;
    return Promise.resolve(structuredClone(stored));
  }

  async updateTask(
    machine: MachineTaskRecord['machine'],
    task: string,
    subject: string,
    mutate: (current: MachineTaskRecord | undefined) => MachineTaskRecord,
    options: { maxRounds?: number } = {},
  ) {
    for (let round = 0; round < (options.maxRounds ?? 5); round++) {
      const current = await this.getTask(machine, task, subject);
      const stored = await this.putTask(mutate(current), current?.etag);
      if (stored) return stored;
    }
    return undefined;
  }

  addWaiter(machine: MachineTaskRecord['machine'], task: string, subject: string, waiter: TaskWaiter) {
    const { partitionKey, rowKey } = taskWaiterKeys(machine, task, subject, waiter);
    this.waiters.set(`${partitionKey}/${rowKey}`, { ...waiter });
    return Promise.resolve();
  }

  listWaiters(machine: MachineTaskRecord['machine'], task: string, subject: string) {
    const { partitionKey, prefix } = taskWaiterKeys(machine, task, subject);
    const found = [...this.waiters.entries()]
      .filter(([key]) => key.startsWith(`${partitionKey}/${prefix}`))
      .map(([, waiter]) => ({ ...waiter }));
    return Promise.resolve(found.sort((a, b) => a.recheck - b.recheck));
  }

  removeWaiters(machine: MachineTaskRecord['machine'], task: string, subject: string, waiters: readonly TaskWaiter[]) {
    for (const waiter of waiters) {
      const { partitionKey, rowKey } = taskWaiterKeys(machine, task, subject, waiter);
      this.waiters.delete(`${partitionKey}/${rowKey}`);
    }
    return Promise.resolve();
  }

  private key(machine: MachineTaskRecord['machine'], task: string, subject: string): string {
    const { partitionKey, rowKey } = machineTaskKeys(machine, task, subject);
    return `${partitionKey}/${rowKey}`;
  }
}
