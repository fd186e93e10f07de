import { z } from 'zod';

import { ValidationError } from '../errors';
import { object, patterned } from './fields';

/** ARM machine names: `[a-zA-Z0-9-_.]+` per the HybridCompute spec, starting with a letter or digit, bounded. */
export const MACHINE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
/** ARM's rule: 1-90 letters, digits, "_", "-", ".", "(" and ")", not ending in ".". */
export const RESOURCE_GROUP_PATTERN = /^[A-Za-z0-9_.()-]{1,89}[A-Za-z0-9_()-]$|^[A-Za-z0-9_()-]$/;
/**
 * Hyper-V VM names as the product accepts them (a stricter rule than Hyper-V's): they travel as a script parameter
 * and into table keys.
 */
export const VM_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
/** Key Vault's rule for secret names. */
export const SECRET_NAME_PATTERN = /^[0-9a-zA-Z-]{1,127}$/;
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

/**
 * A container host VM without an Arc agent, reached from the request's `hyperVHost` with PowerShell Direct: its
 * Hyper-V VM name, and the Key Vault secret holding the guest account the app signs in with.
 */
export const GuestVmReferenceSchema = object({
  vmName: patterned(VM_NAME_PATTERN, 'a Hyper-V VM name: a letter or digit, then letters, digits, "_", "." or "-"'),
  through: z.literal('hyperVHost', { error: 'must be "hyperVHost"' }),
  credential: object({ secretName: patterned(SECRET_NAME_PATTERN, 'a Key Vault secret name') }),
});
export type GuestVmReference = z.infer<typeof GuestVmReferenceSchema>;

/**
 * `containerHost`: an Arc machine reference, or (with `through`) a VM reached through the Hyper-V host. The form is
 * chosen by the `through` field, so every problem is reported against the form the request meant.
 */
export const ContainerHostReferenceSchema = z
  // Typed as either form for callers that build requests; checked for real below.
  .custom<MachineReference | GuestVmReference>(() => true)
  .transform((value, ctx): MachineReference | GuestVmReference => {
    const guest = value !== null && typeof value === 'object' && 'through' in value;
    const parsed = (guest ? GuestVmReferenceSchema : MachineReferenceSchema).safeParse(value, { reportInput: true });
    if (parsed.success) return parsed.data;
    for (const issue of parsed.error.issues) ctx.issues.push(issue as (typeof ctx.issues)[number]);
    return z.NEVER;
  });
export type ContainerHostReference = MachineReference | GuestVmReference;

export function isGuestVmReference(reference: ContainerHostReference): reference is GuestVmReference {
  return 'through' in reference;
}

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
