import { randomUUID } from 'node:crypto';

import { FaultRegistry } from './faults';
import { ARM_SEED, seedMachines } from './seed';
import { type RunCommandRequest, SimulatedRunCommand } from './SimulatedRunCommand';
import type { MachineSnapshot, SimulatedWindowsMachine } from './SimulatedWindowsMachine';

export interface MachineEntry {
  subscriptionId: string;
  resourceGroup: string;
  machine: SimulatedWindowsMachine;
}

export interface RunEntry extends MachineEntry {
  run: SimulatedRunCommand;
}

interface OperationEntry {
  runKey: string;
  generation: number;
  startTime: string;
}

export interface RunCommandSummary {
  name: string;
  provisioningState: string;
  executionState: string;
  exitCode?: number;
  script?: string;
}

/** Everything the ARM emulator holds: machines by resource group, their run commands, async operations, faults. */
export class ArmState {
  readonly faults = new FaultRegistry();
  readonly runDurationInMs: number;
  readonly #seed: boolean;
  #machines: MachineEntry[] = [];
  readonly #runs = new Map<string, RunEntry>();
  readonly #operations = new Map<string, OperationEntry>();

  constructor(options: { seed: boolean; runDurationInMs: number }) {
    this.#seed = options.seed;
    this.runDurationInMs = options.runDurationInMs;
    this.reset();
  }

  reset(): void {
    this.faults.clear();
    this.#runs.clear();
    this.#operations.clear();
    this.#machines = [];
    if (this.#seed) {
      for (const machine of seedMachines()) {
        this.addMachine({ subscriptionId: ARM_SEED.subscriptionId, resourceGroup: ARM_SEED.resourceGroup, machine });
      }
    }
  }

  addMachine(entry: MachineEntry): void {
    this.#machines.push(entry);
  }

  /** A vmId index no seeded or added machine has used (the seed uses 1-5). */
  nextMachineIndex(): number {
    return 100 + this.#machines.length;
  }

  hasSubscription(subscriptionId: string): boolean {
    return this.#machines.some((entry) => same(entry.subscriptionId, subscriptionId));
  }

  hasResourceGroup(subscriptionId: string, resourceGroup: string): boolean {
    return this.#machines.some(
      (entry) => same(entry.subscriptionId, subscriptionId) && same(entry.resourceGroup, resourceGroup),
    );
  }

  findMachine(subscriptionId: string, resourceGroup: string, name: string): MachineEntry | undefined {
    const entry = this.#machines.find(
      (candidate) =>
        same(candidate.subscriptionId, subscriptionId) &&
        same(candidate.resourceGroup, resourceGroup) &&
        same(candidate.machine.name, name),
    );
    if (entry) this.advance(entry.machine);
    return entry;
  }

  /** For the inspection routes, which name machines without their resource group. */
  findMachineByName(name: string): MachineEntry | undefined {
    const entry = this.#machines.find((candidate) => same(candidate.machine.name, name));
    if (entry) this.advance(entry.machine);
    return entry;
  }

  machines(): MachineEntry[] {
    for (const entry of this.#machines) this.advance(entry.machine);
    return [...this.#machines];
  }

  runsOf(machine: SimulatedWindowsMachine): RunEntry[] {
    return [...this.#runs.values()].filter((entry) => entry.machine === machine);
  }

  getRun(machineEntry: MachineEntry, name: string): RunEntry | undefined {
    return this.#runs.get(runKey(machineEntry, name));
  }

  /** PUT: a new run command (created) or a re-run of the existing one; returns its async operation id. */
  putRun(
    machineEntry: MachineEntry,
    name: string,
    request: RunCommandRequest,
  ): { entry: RunEntry; created: boolean; operationId: string } {
    const key = runKey(machineEntry, name);
    const now = Date.now();
    let entry = this.#runs.get(key);
    const created = entry === undefined;
    if (entry === undefined) {
      entry = { ...machineEntry, run: new SimulatedRunCommand(name, machineEntry.machine, request, now) };
      this.#runs.set(key, entry);
    } else {
      entry.run.restart(request, now);
    }
    const operationId = randomUUID();
    this.#operations.set(operationId, {
      runKey: key,
      generation: entry.run.generation,
      startTime: new Date(now).toISOString(),
    });
    return { entry, created, operationId };
  }

  deleteRun(machineEntry: MachineEntry, name: string): RunEntry | undefined {
    const key = runKey(machineEntry, name);
    const entry = this.#runs.get(key);
    this.#runs.delete(key);
    return entry;
  }

  /** The async operation's run, and whether a later PUT or a DELETE superseded it. */
  operation(id: string): { entry?: RunEntry; superseded: boolean; startTime: string } | undefined {
    const operation = this.#operations.get(id);
    if (!operation) return undefined;
    const entry = this.#runs.get(operation.runKey);
    if (entry) this.advance(entry.machine);
    const superseded = entry === undefined || entry.run.generation !== operation.generation;
    return { entry: superseded ? undefined : entry, superseded, startTime: operation.startTime };
  }

  /** Moves the machine's runs on to now, finishing them in the order they are due so effects apply in order. */
  advance(machine: SimulatedWindowsMachine): void {
    const now = Date.now();
    const runs = this.runsOf(machine)
      .map((entry) => entry.run)
      .filter((run) => !run.finished)
      .sort((a, b) => a.dueAtInMs(this.runDurationInMs) - b.dueAtInMs(this.runDurationInMs));
    for (const run of runs) run.advance(now, this.runDurationInMs);
  }

  snapshot(machine: SimulatedWindowsMachine): MachineSnapshot & { runCommands: RunCommandSummary[] } {
    this.advance(machine);
    const runCommands = this.runsOf(machine).map(({ run }) => ({
      name: run.name,
      provisioningState: run.provisioningState,
      executionState: run.executionState,
      ...(run.exitCode === undefined ? {} : { exitCode: run.exitCode }),
      ...scriptName(run.request.source.script),
    }));
    return { ...machine.snapshot(), runCommands };
  }
}

function same(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

function runKey(entry: MachineEntry, name: string): string {
  return [entry.subscriptionId, entry.resourceGroup, entry.machine.name, name].join('/').toLowerCase();
}

function scriptName(script: string | undefined): { script?: string } {
  const match = /^# sdn-attach-script: (\S+ v\d+)/.exec(script ?? '');
  return match ? { script: match[1] } : {};
}
