import { z } from 'zod';

import { AttachRequestSchema } from '../model/attachRequest';
import { machineRefSchema } from '../model/machineRef';
import { RUNTIME_STATUSES } from '../model/records';
import { STEP_NAMES } from '../model/steps';
import { TenantEntrySchema } from '../model/tenant';

/**
 * The API's answers as zod schemas: the view functions return these types, and docs/openapi.json is generated from
 * them (shared/api/openApi.ts). Requests keep their own schemas in shared/model.
 */

// Timestamps are ISO 8601 as Date.toISOString writes them; typed here, never parsed.
const Timestamp = z.string().meta({ format: 'date-time' });
const StepName = z.enum(STEP_NAMES);
const RuntimeStatus = z.enum(RUNTIME_STATUSES);

export const ErrorInfoSchema = z.object({
  source: z.enum(['App', 'NetworkController', 'AzureResourceManager', 'RunCommand', 'KeyVault', 'Storage']),
  code: z.string(),
  message: z.string(),
  retryable: z.boolean(),
  statusCode: z.number().int().optional(),
  requestId: z.string().optional(),
  target: z.string().optional(),
  details: z.array(z.object({ code: z.string(), message: z.string(), target: z.string().optional() })).optional(),
});

/** `{"error":{"code","message","details"?}}`: every error answer; `details` names each bad field. */
export const ErrorResponseSchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.array(z.object({ code: z.string(), target: z.string(), message: z.string() })).optional(),
  }),
});

export const AttachmentSummarySchema = z.object({
  id: z.string(),
  tenantId: z.string(),
  runtimeStatus: RuntimeStatus,
  currentStep: StepName.nullable(),
  createdTime: Timestamp,
  lastUpdatedTime: Timestamp,
  /** The status document's URL, as `Location` says. */
  statusQueryGetUri: z.url(),
});
export type AttachmentSummary = z.infer<typeof AttachmentSummarySchema>;

export const StepViewSchema = z.object({
  order: z.number().int().min(1),
  name: StepName,
  title: z.string(),
  status: z.enum(['Pending', 'Running', 'Succeeded', 'Failed', 'Canceled']),
  attempts: z.number().int().min(0),
  startedTime: Timestamp.nullable(),
  endedTime: Timestamp.nullable(),
  lastError: ErrorInfoSchema.optional(),
  /** What the step did: machine, script and version, exit code, result line, NIC, addresses... */
  detail: z.record(z.string(), z.unknown()).optional(),
});
export type StepView = z.infer<typeof StepViewSchema>;

export const HistoryEventSchema = z.object({
  time: Timestamp,
  type: z.enum([
    'Submitted',
    'StepStarted',
    'StepWaiting',
    'StepRetrying',
    'StepSucceeded',
    'StepFailed',
    'Completed',
    'Failed',
    'CancelRequested',
    'Canceled',
    'Retried',
    'DetachRequested',
    'DetachStarted',
    'Detached',
    'RepairRequested',
  ]),
  step: StepName.optional(),
  attempt: z.number().int().optional(),
  dequeueCount: z.number().int().optional(),
  message: z.string().optional(),
  error: ErrorInfoSchema.optional(),
});

export const AttachmentResultSchema = z.object({
  networkInterface: z.object({ resourceId: z.string(), resourceRef: z.string().optional() }).optional(),
  subnet: z.object({ resourceRef: z.string(), addressPrefix: z.string(), gateway: z.string() }).optional(),
  ipConfigurations: z.array(z.object({ resourceId: z.string(), privateIPAddress: z.string() })).optional(),
  containerNetwork: z.record(z.string(), z.unknown()).optional(),
});

/** The status document of `GET .../attachments/{id}`. */
export const AttachmentDocumentSchema = AttachmentSummarySchema.extend({
  steps: z.array(StepViewSchema),
  /** Present once a detach has been asked for. */
  detachSteps: z.array(StepViewSchema).optional(),
  lastError: ErrorInfoSchema.nullable(),
  result: AttachmentResultSchema,
  /** The request as accepted: defaults filled in, `attachmentId` always set. */
  request: AttachRequestSchema.extend({ attachmentId: z.string() }),
  /** With `?showHistory=true`. */
  history: z.array(HistoryEventSchema).optional(),
});
export type AttachmentDocument = z.infer<typeof AttachmentDocumentSchema>;

export const SubmitAnswerSchema = AttachmentSummarySchema.extend({
  /** False when the same request was sent again with the same `attachmentId`. */
  created: z.boolean(),
});
export const CancelAnswerSchema = AttachmentSummarySchema.extend({ cancelRequested: z.literal(true) });
export const DetachAnswerSchema = AttachmentSummarySchema.extend({ detachRequested: z.literal(true) });

export const AttachmentListSchema = z.object({
  value: z.array(AttachmentSummarySchema),
  /** The next page's URL, or null on the last page. */
  nextLink: z.url().nullable(),
});

export const StepCheckSchema = z.object({
  name: StepName,
  state: z.enum(['Intact', 'Missing', 'NotDone', 'Unknown']),
  detail: z.record(z.string(), z.unknown()),
});

export const VerificationSchema = z.object({
  checkedTime: Timestamp,
  intact: z.boolean(),
  missing: z.array(StepName),
  steps: z.array(StepCheckSchema),
});

export const VerificationAnswerSchema = AttachmentSummarySchema.extend({ verification: VerificationSchema });
export const RepairAnswerSchema = VerificationAnswerSchema.extend({
  /** The steps re-run; empty when everything was intact. */
  repairing: z.array(StepName),
});

const TenantChangeSchema = z.object({
  time: Timestamp,
  tenantId: z.string(),
  action: z.enum(['Created', 'Replaced', 'Deleted']),
  by: z.string(),
  entry: TenantEntrySchema.optional(),
});

/** A registry entry as the admin API shows it. */
export const TenantViewSchema = TenantEntrySchema.extend({
  tenantId: z.string(),
  createdTime: Timestamp,
  lastUpdatedTime: Timestamp,
  lastUpdatedBy: z.string(),
  /** With `?showHistory=true`. */
  changes: z.array(TenantChangeSchema).optional(),
});
export type TenantView = z.infer<typeof TenantViewSchema>;

export const TenantListSchema = z.object({ value: z.array(TenantViewSchema), nextLink: z.url().nullable() });

export const PluginRemovalAnswerSchema = z.object({
  machine: machineRefSchema,
  changed: z.boolean(),
  removedKeys: z.array(z.string()),
  agentSettingsRemoved: z.boolean(),
  serviceAction: z.string().nullable(),
  serviceStatus: z.string().nullable(),
  task: z.object({
    name: z.string(),
    status: z.enum(['Running', 'Applied', 'Failed']),
    script: z.string(),
    scriptVersion: z.number().int(),
    appliedTime: Timestamp.nullable(),
  }),
});
