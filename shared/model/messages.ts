import { z } from 'zod';

import { AttachmentIdSchema, TenantIdSchema } from './attachRequest';
import { machineRefSchema } from './machineRef';
import { STEP_NAMES, type StepName } from './steps';
import { readTraceContext, type TraceContext, TraceparentSchema, TracestateSchema } from './traceContext';

const StepNameSchema = z.enum(STEP_NAMES as [StepName, ...StepName[]], { error: 'must be a known step name' });

/**
 * The message every step queue carries. The attach request itself lives in the state row; the message only says
 * which attachment and step to work on, so a re-check or redelivery never carries stale data.
 */
export const StepMessageSchema = z.strictObject({
  schemaVersion: z.literal(1, { error: 'must be 1' }),
  tenantId: TenantIdSchema,
  attachmentId: AttachmentIdSchema,
  step: StepNameSchema,
  /** Set on the delayed message a step sends itself to look at a running operation again. */
  recheck: z.number().int().min(1).optional(),
  /**
   * Set on a message re-sent because another invocation held the step: it takes the step over only if that
   * invocation still holds it when the lease has run out (it died), and is dropped if the holder let go.
   */
  afterLeaseOf: z
    .string()
    .regex(/^[A-Za-z0-9-]{1,64}$/, { error: 'must be an invocation id' })
    .optional(),
  /**
   * The W3C trace context of the invocation that sent the message, so one attachment is one trace across its queue
   * hops (docs/telemetry.md). Optional: a message without it, or with a bad one, still runs, in a trace of its own.
   */
  traceparent: TraceparentSchema.optional(),
  tracestate: TracestateSchema.optional(),
});
export type StepMessage = z.infer<typeof StepMessageSchema>;

export type StepMessageParse =
  | {
      success: true;
      data: StepMessage;
      /** Why the message's trace context was dropped (the message itself is fine). */
      traceProblem?: string;
    }
  | { success: false; error: z.ZodError };

/**
 * Parses a step message. A bad trace context never fails a message that is otherwise good (the step must still
 * run), and never gets into it either: it is dropped, and the reason returned for a warning.
 */
export function parseStepMessage(raw: unknown): StepMessageParse {
  const parsed = StepMessageSchema.safeParse(raw, { reportInput: true });
  if (parsed.success) return parsed;
  if (typeof raw !== 'object' || raw === null) return parsed;
  const { traceparent, tracestate, ...rest } = raw as Record<string, unknown>;
  const trace = readTraceContext(traceparent, tracestate);
  if (!trace.problem) return parsed;
  const retried = StepMessageSchema.safeParse({ ...rest, ...trace.context }, { reportInput: true });
  return retried.success ? { ...retried, traceProblem: trace.problem } : retried;
}

/** The message as sent by an invocation whose own span is `trace`: its trace context replaced by that span's. */
export function withTraceContext<M extends { traceparent?: string; tracestate?: string }>(
  message: M,
  trace: TraceContext | undefined,
): M {
  const { traceparent: _parent, tracestate: _state, ...rest } = message;
  return (trace ? { ...rest, ...trace } : rest) as M;
}

export function stepMessage(tenantId: string, attachmentId: string, step: StepName, recheck?: number): StepMessage {
  return { schemaVersion: 1, tenantId, attachmentId, step, ...(recheck === undefined ? {} : { recheck }) };
}

/** What deletes a sent message before it is received (its pop receipt is replaced when it is). */
export interface SentMessageReceipt {
  messageId: string;
  popReceipt: string;
}

/**
 * A machine task's watch: sent by the attachment that claims the task, it looks at the task now and then while the
 * run is under way, so the steps parked on it are woken even if that attachment never comes back (its messages
 * poisoned, the attachment canceled, the lease run out). The tenant and attachment are the task's owner's.
 */
export const MachineTaskWatchMessageSchema = z.strictObject({
  schemaVersion: z.literal(1, { error: 'must be 1' }),
  tenantId: TenantIdSchema,
  attachmentId: AttachmentIdSchema,
  step: StepNameSchema,
  machine: machineRefSchema,
  subject: z.string().max(256, { error: 'must be at most 256 characters' }),
});
export type MachineTaskWatchMessage = z.infer<typeof MachineTaskWatchMessageSchema>;
