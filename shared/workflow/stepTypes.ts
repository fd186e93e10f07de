import type { AcceptedAttachRequest } from '../model/attachRequest';
import type { StepMessage } from '../model/messages';
import type { AttachmentResult, StepState } from '../model/records';
import type { StepName } from '../model/steps';
import type { TraceContext } from '../model/traceContext';
import type { OperationOptions } from '../networkController/NetworkControllerClient';

/** What a step sees of the attachment it works on; I/O comes in through the step's own deps. */
export interface StepRunContext<C extends Record<string, unknown>> {
  tenantId: string;
  attachmentId: string;
  request: AcceptedAttachRequest;
  /** Deliveries that worked on this step so far, this one included. */
  attempt: number;
  /** What earlier steps produced (NIC, subnet prefix...). */
  result: AttachmentResult;
  /** Every step's state as the delivery found it (a detach step reads how far the attach got). */
  steps: Readonly<Record<StepName, Readonly<StepState>>>;
  /** This step's checkpoint from an earlier delivery, if any. */
  checkpoint?: C;
  /** Stores the checkpoint now (etag-guarded), before the step makes a change that a redelivery must not repeat. */
  saveCheckpoint(checkpoint: C): Promise<void>;
  /** How long this invocation may wait for a remote operation before handing over to a delayed re-check. */
  inlineWaitInMs: number;
  options: OperationOptions;
  nowInMs: () => number;
  sleep: (ms: number) => Promise<void>;
  log(message: string): void;
  /** This delivery's own span: what a message sent on this attachment's behalf (a parked step's wake-up) carries. */
  traceContext?: TraceContext;
}

export type StepOutcome<C extends Record<string, unknown>> =
  | { kind: 'succeeded'; result: AttachmentResult; detail: Record<string, unknown> }
  | {
      kind: 'waiting';
      checkpoint: C;
      /** When to look again (a parked step has no timer: it is looked at again when woken). */
      checkAfterInMs: number;
      message: string;
      /**
       * Set when the step waits for something another invocation will finish (another attachment's run on the same
       * machine): instead of polling, the executor parks the step once its waiting state is stored, and whoever
       * finishes that work (or the work's watch, should its owner die) sends the re-check. Resolves false when the
       * wait ended meanwhile (look again at once).
       */
      park?: (recheck: number) => Promise<boolean>;
    };

/** One step's logic: runs (or continues) the step for one delivery. */
export type StepImplementation = (
  run: StepRunContext<Record<string, unknown>>,
) => Promise<StepOutcome<Record<string, unknown>>>;

export type StepSucceeded = Extract<StepOutcome<Record<string, unknown>>, { kind: 'succeeded' }>;

/** Answers, changing nothing, with the step's success when it needs no work; undefined otherwise. */
export type StepProbe = (run: StepRunContext<Record<string, unknown>>) => Promise<StepSucceeded | undefined>;

/** One delivery of a step message, as the queue trigger reports it. */
export interface Delivery {
  dequeueCount: number;
  /** The step of the queue the message arrived on; a message for another step is misrouted. */
  expectedStep?: StepName;
  invocationId: string;
  /** This invocation's own span: the parent of every message it sends (docs/telemetry.md). */
  traceContext?: TraceContext;
  /** `subject` is what the line is about, once the message says it: it becomes the record's dimensions. */
  log(level: 'info' | 'warn' | 'error', message: string, subject?: LogSubject): void;
}

/** The attachment and step a log line is about. */
export interface LogSubject {
  tenantId: string;
  attachmentId: string;
  step: StepName;
}

/** What the handler hands to the output binding: the next step's message, if any. */
export interface StepDeliveryResult {
  next?: StepMessage;
}
