import type { AttachmentDocument, ErrorInfo, StepView } from './documents';
import { hasEnded } from './watchAttachment';

/** Where progress goes: the terminal (redrawn in place) or a pipe or file (one line per change). */
export interface OutputStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const MARKS: Record<string, string> = { Succeeded: '✔', Failed: '✖', Canceled: '⊘', Pending: '·' };

export function formatDuration(ms: number): string {
  const clamped = Math.max(0, ms);
  if (clamped < 60_000) return `${(clamped / 1000).toFixed(1)}s`;
  const minutes = Math.floor(clamped / 60_000);
  const seconds = Math.floor((clamped % 60_000) / 1000);
  return `${minutes}m${String(seconds).padStart(2, '0')}s`;
}

function elapsedOf(startedTime: string | null, endedTime: string | null, nowInMs: number): number | undefined {
  if (!startedTime) return undefined;
  const end = endedTime ? Date.parse(endedTime) : nowInMs;
  return end - Date.parse(startedTime);
}

/** "NetworkController InvalidResourceReference (HTTP 500): The ACL reference is not valid." */
export function describeError(error: ErrorInfo): string {
  const source = error.source ? `${error.source} ` : '';
  const status = error.statusCode !== undefined ? ` (HTTP ${error.statusCode})` : '';
  const target = error.target ? ` [${error.target}]` : '';
  return `${source}${error.code}${status}${target}: ${error.message}`;
}

interface LabelledStep {
  step: StepView;
  label: string;
}

/** The attach steps, then the detach steps once a detach was asked for, each with "1/4" or "detach 1/2". */
function labelledSteps(document: AttachmentDocument): LabelledStep[] {
  const attach = document.steps ?? [];
  const detach = document.detachSteps ?? [];
  return [
    ...attach.map((step) => ({ step, label: `${step.order}/${attach.length}` })),
    ...detach.map((step) => ({ step, label: `detach ${step.order}/${detach.length}` })),
  ];
}

/** The header and one line per step, as the terminal shows them (a spinner frame for running steps). */
export function documentLines(document: AttachmentDocument, nowInMs: number, frame = 0): string[] {
  const ended = hasEnded(document);
  const total = elapsedOf(document.createdTime, ended ? document.lastUpdatedTime : null, nowInMs);
  const lines = [
    `${document.tenantId}/${document.id}: ${document.runtimeStatus}${total === undefined ? '' : ` (${formatDuration(total)})`}`,
  ];
  const spinner = SPINNER[frame % SPINNER.length] ?? '*';
  const width = Math.max(...labelledSteps(document).map(({ step }) => step.title.length), 0);
  for (const { step, label } of labelledSteps(document)) {
    const mark = step.status === 'Running' ? (ended ? '…' : spinner) : (MARKS[step.status] ?? '?');
    const elapsed = elapsedOf(step.startedTime, step.endedTime, nowInMs);
    const parts = [`  ${mark} ${label.padStart(3)} ${step.title.padEnd(width)}`];
    if (step.attempts > 0) parts.push(`attempt ${step.attempts}`);
    if (elapsed !== undefined) parts.push(formatDuration(elapsed));
    if (step.status === 'Running' && step.lastError) parts.push(`retrying after ${step.lastError.code}`);
    lines.push(parts.join('  '));
  }
  return lines;
}

/** What went wrong, once an attachment has Failed: the remote code and message, field details and the step's detail. */
export function failureLines(document: AttachmentDocument): string[] {
  if (document.runtimeStatus !== 'Failed') return [];
  const failed = labelledSteps(document).find(({ step }) => step.status === 'Failed');
  const error = document.lastError ?? failed?.step.lastError;
  const where = failed ? ` at step ${failed.label} ${failed.step.name}` : '';
  const lines = [`Failed${where}: ${error ? describeError(error) : 'no error recorded'}`];
  for (const detail of error?.details ?? [])
    lines.push(`  ${detail.target ?? '(request)'}: ${detail.message}${detail.code ? ` (${detail.code})` : ''}`);
  if (failed?.step.detail) lines.push(`  step detail: ${JSON.stringify(failed.step.detail)}`);
  return lines;
}

/** The result of a Completed attachment in a line: addresses on the NIC and the container network. */
export function resultLines(document: AttachmentDocument): string[] {
  if (document.runtimeStatus !== 'Completed' || !document.result) return [];
  const result = document.result as {
    networkInterface?: { resourceId?: string };
    ipConfigurations?: { privateIPAddress?: string }[];
    containerNetwork?: { name?: unknown; id?: unknown };
  };
  const addresses = (result.ipConfigurations ?? []).map((c) => c.privateIPAddress ?? '?');
  const parts: string[] = [];
  if (addresses.length > 0)
    parts.push(
      `${addresses.length} IP configuration(s) on ${result.networkInterface?.resourceId ?? 'the NIC'}` +
        ` (${addresses.length > 2 ? `${addresses[0]} … ${addresses[addresses.length - 1]}` : addresses.join(', ')})`,
    );
  const network = result.containerNetwork;
  if (network && typeof network.name === 'string')
    parts.push(`network ${network.name}${typeof network.id === 'string' ? ` (${network.id.slice(0, 12)})` : ''}`);
  return parts.length > 0 ? [`Result: ${parts.join('; ')}`] : [];
}

/** The human form of a status document (`status` without `--json`). */
export function documentReport(document: AttachmentDocument, nowInMs: number): string[] {
  return [...documentLines(document, nowInMs), ...failureLines(document), ...resultLines(document)];
}

export interface Progress {
  update(document: AttachmentDocument): void;
  /** Draws the last state for good and writes what went wrong, if anything. */
  finish(document: AttachmentDocument): void;
  /** Stops drawing (Ctrl-C) without a final report. */
  stop(): void;
}

/** Without a terminal: one plain line per change of the attachment's status or of a step's status or attempt. */
export class PlainProgress implements Progress {
  readonly #out: OutputStream;
  readonly #seen = new Map<string, string>();
  #status: string | undefined;

  constructor(out: OutputStream) {
    this.#out = out;
  }

  update(document: AttachmentDocument): void {
    const id = document.id;
    if (document.runtimeStatus !== this.#status && !hasEnded(document)) {
      this.#status = document.runtimeStatus;
      this.#out.write(`${id}: ${document.runtimeStatus}\n`);
    }
    for (const { step, label } of labelledSteps(document)) {
      const key = `${step.status}|${step.attempts}`;
      const before = this.#seen.get(step.name);
      this.#seen.set(step.name, key);
      if (key === before || (before === undefined && step.status === 'Pending')) continue;
      const elapsed = elapsedOf(step.startedTime, step.endedTime, Date.now());
      const facts = [`attempt ${step.attempts}`];
      if (step.status !== 'Running' && elapsed !== undefined) facts.push(formatDuration(elapsed));
      if (step.status === 'Running' && step.lastError) facts.push(`last error ${describeError(step.lastError)}`);
      this.#out.write(`${id}: step ${label} ${step.name} ${step.status} (${facts.join(', ')})\n`);
    }
  }

  finish(document: AttachmentDocument): void {
    this.update(document);
    const total = elapsedOf(document.createdTime, document.lastUpdatedTime, Date.now());
    this.#out.write(
      `${document.id}: ${document.runtimeStatus}${total === undefined ? '' : ` (${formatDuration(total)})`}\n`,
    );
    for (const line of [...failureLines(document), ...resultLines(document)]) this.#out.write(`${line}\n`);
  }

  stop(): void {}
}

/** On a terminal: the header and the steps, redrawn in place, with a spinner on the running step. */
export class TtyProgress implements Progress {
  readonly #out: OutputStream;
  readonly #nowInMs: () => number;
  #document: AttachmentDocument | undefined;
  #drawn = 0;
  #frame = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(out: OutputStream, nowInMs: () => number = Date.now) {
    this.#out = out;
    this.#nowInMs = nowInMs;
  }

  update(document: AttachmentDocument): void {
    this.#document = document;
    if (!this.#timer) {
      this.#out.write('\x1b[?25l');
      this.#timer = setInterval(() => {
        this.#frame++;
        this.#draw();
      }, 100);
    }
    this.#draw();
  }

  finish(document: AttachmentDocument): void {
    this.#document = document;
    this.#draw();
    this.stop();
    for (const line of [...failureLines(document), ...resultLines(document)]) this.#out.write(`${line}\n`);
  }

  stop(): void {
    if (this.#timer) {
      clearInterval(this.#timer);
      this.#timer = undefined;
      this.#out.write('\x1b[?25h');
    }
  }

  #draw(): void {
    if (!this.#document) return;
    // A line wider than the terminal wraps, and the cursor would then go back up too few lines.
    const width = Math.max(20, (this.#out.columns || 100) - 1);
    const lines = documentLines(this.#document, this.#nowInMs(), this.#frame).map((line) =>
      line.length > width ? `${line.slice(0, width - 1)}…` : line,
    );
    let text = this.#drawn > 0 ? `\x1b[${this.#drawn}A` : '';
    for (const line of lines) text += `\x1b[2K${line}\n`;
    this.#out.write(text);
    this.#drawn = lines.length;
  }
}
