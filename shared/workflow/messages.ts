import { z } from 'zod';

import { AttachmentIdSchema, TenantIdSchema } from './attachRequest';
import { STEP_NAMES, type StepName } from './steps';

/**
 * The message every step queue carries. The attach request itself lives in the state row; the message only says
 * which attachment and step to work on, so a re-check or redelivery never carries stale data.
 */
export const StepMessageSchema = z.strictObject({
  schemaVersion: z.literal(1, { error: 'must be 1' }),
  tenantId: TenantIdSchema,
  attachmentId: AttachmentIdSchema,
  step: z.enum(STEP_NAMES as [StepName, ...StepName[]], { error: 'must be a known step name' }),
  /** Set on the delayed message a step sends itself to look at a running operation again. */
  recheck: z.number().int().min(1).optional(),
});
export type StepMessage = z.infer<typeof StepMessageSchema>;

export function stepMessage(tenantId: string, attachmentId: string, step: StepName, recheck?: number): StepMessage {
  return { schemaVersion: 1, tenantId, attachmentId, step, ...(recheck === undefined ? {} : { recheck }) };
}
