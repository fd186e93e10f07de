import type { ErrorInfo } from '../errors';
import type { AcceptedAttachRequest } from './attachRequest';
import { STEP_NAMES, type StepName, stepsOf } from './steps';

/**
 * Lifecycle of an attachment, named as Durable Functions names its instances' states, plus the way back: a detach
 * runs `Detaching` and ends `Detached` (or `Failed` at a detach step).
 */
export const RUNTIME_STATUSES = [
  'Pending',
  'Running',
  'Completed',
  'Failed',
  'Canceled',
  'Detaching',
  'Detached',
] as const;
export type RuntimeStatus = (typeof RUNTIME_STATUSES)[number];

const TERMINAL_STATUSES: readonly RuntimeStatus[] = ['Completed', 'Failed', 'Canceled', 'Detached'];

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
  /** Set by DELETE: once the attach ends (at once, or at the next step boundary), the detach steps run. */
  detachRequested: boolean;
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
  | 'Retried'
  | 'DetachRequested'
  | 'DetachStarted'
  | 'Detached'
  | 'RepairRequested';

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
    currentStep: stepsOf('attach')[0]?.name,
    steps,
    request,
    result: {},
    createdTime: now,
    lastUpdatedTime: now,
    cancelRequested: false,
    detachRequested: false,
    eventCount: 0,
  };
}

/** Every step's state: a row stored before a step existed gets it as Pending, never started. */
export function withAllSteps(steps: Partial<Record<StepName, StepState>>): Record<StepName, StepState> {
  return Object.fromEntries(
    STEP_NAMES.map((name) => [name, steps[name] ?? { status: 'Pending', attempts: 0 }]),
  ) as Record<StepName, StepState>;
}

export function isTerminal(status: RuntimeStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}
