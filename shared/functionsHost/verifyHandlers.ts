import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';

import { attachmentSummary, statusUrl } from '../api/attachmentView';
import { type DetachDeps, registryRefusal, repairAttachment } from '../api/controlAttachment';
import { badRequest, errorResponse, forbidden, notFound } from '../api/responses';
import { attachmentRoute } from '../api/routeParams';
import type { AttachmentRecord } from '../model/records';
import { type InspectionResult, runInspection, verifyAttachment, type VerifyDeps } from '../workflow/verify';
import type { AppDeps } from './deps';
import { guestCredential } from './machineTaskDeps';
import { sendStepMessage } from './stepFunction';

/** How long a verification waits for an inspection run; Run Command takes tens of seconds on real machines. */
const INSPECTION_TIMEOUT_IN_MS = 120_000;

const inspections = new Map<string, { atInMs: number; result: Promise<InspectionResult> }>();

/** The verification's reads, from the app's clients; inspections are shared by calls in this process for a while. */
export function verifyDepsFrom(app: AppDeps): VerifyDeps {
  return {
    readNic: async (controller, nicId) =>
      (await app.networkController(controller).client.getNetworkInterface(nicId)).value,
    inspect: (machine, script, input, guest) => {
      const key = JSON.stringify([machine, guest?.vmName ?? null, script.name, script.version, input]).toLowerCase();
      const now = app.nowInMs();
      // A verify and then its repair read the machine once (INSPECTION_REUSE_MS).
      const reuseForInMs = app.config.machineTasks.inspectionReuseForInMs;
      const cached = inspections.get(key);
      if (cached && now - cached.atInMs < reuseForInMs) return cached.result;
      for (const [k, entry] of inspections) if (now - entry.atInMs >= reuseForInMs) inspections.delete(k);
      const result = (async () =>
        runInspection(app.runCommands, machine, script, input, {
          pollIntervalInMs: app.config.arm.pollIntervalInMs,
          timeoutInMs: INSPECTION_TIMEOUT_IN_MS,
          nowInMs: app.nowInMs,
          sleep: app.sleep,
          ...(guest && {
            guest: { vmName: guest.vmName, credential: await guestCredential(app, guest.secretName) },
          }),
        }))();
      inspections.set(key, { atInMs: now, result });
      result.catch(() => inspections.delete(key));
      return result;
    },
    defaults: app.config.arm.defaults,
    nowInMs: app.nowInMs,
  };
}

type VerifyHandlerDeps = Pick<DetachDeps, 'store' | 'tenants' | 'arcDefaults' | 'nowInMs'> & {
  verify: VerifyDeps;
  retryAfterInSeconds: number;
};

/** Only what attached can be verified: not while it attaches or detaches, nor once it is detached. */
const VERIFIABLE = new Set(['Completed', 'Failed', 'Canceled']);

async function load(
  d: VerifyHandlerDeps,
  request: HttpRequest,
): Promise<{ record: AttachmentRecord } | { response: HttpResponseInit }> {
  const route = attachmentRoute(request);
  if (!route.ok) return { response: badRequest(route.issues) };
  const record = await d.store.getAttachment(route.tenantId, route.attachmentId);
  if (!record) return { response: notFound(`Attachment ${route.attachmentId} of tenant ${route.tenantId}`) };
  const refused = await registryRefusal(d, record);
  if (refused) return { response: forbidden('TenantNotAuthorized', refused.issues) };
  if (!VERIFIABLE.has(record.runtimeStatus)) {
    return {
      response: errorResponse(
        409,
        'AttachmentNotVerifiable',
        `Attachment ${record.attachmentId} is ${record.runtimeStatus}; only an attachment that ended its attach can be verified.`,
      ),
    };
  }
  return { record };
}

/** `GET .../attachments/{id}/verification`: what each succeeded attach step made, read now from the NIC and machines. */
export function makeVerifyAttachmentHandler(deps: () => VerifyHandlerDeps) {
  return async (request: HttpRequest, _context: InvocationContext): Promise<HttpResponseInit> => {
    const d = deps();
    const loaded = await load(d, request);
    if ('response' in loaded) return loaded.response;
    const verification = await verifyAttachment(d.verify, loaded.record);
    return { status: 200, jsonBody: { ...attachmentSummary(loaded.record, request.url), verification } };
  };
}

/**
 * `POST .../attachments/{id}/repair`: verifies, then re-runs exactly the steps whose effect is missing. 202 with
 * `Location` when something is re-run; 200 when all is intact; 409 unless the attachment is Completed.
 */
export function makeRepairAttachmentHandler(deps: () => VerifyHandlerDeps) {
  return async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    const d = deps();
    const loaded = await load(d, request);
    if ('response' in loaded) return loaded.response;
    const { record } = loaded;
    if (record.runtimeStatus !== 'Completed') {
      return errorResponse(
        409,
        'AttachmentNotRepairable',
        `Attachment ${record.attachmentId} is ${record.runtimeStatus}; only a Completed attachment can be repaired (retry a Failed one).`,
      );
    }
    const verification = await verifyAttachment(d.verify, record);
    if (verification.missing.length === 0) {
      return { status: 200, jsonBody: { ...attachmentSummary(record, request.url), repairing: [], verification } };
    }
    const outcome = await repairAttachment(d.store, record, verification.missing, d.nowInMs());
    if (outcome.kind === 'notFound') return notFound(`Attachment ${record.attachmentId} of tenant ${record.tenantId}`);
    if (outcome.kind === 'conflict') return errorResponse(409, 'AttachmentNotRepairable', outcome.reason);
    if (outcome.start) sendStepMessage(context, outcome.start);
    return {
      status: 202,
      headers: {
        Location: statusUrl(request.url, record.tenantId, record.attachmentId),
        'Retry-After': String(d.retryAfterInSeconds),
      },
      jsonBody: { ...attachmentSummary(outcome.record, request.url), repairing: verification.missing, verification },
    };
  };
}
