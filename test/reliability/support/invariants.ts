import { setTimeout as sleep } from 'node:timers/promises';

import type { NetworkInterface } from '../../../shared/networkController/resources';
import type { ReliabilityStack } from './reliabilityStack';
import type { PlannedAttachment } from './workload';

/** The parts of a status document the checks read. */
export interface StatusDocument {
  id: string;
  tenantId: string;
  runtimeStatus: string;
  currentStep: string | null;
  steps: { name: string; status: string; attempts: number; detail?: Record<string, unknown> }[];
  lastError: { code: string; message: string; source?: string } | null;
  result: {
    networkInterface?: { resourceId: string };
    ipConfigurations?: { resourceId: string; privateIPAddress: string }[];
  };
  history?: { type: string; step?: string; attempt?: number; dequeueCount?: number; error?: { code: string } }[];
}

export interface MachineSnapshot {
  services: Record<string, { status: string; restartCount: number }>;
  dockerNetworks: { name: string; driver: string; ipam: { config: { subnet: string; gateway: string }[] } }[];
  scriptRuns: { script: string; version: number; parameters: Record<string, unknown>; at: string }[];
}

const TERMINAL = new Set(['Completed', 'Failed', 'Canceled']);

/** "StepStarted enableNetworkProxy #2 dq1, StepRetrying ... RunCommandTimedOut, ..." for problem reports. */
export function compactHistory(doc: StatusDocument): string {
  return (doc.history ?? [])
    .map((e) =>
      [
        e.type,
        e.step ?? '',
        e.attempt === undefined ? '' : `#${e.attempt}`,
        e.dequeueCount === undefined ? '' : `dq${e.dequeueCount}`,
        e.error?.code ?? '',
      ]
        .filter(Boolean)
        .join(' '),
    )
    .join(', ');
}
const key = (a: { tenantId: string; attachmentId: string }) => `${a.tenantId}/${a.attachmentId}`;

/** Polls every planned attachment until all have ended or the deadline passes; returns the last documents read. */
export async function waitForAllEnded(
  stack: ReliabilityStack,
  plan: readonly PlannedAttachment[],
  timeoutInMs: number,
): Promise<Map<string, StatusDocument>> {
  const deadline = Date.now() + timeoutInMs;
  const docs = new Map<string, StatusDocument>();
  for (;;) {
    const open = plan.filter((p) => !TERMINAL.has(docs.get(key(p))?.runtimeStatus ?? ''));
    if (open.length === 0) break;
    for (const item of open) {
      try {
        const answer = await stack.api('GET', `/tenants/${item.tenantId}/attachments/${item.attachmentId}`);
        if (answer.status === 200 || answer.status === 202)
          docs.set(key(item), answer.body as unknown as StatusDocument);
      } catch {
        // The runner is being restarted; read again on the next round.
      }
    }
    if (Date.now() > deadline) break;
    await sleep(250);
  }
  // The final documents, with history, for the report.
  for (const item of plan) {
    const answer = await stack.api(
      'GET',
      `/tenants/${item.tenantId}/attachments/${item.attachmentId}?showHistory=true`,
    );
    if (answer.status === 200 || answer.status === 202) docs.set(key(item), answer.body as unknown as StatusDocument);
  }
  return docs;
}

export interface InvariantOptions {
  /**
   * How many runs of one script (same machine, script and parameters) are justified: 1, plus one for every event that
   * can make the product lose track of a run it started (a crash, a storage outage, a lost ARM answer).
   */
  allowedRunsPerTask: (machine: string) => number;
  /** NICs not to check (e.g. the doomed NIC, where a failed write may leave addresses). */
  skipNics?: string[];
}

export interface InvariantReport {
  problems: string[];
  summary: {
    statuses: Record<string, number>;
    scriptRuns: Record<string, number>;
    restarts: Record<string, number>;
    stepAttempts: Record<string, number[]>;
    poisonMessages: number;
    poisonLogLines: string[];
  };
}

/**
 * The end-state properties: every attachment ended (Completed, or Failed with the planned permanent fault's
 * code), every NIC holds exactly the addresses the attachments report (no duplicate, none missing, none foreign),
 * every machine ran each script only as often as justified and restarted each service at most once, every step
 * queue drained, and every poisoned message belongs to a Failed attachment.
 */
export async function checkInvariants(
  stack: ReliabilityStack,
  plan: readonly PlannedAttachment[],
  docs: ReadonlyMap<string, StatusDocument>,
  options: InvariantOptions,
): Promise<InvariantReport> {
  const problems: string[] = [];
  const statuses: Record<string, number> = {};
  const stepAttempts: Record<string, number[]> = {};

  // 1. Every attachment ended, and ended as planned.
  for (const item of plan) {
    const doc = docs.get(key(item));
    const status = doc?.runtimeStatus ?? 'Unknown';
    statuses[status] = (statuses[status] ?? 0) + 1;
    for (const step of doc?.steps ?? []) (stepAttempts[step.name] ??= []).push(step.attempts);
    const where = `${key(item)} (via ${item.via}, NIC ${item.nicId})`;
    if (!doc || !TERMINAL.has(status)) {
      problems.push(`${where} did not end: ${status}, currentStep ${doc?.currentStep ?? '?'}`);
      continue;
    }
    if (item.doomed) {
      if (status !== 'Failed' || doc.currentStep !== item.doomed.step || doc.lastError?.code !== item.doomed.code) {
        problems.push(
          `${where} should be Failed at ${item.doomed.step} with ${item.doomed.code}, is ${status} at ` +
            `${doc.currentStep ?? '-'}: ${doc.lastError?.code ?? '-'} ${doc.lastError?.message ?? ''}`,
        );
      }
    } else if (status !== 'Completed') {
      problems.push(
        `${where} should be Completed, is ${status} at ${doc.currentStep ?? '-'}: ` +
          `${doc.lastError?.code ?? '-'} ${doc.lastError?.message ?? ''}; history: ${compactHistory(doc)}`,
      );
    } else {
      const configs = doc.result.ipConfigurations ?? [];
      const wanted = item.request.containerIps;
      const expected = wanted.addresses ?? (wanted.range ? [wanted.range.first, wanted.range.last] : undefined);
      if (configs.length !== (expected?.length ?? wanted.count)) {
        problems.push(`${where} reports ${configs.length} IP configurations`);
      }
      if (expected && configs.map((c) => c.privateIPAddress).join() !== expected.join()) {
        problems.push(
          `${where} reports ${configs.map((c) => c.privateIPAddress).join()} instead of ${expected.join()}`,
        );
      }
    }
  }

  // 2. NICs: each holds exactly the configurations its attachments report, once; no address on two NICs.
  const skip = new Set((options.skipNics ?? []).map((n) => n.toLowerCase()));
  const nicIds = [...new Set(plan.map((p) => p.nicId))].filter((id) => !skip.has(id.toLowerCase()));
  const holders = new Map<string, string[]>();
  for (const nicId of nicIds) {
    const nic = (await stack.ncAdmin('GET', `/networking/v1/networkInterfaces/${nicId}`)) as NetworkInterface;
    const configs = nic.properties.ipConfigurations;
    const addresses = configs.map((c) => c.properties.privateIPAddress ?? '');
    for (const address of addresses) holders.set(address, [...(holders.get(address) ?? []), nicId]);
    const duplicates = addresses.filter((a, i) => addresses.indexOf(a) !== i);
    if (duplicates.length > 0) problems.push(`NIC ${nicId} holds ${duplicates.join(', ')} more than once`);
    const ids = configs.map((c) => c.resourceId.toLowerCase());
    if (new Set(ids).size !== ids.length) problems.push(`NIC ${nicId} has duplicate ipConfiguration ids`);
    if (nic.properties.provisioningState !== 'Succeeded') {
      problems.push(`NIC ${nicId} is ${nic.properties.provisioningState ?? '?'}`);
    }
    const expected = new Map<string, string>();
    for (const item of plan.filter((p) => p.nicId === nicId)) {
      for (const config of docs.get(key(item))?.result.ipConfigurations ?? []) {
        if (expected.has(config.resourceId)) {
          problems.push(`${config.privateIPAddress} on ${nicId} is reported by two attachments`);
        }
        expected.set(config.resourceId, config.privateIPAddress);
      }
    }
    const added = new Map(
      configs.filter((c) => /^IP_/i.test(c.resourceId)).map((c) => [c.resourceId, c.properties.privateIPAddress]),
    );
    for (const [id, address] of expected) {
      if (!added.has(id)) problems.push(`NIC ${nicId} is missing ${id} (${address})`);
      else if (added.get(id) !== address) problems.push(`NIC ${nicId} ${id} holds ${added.get(id)}, not ${address}`);
    }
    for (const [id, address] of added) {
      if (!expected.has(id)) problems.push(`NIC ${nicId} holds ${id} (${address}) that no attachment reports`);
    }
  }
  for (const [address, nics] of holders) {
    if (nics.length > 1) problems.push(`${address} is held by ${nics.join(' and ')}`);
  }

  // 3. Machines: scripts ran only as often as justified; services restarted once per configuration.
  const scriptRuns: Record<string, number> = {};
  const restarts: Record<string, number> = {};
  const completed = plan.filter((p) => docs.get(key(p))?.runtimeStatus === 'Completed');
  const machines = new Set<string>(['HV01', 'ContainerHostVM1', 'ContainerHostVM2']);
  for (const name of machines) {
    const machine = (await stack.armAdmin('GET', `/_emulator/machines/${name}`)) as MachineSnapshot;
    const groups = new Map<string, number>();
    for (const run of machine.scriptRuns) {
      const group = `${name} ${run.script} ${JSON.stringify(run.parameters)}`;
      groups.set(group, (groups.get(group) ?? 0) + 1);
    }
    for (const [group, count] of groups) {
      scriptRuns[group] = count;
      if (count > options.allowedRunsPerTask(name)) {
        problems.push(`${group} ran ${count} times (at most ${options.allowedRunsPerTask(name)} justified)`);
      }
    }
    for (const [service, state] of Object.entries(machine.services)) {
      restarts[`${name} ${service}`] = state.restartCount;
      if (state.restartCount > 1) problems.push(`${name} restarted ${service} ${state.restartCount} times`);
    }
    const usedAsHost = completed.some((p) => p.request.hyperVHost.machineName === name);
    if (usedAsHost && machine.services.nchostagent?.restartCount !== 1) {
      problems.push(`${name} nchostagent restarted ${machine.services.nchostagent?.restartCount ?? 0} times, not once`);
    }
    const usedAsVm = completed.filter((p) => p.request.containerHost.machineName === name);
    if (usedAsVm.length > 0 && machine.services.hns?.restartCount !== 1) {
      problems.push(`${name} hns restarted ${machine.services.hns?.restartCount ?? 0} times, not once`);
    }
    const names = machine.dockerNetworks.map((n) => n.name);
    for (const network of new Set(usedAsVm.map((p) => p.request.network.name))) {
      if (names.filter((n) => n === network).length !== 1) problems.push(`${name} has ${network} not exactly once`);
    }
  }

  // 4. Queues: every step message processed; whatever is in a poison queue belongs to a Failed attachment. A kill
  // between a run's recorded outcome and the deletion of its watch (or a run longer than one watch interval, whose
  // watch has been re-sent) leaves a watch queued until it surfaces, at most 60 s later, and stops: wait that long.
  const drainDeadline = Date.now() + 75_000;
  let counts = await stack.queueCounts();
  const pending = () => Object.entries(counts).filter(([name, n]) => !name.endsWith('-poison') && n > 0);
  while (pending().length > 0 && Date.now() < drainDeadline) {
    await sleep(500);
    counts = await stack.queueCounts();
  }
  for (const [name, n] of pending()) problems.push(`queue ${name} still holds ${n} message(s)`);
  let poisonMessages = 0;
  for (const name of Object.keys(counts).filter((n) => n.endsWith('-poison'))) {
    for (const text of await stack.peekQueue(name)) {
      poisonMessages++;
      let message: { tenantId?: string; attachmentId?: string } = {};
      try {
        message = JSON.parse(text) as typeof message;
      } catch {
        problems.push(`${name} holds a message that is not JSON: ${text.slice(0, 100)}`);
        continue;
      }
      const doc = docs.get(`${message.tenantId}/${message.attachmentId}`);
      if (doc?.runtimeStatus !== 'Failed') {
        problems.push(
          `${name} holds a message of ${message.tenantId}/${message.attachmentId}, which is ${doc?.runtimeStatus}`,
        );
      }
    }
  }
  // The poison functions consume what reaches a step's poison queue; their log says what became of the attachment.
  const poisonLogLines = stack.output.filter((line) => /poisoned message; attachment now/.test(line));
  // A poisoned duplicate of a step that already ended may leave a Completed attachment alone; never a live one.
  for (const line of poisonLogLines) {
    if (!/attachment now (Failed|Completed|Canceled)/.test(line)) {
      problems.push(`poison handling left an attachment unfinished: ${line}`);
    }
  }

  return {
    problems,
    summary: { statuses, scriptRuns, restarts, stepAttempts, poisonMessages, poisonLogLines },
  };
}
