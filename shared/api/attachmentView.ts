import type { AttachmentRecord, HistoryEvent } from '../model/records';
import { STEPS } from '../model/steps';

/** The public URL of an attachment's status, from the URL the caller used to reach us. */
export function statusUrl(requestUrl: string, tenantId: string, attachmentId: string): string {
  const url = new URL(requestUrl);
  const apiRoot = url.pathname.replace(/\/tenants\/.*$/i, '');
  return `${url.origin}${apiRoot}/tenants/${encodeURIComponent(tenantId)}/attachments/${encodeURIComponent(attachmentId)}`;
}

/** A short form for lists and submit answers. */
export function attachmentSummary(record: AttachmentRecord, requestUrl: string) {
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

/** The status document; internal bookkeeping (checkpoints, leases, etags) stays out of it. */
export function attachmentView(record: AttachmentRecord, requestUrl: string, history?: readonly HistoryEvent[]) {
  return {
    ...attachmentSummary(record, requestUrl),
    steps: STEPS.map((definition, index) => {
      const state = record.steps[definition.name];
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
    }),
    lastError: record.lastError ?? null,
    result: record.result,
    request: record.request,
    ...(history ? { history } : {}),
  };
}
