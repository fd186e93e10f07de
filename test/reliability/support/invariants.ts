import { setTimeout as sleep } from 'node:timers/promises';

import { type AttachRequestInput, containerHostName } from '../../../shared/model/attachRequest';
import { stepsOf } from '../../../shared/model/steps';
import { OWNER_TAG } from '../../../shared/networkController/nicMerge';
import type { NetworkInterface } from '../../../shared/networkController/resources';
import type { ReliabilityStack } from './reliabilityStack';
import type { PlannedAttachment } from './workload';

/** One step as the status document shows it. */
export interface StepView {
  name: string;
  status: string;
  attempts: number;
  lastError?: { code: string; message?: string };
  detail?: Record<string, unknown>;
}

/** The parts of a status document the checks read. */
export interface StatusDocument {
  id: string;
  tenantId: string;
  runtimeStatus: string;
  currentStep: string | null;
  steps: StepView[];
  /** The detach steps, once a detach was asked for. */
  detachSteps?: StepView[];
  lastError: { code: string; message: string; source?: string } | null;
  result: {
    networkInterface?: { resourceId: string };
    ipConfigurations?: { resourceId: string; privateIPAddress: string }[];
  };
  history?: {
    type: string;
    step?: string;
    attempt?: number;
    dequeueCount?: number;
    message?: string;
    error?: { code: string };
  }[];
}

export interface MachineSnapshot {
  services: Record<string, { status: string; restartCount: number }>;
  dockerNetworks: { name: string; driver: string; ipam: { config: { subnet: string; gateway: string }[] } }[];
  scriptRuns: { script: string; version: number; parameters: Record<string, unknown>; at: string }[];
}

const TERMINAL = new Set(['Completed', 'Failed', 'Canceled']);
const DETACH_STEPS: readonly string[] = stepsOf('detach').map((s) => s.name);

/** Whether the attach ended (Completed, Failed or Canceled); a detach asked for meanwhile is not looked at. */
export function attachEnded(doc: StatusDocument | undefined): boolean {
  return TERMINAL.has(doc?.runtimeStatus ?? '');
}

/** Whether the detach ended: Detached, or Failed at a detach step. */
export function detachEnded(doc: StatusDocument | undefined): boolean {
  if (doc?.runtimeStatus === 'Detached') return true;
  return doc?.runtimeStatus === 'Failed' && DETACH_STEPS.includes(doc.currentStep ?? '');
}

/** Whether all four attach steps succeeded (the attachment Completed, whatever became of it afterwards). */
export function attachSucceeded(doc: StatusDocument | undefined): boolean {
  return doc !== undefined && doc.steps.length > 0 && doc.steps.every((s) => s.status === 'Succeeded');
}

/**
 * What the attachment was when its detach was asked for, by its history: `Running` (or `Pending`) when the attach
 * was still under way and was canceled (or ran to its end) first, otherwise the status it had ended with.
 */
export function detachedFrom(doc: StatusDocument | undefined): string | undefined {
  const started = doc?.history?.find((e) => e.type === 'DetachStarted');
  const requested = doc?.history?.find((e) => e.type === 'DetachRequested');
  if (!started?.message || !requested) return undefined;
  const ended = /^from (\w+)/.exec(started.message)?.[1];
  return ended ?? 'Running';
}

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
/** Whether a planned attachment is over: its detach ended, when one is planned; otherwise its attach. */
const planEnded = (item: PlannedAttachment, doc: StatusDocument | undefined) =>
  item.detach ? detachEnded(doc) : attachEnded(doc);

/**
 * Polls every planned attachment until all have ended (an attachment planned to detach: its detach) or the deadline
 * passes; returns the last documents read.
 */
export async function waitForAllEnded(
  stack: ReliabilityStack,
  plan: readonly PlannedAttachment[],
  timeoutInMs: number,
): Promise<Map<string, StatusDocument>> {
  const deadline = Date.now() + timeoutInMs;
  const docs = new Map<string, StatusDocument>();
  for (;;) {
    const open = plan.filter((p) => !planEnded(p, docs.get(key(p))));
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
 * code; one planned to detach: Detached, or Failed at the planned detach step with its code), every NIC holds exactly
 * the addresses the attachments not Detached report (no duplicate, none missing, none foreign), the ownership
 * properties of `ownershipProblems` hold, every machine ran each script only as often as justified and restarted
 * each service at most once, every step queue drained, and every poisoned message belongs to a Failed attachment.
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
    for (const step of [...(doc?.steps ?? []), ...(doc?.detachSteps ?? [])])
      (stepAttempts[step.name] ??= []).push(step.attempts);
    const where = `${key(item)} (via ${item.via}, NIC ${item.nicId})`;
    if (!doc || !planEnded(item, doc)) {
      problems.push(`${where} did not end: ${status}, currentStep ${doc?.currentStep ?? '?'}`);
      continue;
    }
    if (item.detach) {
      problems.push(...detachOutcomeProblems(item, doc, where));
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
    // A Detached attachment's result still names what it had; none of it may be left.
    const holding = plan.filter((p) => p.nicId === nicId && docs.get(key(p))?.runtimeStatus !== 'Detached');
    for (const item of holding) {
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
  const completed = plan.filter((p) => attachSucceeded(docs.get(key(p))));
  const machines = new Set<string>(['HV01', 'ContainerHostVM1', 'ContainerHostVM2']);
  for (const name of machines) {
    const machine = (await stack.armAdmin('GET', `/_emulator/machines/${name}`)) as MachineSnapshot;
    for (const run of machine.scriptRuns) {
      const group = `${name} ${run.script} ${JSON.stringify(run.parameters)}`;
      scriptRuns[group] = (scriptRuns[group] ?? 0) + 1;
    }
    problems.push(...extraRunProblems(name, machine, options.allowedRunsPerTask(name)));
    for (const [service, state] of Object.entries(machine.services)) {
      restarts[`${name} ${service}`] = state.restartCount;
      if (state.restartCount > 1) problems.push(`${name} restarted ${service} ${state.restartCount} times`);
    }
    const usedAsHost = completed.some((p) => p.request.hyperVHost.machineName === name);
    if (usedAsHost && machine.services.nchostagent?.restartCount !== 1) {
      problems.push(`${name} nchostagent restarted ${machine.services.nchostagent?.restartCount ?? 0} times, not once`);
    }
    const usedAsVm = completed.filter((p) => containerHostName(p.request) === name);
    if (usedAsVm.length > 0 && machine.services.hns?.restartCount !== 1) {
      problems.push(`${name} hns restarted ${machine.services.hns?.restartCount ?? 0} times, not once`);
    }
  }

  // Ownership on the NICs and Docker networks on the VMs, as detach leaves them (and attach before it).
  problems.push(
    ...(await ownershipProblems(
      stack,
      plan.map((item) => ({ ...item, doc: docs.get(key(item)) })),
    )),
  );

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
    if (!/attachment now (Failed|Completed|Canceled|Detached)/.test(line)) {
      problems.push(`poison handling left an attachment unfinished: ${line}`);
    }
  }

  return {
    problems,
    summary: { statuses, scriptRuns, restarts, stepAttempts, poisonMessages, poisonLogLines },
  };
}

/** How a planned detach must have ended: Detached, or Failed at the planned detach step with the planned code. */
function detachOutcomeProblems(item: PlannedAttachment, doc: StatusDocument, where: string): string[] {
  const detach = item.detach!;
  const problems: string[] = [];
  const status = doc.runtimeStatus;
  const now = `${status} at ${doc.currentStep ?? '-'}: ${doc.lastError?.code ?? '-'} ${doc.lastError?.message ?? ''}`;
  if (detach.doomed) {
    if (status !== 'Failed' || doc.currentStep !== detach.doomed.step || doc.lastError?.code !== detach.doomed.code) {
      problems.push(`${where} should be Failed at ${detach.doomed.step} with ${detach.doomed.code}, is ${now}`);
    }
  } else if (status !== 'Detached') {
    problems.push(`${where} should be Detached, is ${now}; history: ${compactHistory(doc)}`);
  }
  // Detached once its attach ended: it ended as the attach alone must have.
  const from = detachedFrom(doc);
  if (from === undefined) problems.push(`${where} has no DetachRequested and DetachStarted in its history`);
  if (detach.when === 'ended') {
    const wanted = item.doomed ? 'Failed' : 'Completed';
    if (from !== wanted) problems.push(`${where} was detached from ${from ?? '?'}, not from ${wanted}`);
    const failedStep = item.doomed && doc.steps.find((s) => s.name === item.doomed?.step);
    if (failedStep && (failedStep.status !== 'Failed' || failedStep.lastError?.code !== item.doomed?.code)) {
      problems.push(
        `${where} attach step ${failedStep.name} is ${failedStep.status} ${failedStep.lastError?.code ?? ''}, ` +
          `not Failed ${item.doomed?.code}`,
      );
    }
  }
  return problems;
}

/**
 * Runs of a product script that nothing justified. Runs are grouped per task: the machine-wide scripts by script
 * and parameters, a container network's creation and removal together by network name (the detach of a network runs
 * on the record of its creation). A run is extra when it repeats the task's previous run (same script, same
 * parameters): creating a network again after its removal is new work, creating it twice in a row is not. A task
 * may have `allowed - 1` extra runs.
 */
export function extraRunProblems(machineName: string, machine: MachineSnapshot, allowed: number): string[] {
  const NETWORK_SCRIPTS = ['ensure-container-network', 'remove-container-network'];
  const last = new Map<string, string>();
  const extra = new Map<string, number>();
  for (const run of machine.scriptRuns) {
    const name = run.parameters.NetworkName;
    const network = NETWORK_SCRIPTS.includes(run.script) ? (typeof name === 'string' ? name : '') : undefined;
    const task = network === undefined ? `${run.script} ${JSON.stringify(run.parameters)}` : `network ${network}`;
    const what = `${run.script} ${JSON.stringify(run.parameters)}`;
    if (last.get(task) === what) extra.set(what, (extra.get(what) ?? 0) + 1);
    last.set(task, what);
  }
  return [...extra]
    .filter(([, n]) => n + 1 > allowed)
    .map(([what, n]) => `${machineName} ${what} ran ${n} time(s) more than needed (${allowed - 1} justified)`);
}

/** An attachment as the ownership checks see it: what it asked for and its status document. */
export interface OwnershipEntry {
  tenantId: string;
  attachmentId: string;
  request: Pick<AttachRequestInput, 'containerHost' | 'network'>;
  doc: StatusDocument | undefined;
}

/** The owner tag (tenant/attachment) of each IP configuration on a NIC, by configuration id. */
export function ownerTags(nic: NetworkInterface): Map<string, string | undefined> {
  return new Map(
    nic.properties.ipConfigurations.map((c) => {
      const tag = c.tags?.[OWNER_TAG];
      return [c.resourceId, typeof tag === 'string' ? tag : undefined];
    }),
  );
}

/** Whether the attachment may still use its Docker network: it reached step 4 and its detach has not let go of it. */
function holdsNetwork(doc: StatusDocument | undefined): boolean {
  if (!doc || doc.runtimeStatus === 'Detached') return false;
  const created = doc.steps.find((s) => s.name === 'createContainerNetwork');
  const removed = doc.detachSteps?.find((s) => s.name === 'removeContainerNetwork');
  return (created?.attempts ?? 0) > 0 && removed?.status !== 'Succeeded';
}

/**
 * The ownership properties detach must keep, over every NIC the controller holds and the attachments' container host
 * VMs:
 * - no IP configuration anywhere is tagged for a Detached attachment;
 * - every address a Completed attachment reports is on its NIC, under the reported id, tagged for it;
 * - a Docker network an attachment names is on its VM (exactly once) iff some attachment that reached step 4 and has
 *   not let the network go (not Detached, its removeContainerNetwork not done) names it.
 */
export async function ownershipProblems(
  stack: Pick<ReliabilityStack, 'ncAdmin' | 'armAdmin'>,
  entries: readonly OwnershipEntry[],
): Promise<string[]> {
  const problems: string[] = [];
  const owner = (e: OwnershipEntry) => `${e.tenantId}/${e.attachmentId}`;
  const nics = ((await stack.ncAdmin('GET', '/networking/v1/networkInterfaces')) as { value: NetworkInterface[] })
    .value;
  const detached = new Set(entries.filter((e) => e.doc?.runtimeStatus === 'Detached').map(owner));
  for (const nic of nics) {
    for (const [id, tag] of ownerTags(nic)) {
      if (tag !== undefined && detached.has(tag)) problems.push(`NIC ${nic.resourceId} holds ${id} of Detached ${tag}`);
    }
  }
  for (const entry of entries.filter((e) => e.doc?.runtimeStatus === 'Completed')) {
    const nicId = entry.doc?.result.networkInterface?.resourceId ?? '';
    const nic = nics.find((n) => n.resourceId.toLowerCase() === nicId.toLowerCase());
    const tags = nic ? ownerTags(nic) : new Map<string, string | undefined>();
    for (const config of entry.doc?.result.ipConfigurations ?? []) {
      const held = nic?.properties.ipConfigurations.find((c) => c.resourceId === config.resourceId);
      if (held?.properties.privateIPAddress !== config.privateIPAddress) {
        problems.push(
          `Completed ${owner(entry)}: ${config.privateIPAddress} (${config.resourceId}) is not on ${nicId}`,
        );
      } else if (tags.get(config.resourceId) !== owner(entry)) {
        problems.push(
          `Completed ${owner(entry)}: ${config.resourceId} on ${nicId} is tagged for ${tags.get(config.resourceId) ?? 'nobody'}`,
        );
      }
    }
  }
  const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
  const vms = [...new Set(entries.map((e) => (e.request.containerHost as { machineName: string }).machineName))];
  for (const vm of vms) {
    const machine = (await stack.armAdmin('GET', `/_emulator/machines/${vm}`)) as MachineSnapshot;
    const onVm = entries.filter((e) => same((e.request.containerHost as { machineName: string }).machineName, vm));
    for (const network of new Set(onVm.map((e) => e.request.network.name))) {
      const users = onVm.filter((e) => same(e.request.network.name, network) && holdsNetwork(e.doc)).map(owner);
      const present = machine.dockerNetworks.filter((n) => n.name === network).length;
      if (users.length > 0 && present !== 1) {
        problems.push(`${vm} has ${network} ${present} time(s), while ${users.join(', ')} use(s) it`);
      }
      if (users.length === 0 && present !== 0) {
        problems.push(`${vm} still has ${network}, which no attachment that reached step 4 uses any more`);
      }
    }
  }
  return problems;
}
