import { isDeepStrictEqual } from 'node:util';

import type { FieldIssue } from '../errors';
import {
  type AcceptedAttachRequest,
  type AttachRequest,
  AttachRequestSchema,
  toFieldIssues,
} from '../model/attachRequest';
import { parseIpv4 } from '../model/ipv4';
import { isGuestVmReference } from '../model/machineRef';
import { type StepMessage, stepMessage } from '../model/messages';
import { type AttachmentRecord, newAttachmentRecord } from '../model/records';
import type { StateStore } from '../model/StateStore';
import { tenantIssues } from '../model/tenant';
import type { TenantStore } from '../model/TenantStore';

export type SubmitOutcome =
  | { kind: 'invalid'; issues: FieldIssue[] }
  /** The tenant may not make this request: code TenantNotAuthorized or TenantQuotaExceeded. */
  | { kind: 'forbidden'; code: 'TenantNotAuthorized' | 'TenantQuotaExceeded'; issues: FieldIssue[] }
  | { kind: 'conflict'; record: AttachmentRecord }
  | { kind: 'accepted'; created: boolean; record: AttachmentRecord; start?: StepMessage };

export interface SubmitDeps {
  store: StateStore;
  tenants: Pick<TenantStore, 'getTenant'>;
  knownControllers: ReadonlySet<string>;
  /** Where machine references without their own subscription or resource group are looked up. */
  arcDefaults: { subscriptionId?: string; resourceGroup?: string };
  /** Whether a Key Vault for guest credentials is configured; without one, no VM can be reached through its host. */
  guestCredentialsConfigured?: boolean;
  newAttachmentId: () => string;
  nowInMs: () => number;
}

/** Parses an HTTP body as an attach request, then accepts it (see acceptAttachRequest). */
export async function submitAttachment(deps: SubmitDeps, tenantId: string, body: unknown): Promise<SubmitOutcome> {
  const parsed = AttachRequestSchema.safeParse(body, { reportInput: true });
  if (!parsed.success) return { kind: 'invalid', issues: toFieldIssues(parsed.error) };
  return acceptAttachRequest(deps, tenantId, parsed.data);
}

/**
 * Checks a parsed attach request against the configuration and stores it. Nothing is stored when anything is
 * invalid; a request repeated with the same attachmentId returns the stored attachment instead of starting a second
 * run. The caller enqueues `start` when there is one: for a new attachment, and again for one still Pending whose
 * step has not started, because the first message may have been lost with the host that stored the row (the step
 * drops duplicates).
 */
export async function acceptAttachRequest(
  deps: SubmitDeps,
  tenantId: string,
  parsed: AttachRequest,
): Promise<SubmitOutcome> {
  const issues: FieldIssue[] = [];
  if (!deps.knownControllers.has(parsed.networkController)) {
    issues.push({
      field: 'networkController',
      reason: `"${parsed.networkController}" is not a configured Network Controller (configured: ${[...deps.knownControllers].join(', ')})`,
    });
  }
  for (const field of ['hyperVHost', 'containerHost'] as const) {
    const machine = parsed[field];
    // A VM reached through the Hyper-V host is no Arc resource: only the host is looked up in ARM.
    if (isGuestVmReference(machine)) {
      if (!deps.guestCredentialsConfigured)
        issues.push({
          field: 'containerHost.through',
          reason: 'no Key Vault is configured (KEY_VAULT_URL), so no VM can be reached through its Hyper-V host',
        });
      continue;
    }
    if (!machine.subscriptionId && !deps.arcDefaults.subscriptionId) {
      issues.push({
        field: `${field}.subscriptionId`,
        reason: 'is required (no ARC_DEFAULT_SUBSCRIPTION_ID is configured)',
      });
    }
    if (!machine.resourceGroup && !deps.arcDefaults.resourceGroup) {
      issues.push({
        field: `${field}.resourceGroup`,
        reason: 'is required (no ARC_DEFAULT_RESOURCE_GROUP is configured)',
      });
    }
  }
  if (issues.length > 0) return { kind: 'invalid', issues };
  const refused = await tenantRefusal(deps, tenantId, parsed);
  if (refused) return refused;

  const request: AcceptedAttachRequest = { ...parsed, attachmentId: parsed.attachmentId ?? deps.newAttachmentId() };
  const now = new Date(deps.nowInMs()).toISOString();
  const { created, record } = await deps.store.createAttachment(newAttachmentRecord(tenantId, request, now), [
    { type: 'Submitted' },
  ]);
  if (!created && !isDeepStrictEqual(normalize(record.request), normalize(request)))
    return { kind: 'conflict', record };
  return { kind: 'accepted', created, record, ...startOf(record) };
}

function startOf(record: AttachmentRecord): { start?: StepMessage } {
  const step = record.currentStep;
  if (record.runtimeStatus !== 'Pending' || !step || record.steps[step].attempts > 0) return {};
  return { start: stepMessage(record.tenantId, record.attachmentId, step) };
}

function normalize(request: AcceptedAttachRequest): unknown {
  return JSON.parse(JSON.stringify(request)) as unknown;
}

/**
 * Whether the tenant may make this request: registered, and naming only the controller, virtual network and
 * machines its registry entry lists, within its quotas. A repeat of an attachment already stored is not counted
 * against the quota of attachments in flight.
 */
async function tenantRefusal(
  deps: SubmitDeps,
  tenantId: string,
  request: AttachRequest,
): Promise<Extract<SubmitOutcome, { kind: 'forbidden' }> | undefined> {
  const record = await deps.tenants.getTenant(tenantId);
  const issues = tenantIssues(tenantId, record?.entry, request, deps.arcDefaults);
  if (issues.length > 0 || !record) return { kind: 'forbidden', code: 'TenantNotAuthorized', issues };
  const quotas = record.entry.quotas;
  const asked = requestedAddressCount(request.containerIps);
  if (quotas?.addressesPerAttachment !== undefined && asked > quotas.addressesPerAttachment) {
    return {
      kind: 'forbidden',
      code: 'TenantQuotaExceeded',
      issues: [
        {
          field: 'containerIps',
          reason: `asks for ${asked} addresses; tenant "${tenantId}" may ask for at most ${quotas.addressesPerAttachment}`,
        },
      ],
    };
  }
  if (quotas?.attachmentsInFlight !== undefined) {
    const known = request.attachmentId ? await deps.store.getAttachment(tenantId, request.attachmentId) : undefined;
    if (!known) {
      const page = await deps.store.listAttachments(tenantId, {
        runtimeStatus: ['Pending', 'Running'],
        pageSize: quotas.attachmentsInFlight,
      });
      if (page.items.length >= quotas.attachmentsInFlight) {
        return {
          kind: 'forbidden',
          code: 'TenantQuotaExceeded',
          issues: [
            {
              field: 'tenantId',
              reason: `tenant "${tenantId}" has ${quotas.attachmentsInFlight} attachment(s) Pending or Running, its limit`,
            },
          ],
        };
      }
    }
  }
  return undefined;
}

function requestedAddressCount(ips: AttachRequest['containerIps']): number {
  if (ips.addresses) return ips.addresses.length;
  if (ips.range) return parseIpv4(ips.range.last) - parseIpv4(ips.range.first) + 1;
  return ips.count ?? 0;
}
