import { z } from 'zod';

import { ValidationError } from '../errors';

/** ARM name rule for Arc machines and their run commands. */
export const ARM_NAME_PATTERN = /^[a-zA-Z0-9-_.]+$/;

/** An Azure Arc-enabled machine (`Microsoft.HybridCompute/machines`). */
export const machineRefSchema = z.strictObject({
  subscriptionId: z.guid({ error: 'must be a subscription GUID' }),
  // ARM's rule: 1-90 characters of letters, digits, underscores, hyphens, periods and parentheses, not ending in ".".
  resourceGroup: z
    .string()
    .regex(/^[-\w.()]{1,90}$/, 'must be a resource group name (letters, digits, "_", "-", ".", "(", ")")')
    .refine((name) => !name.endsWith('.'), 'must not end with "."'),
  machineName: z
    .string()
    .regex(ARM_NAME_PATTERN, 'must be an Arc machine name (letters, digits, "-", "_", ".")')
    .max(64),
});

export type MachineRef = z.infer<typeof machineRefSchema>;

/** Validates a machine reference; throws `ValidationError` naming every bad field. */
export function parseMachineRef(value: unknown): MachineRef {
  const parsed = machineRefSchema.safeParse(value);
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
