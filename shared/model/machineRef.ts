import { z } from 'zod';

import { ValidationError } from '../errors';
import { object, patterned } from './fields';

/** ARM machine names: `[a-zA-Z0-9-_.]+` per the HybridCompute spec, starting with a letter or digit, bounded. */
export const MACHINE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
/** ARM's rule: 1-90 letters, digits, "_", "-", ".", "(" and ")", not ending in ".". */
export const RESOURCE_GROUP_PATTERN = /^[A-Za-z0-9_.()-]{1,89}[A-Za-z0-9_()-]$|^[A-Za-z0-9_()-]$/;
export const SUBSCRIPTION_ID_PATTERN = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/**
 * An Azure Arc-enabled machine (`Microsoft.HybridCompute/machines`) as a request names it: the subscription and
 * resource group may come from the configured defaults instead.
 */
export const MachineReferenceSchema = object({
  machineName: patterned(MACHINE_NAME_PATTERN, 'the Arc-enabled machine name'),
  resourceGroup: patterned(RESOURCE_GROUP_PATTERN, 'an Azure resource group name').optional(),
  subscriptionId: patterned(SUBSCRIPTION_ID_PATTERN, 'an Azure subscription GUID').optional(),
});
export type MachineReference = z.infer<typeof MachineReferenceSchema>;

/** The same machine resolved: every part known. The one rule for both forms. */
export const machineRefSchema = MachineReferenceSchema.required();
export type MachineRef = z.infer<typeof machineRefSchema>;

/** Validates a machine reference; throws `ValidationError` naming every bad field. */
export function parseMachineRef(value: unknown): MachineRef {
  const parsed = machineRefSchema.safeParse(value, { reportInput: true });
  if (parsed.success) return parsed.data;
  throw new ValidationError(
    parsed.error.issues.map((issue) => ({
      field: issue.path.map(String).join('.') || 'machine',
      reason: issue.message,
    })),
    { code: 'InvalidMachineRef' },
  );
}

export function machineResourceId(ref: MachineRef): string {
  const { subscriptionId, resourceGroup, machineName } = parseMachineRef(ref);
  return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.HybridCompute/machines/${machineName}`;
}
