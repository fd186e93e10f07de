import { BARE_ROUTE, BARE_STEP_FUNCTION } from '../floor/names';
import type { RunnerProcess } from '../infra/runnerProcess';
import { mapConcurrent, sleep } from './pool';
import type { BenchAttachment } from './requests';
import { isTerminal, parseStatusDocument, type StatusDocument } from './statusDocument';

/** Submissions in flight at once: a busy operator's automation, not a flood. */
const SUBMIT_CONCURRENCY = 50;
const READ_CONCURRENCY = 20;
const LOG_CHECK_INTERVAL_IN_MS = 250;
/**
 * Status reads are a fallback only, for when the runner's log stops reporting progress (its wording changed, or an
 * attachment is stuck); while the runner keeps working, the bench reads nothing. Progress is any log line, not an
 * attachment ending: with realistic latencies none ends for the first minute, and a sweep of every open status
 * document each few seconds would be a second workload on the app and Azurite.
 */
const STALL_IN_MS = 5_000;
/** Sequential mode watches one attachment's step 1 at a time; this is the status read interval while it does. */
const STEP_WATCH_INTERVAL_IN_MS = 20;

export interface Submission {
  attachment: BenchAttachment;
  sentAtMs: number;
  answeredAtMs: number;
}

/** The floor's bare submits (bench/floor/entry.ts), sent in the same burst as the attachments. */
export interface BareResult {
  submissions: { sentAtMs: number; answeredAtMs: number }[];
  /** Bare steps the runner's log reports as succeeded by the end. */
  stepsSucceeded: number;
}

export interface DriveResult {
  submissions: Submission[];
  bare?: BareResult;
  firstSentAtMs: number;
  lastAnsweredAtMs: number;
  documents: StatusDocument[];
  /** Attachments still not ended when the deadline passed. */
  timedOut: number;
  /** Status-document reads made while waiting (0 when the runner's log told us everything). */
  statusReadsWhileWaiting: number;
}

function key(attachment: { tenantId: string; attachmentId: string }): string {
  return `${attachment.tenantId}/${attachment.attachmentId}`;
}

function statusUrl(apiUrl: string, attachment: BenchAttachment): string {
  return `${apiUrl}/tenants/${encodeURIComponent(attachment.tenantId)}/attachments/${encodeURIComponent(attachment.attachmentId)}`;
}

async function readStatus(apiUrl: string, attachment: BenchAttachment): Promise<StatusDocument | undefined> {
  const response = await fetch(statusUrl(apiUrl, attachment));
  const text = await response.text();
  if (response.status !== 200 && response.status !== 202) return undefined;
  return parseStatusDocument(JSON.parse(text));
}

/**
 * Registers every tenant the attachments name, through the admin API (the local runner's caller is the operator),
 * for exactly the controller, virtual networks and machines their requests name. Before the clock starts.
 */
async function registerTenants(apiUrl: string, attachments: readonly BenchAttachment[]): Promise<void> {
  const entries = new Map<string, { networks: Set<string>; machines: Set<string> }>();
  for (const { tenantId, body: request } of attachments) {
    // The bench's own requests (requests.ts): these fields are always set.
    const body = request as {
      virtualNetworkId: string;
      hyperVHost: { machineName: string };
      containerHost: { machineName: string };
    };
    const entry = entries.get(tenantId) ?? { networks: new Set<string>(), machines: new Set<string>() };
    entry.networks.add(body.virtualNetworkId);
    entry.machines.add(body.hyperVHost.machineName).add(body.containerHost.machineName);
    entries.set(tenantId, entry);
  }
  await mapConcurrent([...entries], SUBMIT_CONCURRENCY, async ([tenantId, entry]) => {
    const response = await fetch(`${apiUrl}/admin/tenants/${encodeURIComponent(tenantId)}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        networkControllers: { default: { virtualNetworks: [...entry.networks] } },
        machines: [...entry.machines].map((machineName) => ({ machineName })),
      }),
    });
    if (response.status !== 201 && response.status !== 200)
      throw new Error(`register ${tenantId}: ${response.status} ${(await response.text()).slice(0, 500)}`);
  });
}

async function submit(apiUrl: string, attachment: BenchAttachment): Promise<Submission> {
  const sentAtMs = Date.now();
  const response = await fetch(`${apiUrl}/tenants/${encodeURIComponent(attachment.tenantId)}/attachments`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(attachment.body),
  });
  const text = await response.text();
  if (response.status !== 202) throw new Error(`submit ${key(attachment)}: ${response.status} ${text.slice(0, 500)}`);
  return { attachment, sentAtMs, answeredAtMs: Date.now() };
}

async function submitBare(apiUrl: string, id: string): Promise<{ sentAtMs: number; answeredAtMs: number }> {
  const sentAtMs = Date.now();
  const response = await fetch(`${apiUrl}/${BARE_ROUTE.replace('{id}', encodeURIComponent(id))}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ id }),
  });
  const text = await response.text();
  if (response.status !== 202) throw new Error(`bare submit ${id}: ${response.status} ${text.slice(0, 500)}`);
  return { sentAtMs, answeredAtMs: Date.now() };
}

/** Waits until every attachment has ended (or the deadline passed); returns the status reads it needed. */
async function waitForEnd(
  runner: RunnerProcess,
  attachments: readonly BenchAttachment[],
  deadline: number,
  confirmed: Map<string, StatusDocument>,
  onEnded?: () => void,
): Promise<number> {
  let endedReported = false;
  let reads = 0;
  let lastSweepAt = Date.now();
  while (confirmed.size < attachments.length && Date.now() < deadline) {
    const open = attachments.filter((a) => !confirmed.has(key(a)));
    const logSaysDone = open.every((a) => runner.ended.has(key(a)));
    const lastProgressAt = Math.max(runner.lastOutputAtInMs(), lastSweepAt);
    if (logSaysDone && !endedReported) {
      endedReported = true;
      onEnded?.();
    }
    if (logSaysDone || Date.now() - lastProgressAt >= STALL_IN_MS) {
      // Confirm with the documents; also the fallback should the log's wording change.
      const documents = await mapConcurrent(open, READ_CONCURRENCY, (a) => readStatus(runner.apiUrl, a));
      reads += open.length;
      documents.forEach((document, i) => {
        const attachment = open[i];
        if (document && attachment && isTerminal(document)) confirmed.set(key(attachment), document);
      });
      lastSweepAt = Date.now();
      if (confirmed.size === attachments.length) break;
    }
    await sleep(logSaysDone ? 1_000 : LOG_CHECK_INTERVAL_IN_MS);
  }
  return reads;
}

async function finish(
  runner: RunnerProcess,
  attachments: readonly BenchAttachment[],
  submissions: Submission[],
  deadline: number,
  readsSoFar: number,
  onEnded?: () => void,
): Promise<DriveResult> {
  // A document read once its attachment had ended (Completed, Failed, Canceled) is final: it is not read again.
  const confirmed = new Map<string, StatusDocument>();
  const statusReadsWhileWaiting = readsSoFar + (await waitForEnd(runner, attachments, deadline, confirmed, onEnded));
  const documents = (
    await mapConcurrent(
      attachments,
      READ_CONCURRENCY,
      async (a) => confirmed.get(key(a)) ?? (await readStatus(runner.apiUrl, a)),
    )
  ).filter((d): d is StatusDocument => d !== undefined);
  return {
    submissions,
    firstSentAtMs: Math.min(...submissions.map((s) => s.sentAtMs)),
    lastAnsweredAtMs: Math.max(...submissions.map((s) => s.answeredAtMs)),
    documents,
    timedOut: documents.filter((d) => !isTerminal(d)).length + (attachments.length - documents.length),
    statusReadsWhileWaiting,
  };
}

/**
 * Submits every attachment over HTTP (bounded concurrency), waits until each has ended, then reads every status
 * document. `onEnded` runs once the runner's log says every attachment has ended, before the bench's own status
 * reads, so CPU and storage counts taken there are the attachments' alone. Latency comes from the documents' own times (createdTime, step start/end, lastUpdatedTime), so how
 * the bench waits does not change what it measures; while waiting it only reads the runner's log.
 */
export async function drive(
  runner: RunnerProcess,
  attachments: readonly BenchAttachment[],
  deadlineInMs: number,
  onEnded?: () => void,
  bareCount = 0,
): Promise<DriveResult> {
  await registerTenants(runner.apiUrl, attachments);
  const deadline = Date.now() + deadlineInMs;
  // The floor's bare submits go interleaved with the attachments, through the same pool: one burst.
  const jobs: ({ attachment: BenchAttachment } | { bareId: string })[] = [];
  for (let i = 0; i < Math.max(attachments.length, bareCount); i++) {
    const attachment = attachments[i];
    if (attachment) jobs.push({ attachment });
    if (i < bareCount) jobs.push({ bareId: `bare-${i}` });
  }
  const submissions: Submission[] = [];
  const bare: BareResult = { submissions: [], stepsSucceeded: 0 };
  await mapConcurrent(jobs, SUBMIT_CONCURRENCY, async (job) => {
    if ('attachment' in job) submissions.push(await submit(runner.apiUrl, job.attachment));
    else bare.submissions.push(await submitBare(runner.apiUrl, job.bareId));
  });
  submissions.sort((a, b) => a.attachment.index - b.attachment.index);
  const result = await finish(runner, attachments, submissions, deadline, 0, onEnded);
  if (bareCount === 0) return result;
  const bareSteps = () => runner.invocations.get(BARE_STEP_FUNCTION)?.succeeded ?? 0;
  while (bareSteps() < bareCount && Date.now() < deadline) await sleep(LOG_CHECK_INTERVAL_IN_MS);
  bare.stepsSucceeded = bareSteps();
  return { ...result, bare };
}

/**
 * One attachment at a time: the next is submitted once the previous one's step 1 has ended, so each step 1 has
 * the controller to itself and every controller request in its window is its own (the lookup scenario).
 */
export async function driveSequentially(
  runner: RunnerProcess,
  attachments: readonly BenchAttachment[],
  deadlineInMs: number,
  onEnded?: () => void,
): Promise<DriveResult> {
  await registerTenants(runner.apiUrl, attachments);
  const deadline = Date.now() + deadlineInMs;
  const submissions: Submission[] = [];
  let reads = 0;
  for (const attachment of attachments) {
    submissions.push(await submit(runner.apiUrl, attachment));
    while (Date.now() < deadline) {
      const document = await readStatus(runner.apiUrl, attachment);
      reads++;
      if (document && (document.steps[0]?.endedTime || isTerminal(document))) break;
      await sleep(STEP_WATCH_INTERVAL_IN_MS);
    }
  }
  return finish(runner, attachments, submissions, deadline, reads, onEnded);
}
