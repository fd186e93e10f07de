import type { AttachmentRecord, HistoryEvent } from '../model/records';
import type { StepState } from '../model/records';
import { type StepDefinition, stepsOf } from '../model/steps';
import type { AttachmentDocument, AttachmentSummary, StepView } from './schemas';

/** The public URL of an attachment's status, from the URL the caller used to reach us. */
export function statusUrl(requestUrl: string, tenantId: string, attachmentId: string): string {
  const url = new URL(requestUrl);
  const apiRoot = url.pathname.replace(/\/tenants\/.*$/i, '');
  return `${url.origin}${apiRoot}/tenants/${encodeURIComponent(tenantId)}/attachments/${encodeURIComponent(attachmentId)}`;
}

/** A short form for lists and submit answers. */
export function attachmentSummary(record: AttachmentRecord, requestUrl: string): AttachmentSummary {
  return {
    id: record.attachmentId,
    tenantId: record.tenantId,
    runtimeStatus: record.runtimeStatus,
    currentStep: record.currentStep ?? null,
    createdTime: record.createdTime,
    lastUpdatedTime: record.lastUpdatedTime,
    statusQueryGetUri: statusUrl(requestUrl, record.tenantId, record.attachmentId),
  };
}

function stepView(definition: StepDefinition, index: number, state: StepState): StepView {
  return {
    order: index + 1,
    name: definition.name,
    title: definition.title,
    status: state.status,
    attempts: state.attempts,
    startedTime: state.startedTime ?? null,
    endedTime: state.endedTime ?? null,
    ...(state.lastError ? { lastError: state.lastError } : {}),
    ...(state.detail ? { detail: state.detail } : {}),
  };
}

/**
 * The status document; internal bookkeeping (checkpoints, leases, etags) stays out of it. `steps` are the attach
 * steps; `detachSteps` appear once a detach has been asked for.
 */
export function attachmentView(
  record: AttachmentRecord,
  requestUrl: string,
  history?: readonly HistoryEvent[],
): AttachmentDocument {
  return {
    ...attachmentSummary(record, requestUrl),
    steps: stepsOf('attach').map((definition, index) => stepView(definition, index, record.steps[definition.name])),
    ...(record.detachRequested
      ? {
          detachSteps: stepsOf('detach').map((definition, index) =>
            stepView(definition, index, record.steps[definition.name]),
          ),
        }
      : {}),
    lastError: record.lastError ?? null,
    result: record.result,
    request: record.request,
    ...(history ? { history: [...history] } : {}),
  };
}
