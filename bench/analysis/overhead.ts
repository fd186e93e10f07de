import type { RequestLogEntry } from '../infra/ncAdmin';
import { ms, type StatusDocument } from '../workload/statusDocument';
import { classifyNcRequest, nicIdOf } from './ncTraffic';
import { summarize, type Summary, unionLength } from './stats';

/** How a host step (2-4) got its machine task done, as its status detail says. */
export type HostStepRole = 'ran' | 'waited' | 'reused';

export interface StepOverhead {
  durationMs: Summary;
  externalMs: Summary;
  overheadMs: Summary;
  /** Host steps: how many ran the script, waited for another attachment's run, or reused an applied one. */
  roles?: Record<HostStepRole, { count: number; overheadMs: Summary }>;
}

export interface OverheadReport {
  byStep: Record<string, StepOverhead>;
  /**
   * Step 1 cut at its own NIC requests: start → first request on its NIC (claim, shared reads or cache, any
   * batching wait), first NIC request → end of its last PUT, end of that PUT → step end (provisioning, polls, the
   * final read, the state write).
   */
  step1PhasesMs: Record<string, Summary>;
  /** Every (attachment, step) pair together. */
  allStepsMs: Summary;
}

export interface OverheadInputs {
  documents: readonly StatusDocument[];
  ncLog: readonly RequestLogEntry[];
  provisioningDelayInMs: number;
  runDurationInMs: number;
  nicIdOf(document: StatusDocument): string;
}

type Interval = readonly [number, number];

const SHARED_READS = new Set(['listNics', 'getVirtualNetwork', 'listSubnets', 'getSubnet', 'getAcl']);

function interval(entry: RequestLogEntry): Interval {
  const start = Date.parse(entry.time);
  return [start, start + entry.durationInMs];
}

function clip([start, end]: Interval, from: number, to: number): Interval {
  return [Math.max(start, from), Math.min(end, to)];
}

/**
 * Step 1's external time: the union of (a) every request on the attachment's own NIC during the step (exact: one
 * NIC per attachment), (b) per kind of shared read (NIC list, subnets, ACL), the latest such request that ended
 * inside the step before its first NIC request (the one it waited for, whether its own or a cached one in flight;
 * the log cannot say whose it was), (c) for each accepted PUT, the emulated provisioning delay after it plus one
 * median operation poll (the poll that saw Succeeded; operation ids are not linked to NICs in the log).
 */
function addIpConfigurationsExternalMs(
  inputs: OverheadInputs,
  document: StatusDocument,
  start: number,
  end: number,
  medianOperationPollMs: number,
  byNic: Map<string, RequestLogEntry[]>,
  sharedReads: RequestLogEntry[],
): number {
  const own = (byNic.get(inputs.nicIdOf(document).toLowerCase()) ?? []).filter((entry) => {
    const [s] = interval(entry);
    return s >= start - 2 && s <= end + 2;
  });
  const firstNicStart = Math.min(end, ...own.map((e) => interval(e)[0]));
  const intervals: Interval[] = own.map(interval);
  const latest = new Map<string, Interval>();
  for (const entry of sharedReads) {
    const [s, e] = interval(entry);
    if (e <= start || e > firstNicStart + 1 || s >= firstNicStart) continue;
    const kind = classifyNcRequest(entry);
    const current = latest.get(kind);
    if (!current || e > current[1]) latest.set(kind, [s, e]);
  }
  intervals.push(...latest.values());
  for (const put of own.filter((e) => e.method === 'PUT' && e.status < 300)) {
    const [s] = interval(put);
    const settled = s + inputs.provisioningDelayInMs;
    intervals.push([s, settled], [settled, settled + medianOperationPollMs]);
  }
  return unionLength(intervals.map((i) => clip(i, start, end)));
}

function hostStepRole(step: StatusDocument['steps'][number], start: number): HostStepRole {
  if (step.detail?.reused !== true) return 'ran';
  const appliedAt = ms(typeof step.detail.appliedTime === 'string' ? step.detail.appliedTime : undefined);
  return appliedAt !== undefined && appliedAt >= start ? 'waited' : 'reused';
}

/**
 * Per-step overhead = step duration (endedTime - startedTime) minus the external time the step waited on. Host
 * steps: a step that ran the script waited the emulated run duration (its ARM calls are not logged by the ARM
 * emulator, so they count as overhead: a few ms each); a step that waited for another attachment's run waited for
 * the part of that run (the owner's step start plus the run duration) inside its own window; a reuse waited on
 * nothing external.
 */
export function stepOverheads(inputs: OverheadInputs): OverheadReport {
  const completed = inputs.documents.filter((d) => d.runtimeStatus === 'Completed');
  const byNic = new Map<string, RequestLogEntry[]>();
  const sharedReads: RequestLogEntry[] = [];
  const polls: number[] = [];
  for (const entry of inputs.ncLog) {
    const kind = classifyNcRequest(entry);
    const nic = nicIdOf(entry);
    if ((kind === 'getNic' || kind === 'putNic') && nic) {
      let entries = byNic.get(nic);
      if (!entries) byNic.set(nic, (entries = []));
      entries.push(entry);
    } else if (SHARED_READS.has(kind)) sharedReads.push(entry);
    else if (kind === 'getOperation') polls.push(entry.durationInMs);
  }
  const medianPoll = polls.length > 0 ? summarize(polls).median : 0;
  const owners = new Map(completed.map((d) => [`${d.tenantId}/${d.id}`, d]));

  const phases = {
    'start → first NIC request': [] as number[],
    'NIC read + PUT': [] as number[],
    'PUT → step end': [] as number[],
  };
  for (const document of completed) {
    const start = ms(document.steps[0]?.startedTime) ?? Number.NaN;
    const end = ms(document.steps[0]?.endedTime) ?? Number.NaN;
    const own = (byNic.get(inputs.nicIdOf(document).toLowerCase()) ?? [])
      .map((entry) => ({ entry, span: interval(entry) }))
      .filter(({ span }) => span[0] >= start - 2 && span[0] <= end + 2);
    const puts = own.filter(({ entry }) => entry.method === 'PUT');
    const first = own[0];
    const lastPut = puts[puts.length - 1];
    if (!first || !lastPut) continue;
    phases['start → first NIC request'].push(first.span[0] - start);
    phases['NIC read + PUT'].push(lastPut.span[1] - first.span[0]);
    phases['PUT → step end'].push(end - lastPut.span[1]);
  }
  const step1PhasesMs = Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, summarize(v)]));

  const stepNames = completed[0]?.steps.map((s) => s.name) ?? [];
  const byStep: Record<string, StepOverhead> = {};
  const all: number[] = [];
  stepNames.forEach((name, i) => {
    const rows = completed.map((document) => {
      const step = document.steps[i];
      const start = ms(step?.startedTime) ?? Number.NaN;
      const end = ms(step?.endedTime) ?? Number.NaN;
      const duration = end - start;
      let external = 0;
      let role: HostStepRole | undefined;
      if (i === 0) {
        external = addIpConfigurationsExternalMs(inputs, document, start, end, medianPoll, byNic, sharedReads);
      } else if (step) {
        role = hostStepRole(step, start);
        if (role === 'ran') external = Math.min(inputs.runDurationInMs, duration);
        else if (role === 'waited') {
          const owner = owners.get(String(step.detail?.appliedBy));
          const ownerStart = ms(owner?.steps[i]?.startedTime);
          if (ownerStart !== undefined)
            external = unionLength([clip([ownerStart, ownerStart + inputs.runDurationInMs], start, end)]);
        }
      }
      const overhead = Math.max(0, duration - external);
      all.push(overhead);
      return { duration, external, overhead, role };
    });
    const report: StepOverhead = {
      durationMs: summarize(rows.map((r) => r.duration)),
      externalMs: summarize(rows.map((r) => r.external)),
      overheadMs: summarize(rows.map((r) => r.overhead)),
    };
    if (i > 0) {
      const roles = {} as Record<HostStepRole, { count: number; overheadMs: Summary }>;
      for (const role of ['ran', 'waited', 'reused'] as const) {
        const picked = rows.filter((r) => r.role === role);
        roles[role] = { count: picked.length, overheadMs: summarize(picked.map((r) => r.overhead)) };
      }
      report.roles = roles;
    }
    byStep[name] = report;
  });
  return { byStep, step1PhasesMs, allStepsMs: summarize(all) };
}
