import type { HttpResponseInit } from '@azure/functions';

import type { FieldIssue } from '../errors';
import { toFieldIssues } from '../model/attachRequest';
import { type MachineRef, MachineReferenceSchema } from '../model/machineRef';
import type { ArcDefaults } from '../model/tenant';
import type { PluginRemovalOutcome } from '../workflow/pluginRemoval';
import { errorResponse } from './responses';

/** The optional body: where the machine is, when not in the configured defaults. Nothing else. */
export const MachineLocationSchema = MachineReferenceSchema.omit({ machineName: true });

/**
 * The machine of `POST /api/admin/machines/{machineName}/private-cloud-plugin/remove`: the name from the route, the
 * subscription and resource group from the query or the body (not both, unless equal), else the configured Arc
 * defaults. Every bad field is named.
 */
export function machineFromRequest(
  params: { machineName?: string },
  query: { subscriptionId?: string | null; resourceGroup?: string | null },
  body: unknown,
  defaults: ArcDefaults,
): { ok: true; machine: MachineRef } | { ok: false; issues: FieldIssue[] } {
  const issues: FieldIssue[] = [];
  const located = MachineLocationSchema.safeParse(body ?? {}, { reportInput: true });
  if (!located.success) issues.push(...toFieldIssues(located.error).map(inBody));
  const fromBody = located.success ? located.data : {};
  const fromQuery: { subscriptionId?: string; resourceGroup?: string } = {};
  for (const key of ['subscriptionId', 'resourceGroup'] as const) {
    const value = query[key];
    if (value === null || value === undefined) continue;
    const given = fromBody[key];
    if (given !== undefined && given !== value)
      issues.push({ field: key, reason: 'is given in the query and the body with different values' });
    fromQuery[key] = value;
  }
  const reference = MachineReferenceSchema.safeParse(
    { machineName: params.machineName, ...fromBody, ...fromQuery },
    { reportInput: true },
  );
  if (!reference.success) issues.push(...toFieldIssues(reference.error));
  if (issues.length > 0 || !reference.success) return { ok: false, issues: unique(issues) };
  const subscriptionId = reference.data.subscriptionId ?? defaults.subscriptionId;
  const resourceGroup = reference.data.resourceGroup ?? defaults.resourceGroup;
  if (!subscriptionId)
    issues.push({ field: 'subscriptionId', reason: 'is required (no ARC_DEFAULT_SUBSCRIPTION_ID is configured)' });
  if (!resourceGroup)
    issues.push({ field: 'resourceGroup', reason: 'is required (no ARC_DEFAULT_RESOURCE_GROUP is configured)' });
  if (!subscriptionId || !resourceGroup) return { ok: false, issues };
  return { ok: true, machine: { subscriptionId, resourceGroup, machineName: reference.data.machineName } };
}

function inBody(issue: FieldIssue): FieldIssue {
  return issue.field === '(body)' && !issue.reason.startsWith('unknown')
    ? { ...issue, reason: 'must be an object' }
    : issue;
}

function unique(issues: FieldIssue[]): FieldIssue[] {
  const seen = new Set<string>();
  return issues.filter((issue) => {
    const key = `${issue.field}\u0000${issue.reason}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** How many attachments a refusal names by id; the rest are counted. */
const USERS_NAMED = 5;

/**
 * The answer to a removal: 200 with the script's result; 409 `MachineInUse`, `MachineTaskRunning` or the script's
 * own refusal (`ContainerNetworksStillPresent`); 404 when ARM does not know the machine; 504 `RunTimedOut` when the
 * run outlasted the request; 502 with the remote code for any other failure of the run.
 */
export function pluginRemovalResponse(machine: MachineRef, outcome: PluginRemovalOutcome): HttpResponseInit {
  const name = machine.machineName;
  switch (outcome.kind) {
    case 'inUse': {
      const ids = outcome.users.slice(0, USERS_NAMED).map((u) => `${u.tenantId}/${u.attachmentId}`);
      const more = outcome.users.length - ids.length;
      return errorResponse(
        409,
        'MachineInUse',
        `${name} is the container host of ${outcome.users.length} attachment(s) not Detached: ${ids.join(', ')}` +
          `${more > 0 ? `, and ${more} more` : ''}. Detach them first; nothing was changed.`,
      );
    }
    case 'taskRunning': {
      const owner = outcome.owner ? ` by ${outcome.owner.tenantId}/${outcome.owner.attachmentId}` : '';
      const until =
        outcome.leaseExpiresAtInMs === undefined ? '' : ` until ${new Date(outcome.leaseExpiresAtInMs).toISOString()}`;
      return errorResponse(
        409,
        'MachineTaskRunning',
        `The Private Cloud plugin task on ${name} is held${owner}${until}; try again once it has ended. Nothing was changed.`,
      );
    }
    case 'refused':
      return errorResponse(409, outcome.error.code, outcome.error.message);
    case 'failed': {
      if (outcome.timedOut)
        return errorResponse(
          504,
          outcome.error.code,
          `${outcome.error.message} It may still be running; the machine's plugin task stays held until its lease ends.`,
        );
      return errorResponse(outcome.error.statusCode === 404 ? 404 : 502, outcome.error.code, outcome.error.message);
    }
    case 'removed': {
      const { result, task } = outcome;
      return {
        status: 200,
        jsonBody: {
          machine,
          changed: result.changed === true,
          removedKeys: result.removedKeys ?? [],
          agentSettingsRemoved: result.agentSettingsRemoved === true,
          serviceAction: result.serviceAction ?? null,
          serviceStatus: result.serviceStatus ?? null,
          task: {
            name: task.task,
            status: task.status,
            script: task.script,
            scriptVersion: task.scriptVersion,
            appliedTime: task.appliedTime ?? null,
          },
        },
      };
    }
  }
}
