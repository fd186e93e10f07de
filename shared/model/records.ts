import type { ErrorInfo } from '../errors';
import type { AcceptedAttachRequest } from './attachRequest';
import { STEP_NAMES, type StepName } from './steps';

/** Lifecycle of an attachment, named as Durable Functions names its instances' states. */
export const RUNTIME_STATUSES = ['Pending', 'Running', 'Completed', 'Failed', 'Canceled'] as const;
export type RuntimeStatus = (typeof RUNTIME_STATUSES)[number];

const TERMINAL_STATUSES: readonly RuntimeStatus[] = ['Completed', 'Failed', 'Canceled'];

export type StepStatus = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Canceled';

export interface StepState {
  status: StepStatus;
  /** Deliveries that worked on this step (re-checks of a running operation are not counted). */
  attempts: number;
  startedTime?: string;
  endedTime?: string;
  lastError?: ErrorInfo;
  /** What the step did, shown by the status API (machine, script version, NIC, addresses...). */
  detail?: Record<string, unknown>;
  /** Internal checkpoint of a step in progress (chosen addresses, the operation being followed). */
  checkpoint?: Record<string, unknown>;
  /** The invocation working on the step and until when; a duplicate delivery leaves a live lease alone. */
  leaseOwner?: string;
  leaseExpiresAtInMs?: number;
  /** The re-check message a waiting step sent itself; other first deliveries for the step are duplicates. */
  awaitingRecheck?: number;
}

export interface AttachmentResult {
  networkInterface?: { resourceId: string; resourceRef?: string };
  subnet?: { resourceRef: string; addressPrefix: string; gateway: string };
  ipConfigurations?: { resourceId: string; privateIPAddress: string }[];
  containerNetwork?: Record<string, unknown>;
}

export interface AttachmentRecord {
  tenantId: string;
  attachmentId: string;
  runtimeStatus: RuntimeStatus;
  currentStep?: StepName;
  steps: Record<StepName, StepState>;
  request: AcceptedAttachRequest;
  result: AttachmentResult;
  lastError?: ErrorInfo;
  createdTime: string;
  lastUpdatedTime: string;
  cancelRequested: boolean;
  eventCount: number;
  /** Storage etag of the row as read; absent on a record not yet stored. */
  etag?: string;
}

export type HistoryEventType =
  | 'Submitted'
  | 'StepStarted'
  | 'StepWaiting'
  | 'StepRetrying'
  | 'StepSucceeded'
  | 'StepFailed'
  | 'Completed'
  | 'Failed'
  | 'CancelRequested'
  | 'Canceled'
  | 'Retried';

export interface HistoryEvent {
  time: string;
  type: HistoryEventType;
  step?: StepName;
  attempt?: number;
  dequeueCount?: number;
  message?: string;
  error?: ErrorInfo;
}

export function newAttachmentRecord(tenantId: string, request: AcceptedAttachRequest, now: string): AttachmentRecord {
  const steps = Object.fromEntries(STEP_NAMES.map((name) => [name, { status: 'Pending', attempts: 0 }])) as Record<
    StepName,
    StepState
  >;
  return {
    tenantId,
    attachmentId: request.attachmentId,
    runtimeStatus: 'Pending',
    currentStep: STEP_NAMES[0],
    steps,
    request,
    result: {},
    createdTime: now,
    lastUpdatedTime: now,
    cancelRequested: false,
    eventCount: 0,
  };
}

export function isTerminal(status: RuntimeStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}
