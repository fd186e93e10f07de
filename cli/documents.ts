import { z } from 'zod';

import { RUNTIME_STATUSES } from '../shared/model/records';

/**
 * What the CLI reads of the API's answers, parsed at the edge. Loose objects: the API may add fields, and `--json`
 * prints the documents exactly as they came.
 */

const FieldDetailSchema = z.looseObject({
  code: z.string().optional(),
  target: z.string().optional(),
  message: z.string(),
});
export type FieldDetail = z.infer<typeof FieldDetailSchema>;

/** An error as the status document carries it: the remote system's own code and message. */
const ErrorInfoSchema = z.looseObject({
  source: z.string().optional(),
  code: z.string(),
  message: z.string(),
  statusCode: z.number().optional(),
  target: z.string().optional(),
  details: z.array(FieldDetailSchema).optional(),
});
export type ErrorInfo = z.infer<typeof ErrorInfoSchema>;

const StepViewSchema = z.looseObject({
  order: z.number(),
  name: z.string(),
  title: z.string(),
  status: z.string(),
  attempts: z.number(),
  startedTime: z.string().nullable(),
  endedTime: z.string().nullable(),
  lastError: ErrorInfoSchema.optional(),
  detail: z.record(z.string(), z.unknown()).optional(),
});
export type StepView = z.infer<typeof StepViewSchema>;

/** The status document (`GET …/attachments/{id}`) or, without `steps`, the summary other answers carry. */
export const AttachmentDocumentSchema = z.looseObject({
  id: z.string(),
  tenantId: z.string(),
  runtimeStatus: z.enum(RUNTIME_STATUSES),
  currentStep: z.string().nullable(),
  createdTime: z.string(),
  lastUpdatedTime: z.string(),
  statusQueryGetUri: z.string(),
  steps: z.array(StepViewSchema).optional(),
  detachSteps: z.array(StepViewSchema).optional(),
  lastError: ErrorInfoSchema.nullable().optional(),
  result: z.record(z.string(), z.unknown()).optional(),
});
export type AttachmentDocument = z.infer<typeof AttachmentDocumentSchema>;

export const AttachmentListSchema = z.looseObject({
  value: z.array(AttachmentDocumentSchema),
  nextLink: z.string().nullable(),
});
export type AttachmentList = z.infer<typeof AttachmentListSchema>;

/** A registry entry as the admin API shows it (`tenantView`). */
export const TenantDocumentSchema = z.looseObject({
  tenantId: z.string(),
  networkControllers: z.record(z.string(), z.looseObject({ virtualNetworks: z.array(z.string()) })),
  machines: z.array(z.looseObject({ machineName: z.string() })),
  principals: z.array(z.string()),
  lastUpdatedTime: z.string().optional(),
});
export type TenantDocument = z.infer<typeof TenantDocumentSchema>;

export const TenantListSchema = z.looseObject({
  value: z.array(TenantDocumentSchema),
  nextLink: z.string().nullable(),
});
export type TenantList = z.infer<typeof TenantListSchema>;

/** Every error answer: `{"error":{"code","message","details"?}}`. */
export const ErrorBodySchema = z.object({
  error: z.looseObject({ code: z.string(), message: z.string(), details: z.array(FieldDetailSchema).optional() }),
});
