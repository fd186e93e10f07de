import type { DriveResult } from '../workload/driver';
import { ms, type StatusDocument } from '../workload/statusDocument';
import { round, summarize, type Summary } from './stats';

export interface Timeline {
  attachments: number;
  completed: number;
  failed: number;
  notEnded: number;
  /** lastError codes of attachments that did not complete, with counts. */
  failureCodes: Record<string, number>;
  /** First submission sent to last submission answered. */
  submitSpanMs: number;
  /** First submission sent to the last completion. */
  makespanMs: number;
  throughputPerSecond: number;
  endToEndMs: Summary;
  stepDurationMs: Record<string, Summary>;
  /** createdTime to step 1 start, then each step's end to the next step's start: queue hand-offs. */
  handoffGapMs: Record<string, Summary>;
  attemptsPerStep: Record<string, number>;
}

export function completedDocuments(documents: readonly StatusDocument[]): StatusDocument[] {
  return documents.filter((d) => d.runtimeStatus === 'Completed');
}

/** End-to-end time of a completed attachment: created to the last step's end (its lastUpdatedTime). */
export function endToEndMs(document: StatusDocument): number {
  return (ms(document.lastUpdatedTime) ?? Number.NaN) - (ms(document.createdTime) ?? Number.NaN);
}

export function timeline(drive: DriveResult, attachments: number): Timeline {
  const completed = completedDocuments(drive.documents);
  const failed = drive.documents.filter((d) => d.runtimeStatus === 'Failed' || d.runtimeStatus === 'Canceled');
  const failureCodes: Record<string, number> = {};
  for (const document of failed) {
    const code = document.lastError?.code ?? 'unknown';
    failureCodes[code] = (failureCodes[code] ?? 0) + 1;
  }
  const lastEnd = Math.max(...completed.map((d) => ms(d.lastUpdatedTime) ?? Number.NaN));
  const makespanMs = completed.length > 0 ? lastEnd - drive.firstSentAtMs : Number.NaN;
  const stepNames = completed[0]?.steps.map((s) => s.name) ?? [];
  const stepDurationMs: Record<string, Summary> = {};
  const handoffGapMs: Record<string, Summary> = {};
  const attemptsPerStep: Record<string, number> = {};
  stepNames.forEach((name, i) => {
    const steps = completed.map((d) => d.steps[i]);
    stepDurationMs[name] = summarize(
      steps.map((s) => (ms(s?.endedTime) ?? Number.NaN) - (ms(s?.startedTime) ?? Number.NaN)),
    );
    attemptsPerStep[name] = round(steps.reduce((sum, s) => sum + (s?.attempts ?? 0), 0) / Math.max(1, steps.length), 2);
    const label = i === 0 ? `submit → ${name}` : `${stepNames[i - 1]} → ${name}`;
    handoffGapMs[label] = summarize(
      completed.map((d) => {
        const previousEnd = i === 0 ? ms(d.createdTime) : ms(d.steps[i - 1]?.endedTime);
        return (ms(d.steps[i]?.startedTime) ?? Number.NaN) - (previousEnd ?? Number.NaN);
      }),
    );
  });
  return {
    attachments,
    completed: completed.length,
    failed: failed.length,
    notEnded: drive.timedOut,
    failureCodes,
    submitSpanMs: drive.lastAnsweredAtMs - drive.firstSentAtMs,
    makespanMs,
    throughputPerSecond: round(completed.length / (makespanMs / 1000), 2),
    endToEndMs: summarize(completed.map(endToEndMs)),
    stepDurationMs,
    handoffGapMs,
    attemptsPerStep,
  };
}
