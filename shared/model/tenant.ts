import { z } from 'zod';

import type { FieldIssue } from '../errors';
import { CONTROLLER_NAME_PATTERN, RESOURCE_ID_PATTERN } from './attachRequest';
import { object, patterned, typeError } from './fields';
import {
  type ContainerHostReference,
  isGuestVmReference,
  type MachineRef,
  type MachineReference,
  MachineReferenceSchema,
  SECRET_NAME_PATTERN,
  VM_NAME_PATTERN,
} from './machineRef';

/** Object ids and group ids of Entra ID principals: GUIDs. */
const PRINCIPAL_ID_PATTERN = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

const quota = (what: string) =>
  z
    .number({ error: typeError(`must be a number (${what})`) })
    .int({ error: 'must be a whole number' })
    .min(1, { error: 'must be at least 1' })
    .max(1_000_000, { error: 'must be at most 1000000' })
    .optional();

/**
 * What one tenant may touch: the Network Controllers it may name, and on each the virtual networks whose subnets it
 * may use; the Arc machines it may name as `hyperVHost` or `containerHost`; the principals (Entra ID object or
 * group ids) that act for it; optional quotas. `guestCredentials`: the Key Vault secrets whose guest accounts it may
 * have the app sign in with, each for the VMs named (PowerShell Direct from a Hyper-V host it may use). Stored in the tenant registry, set by the operator.
 */
export const TenantEntrySchema = object({
  networkControllers: z
    .record(
      patterned(CONTROLLER_NAME_PATTERN, 'the name of a configured Network Controller'),
      object({
        virtualNetworks: z
          .array(patterned(RESOURCE_ID_PATTERN, 'a virtual network resourceId'), {
            error: typeError('must be an array of virtual network resourceIds'),
          })
          .min(1, { error: 'must list at least one virtual network' })
          .max(100, { error: 'must list at most 100 virtual networks' }),
      }),
      { error: typeError('must be an object keyed by Network Controller name') },
    )
    .refine((controllers) => Object.keys(controllers).length >= 1, { error: 'must name at least one controller' }),
  machines: z
    .array(MachineReferenceSchema, { error: typeError('must be an array of Arc machine references') })
    .max(1_000, { error: 'must list at most 1000 machines' }),
  guestCredentials: z
    .array(
      object({
        secretName: patterned(SECRET_NAME_PATTERN, 'a Key Vault secret name'),
        vmNames: z
          .array(patterned(VM_NAME_PATTERN, 'a Hyper-V VM name'), { error: typeError('must be an array of VM names') })
          .min(1, { error: 'must list at least one VM' })
          .max(1_000, { error: 'must list at most 1000 VMs' }),
      }),
      { error: typeError('must be an array of {secretName, vmNames}') },
    )
    .max(100, { error: 'must list at most 100 guest credentials' })
    .optional(),
  principals: z
    .array(patterned(PRINCIPAL_ID_PATTERN, 'an Entra ID object or group id'), {
      error: typeError('must be an array of object or group ids'),
    })
    .max(100, { error: 'must list at most 100 principals' })
    .default([]),
  quotas: object({
    addressesPerAttachment: quota('addresses one attachment may ask for'),
    attachmentsInFlight: quota('attachments Pending or Running at once'),
  }).optional(),
});
export type TenantEntry = z.infer<typeof TenantEntrySchema>;
export type TenantEntryInput = z.input<typeof TenantEntrySchema>;

/** A registry entry as stored: the entry, its etag, and when and by whom it last changed. */
export interface TenantRecord {
  tenantId: string;
  entry: TenantEntry;
  etag?: string;
  createdTime: string;
  lastUpdatedTime: string;
  lastUpdatedBy: string;
}

/** One change of the registry, kept for audit: who, when, what. */
export interface TenantChange {
  time: string;
  tenantId: string;
  action: 'Created' | 'Replaced' | 'Deleted';
  by: string;
  /** The entry after the change (none for a deletion). */
  entry?: TenantEntry;
}

/** Where machine references without their own subscription or resource group are resolved. */
export interface ArcDefaults {
  subscriptionId?: string;
  resourceGroup?: string;
}

/** The machine a reference names once the configured defaults fill its gaps; undefined when one stays unknown. */
export function resolveMachineReference(reference: MachineReference, defaults: ArcDefaults): MachineRef | undefined {
  const subscriptionId = reference.subscriptionId ?? defaults.subscriptionId;
  const resourceGroup = reference.resourceGroup ?? defaults.resourceGroup;
  if (!subscriptionId || !resourceGroup) return undefined;
  return { subscriptionId, resourceGroup, machineName: reference.machineName };
}

/** Arc resource ids compare case-insensitively, as ARM does. */
function sameMachine(a: MachineRef, b: MachineRef): boolean {
  return (
    a.subscriptionId.toLowerCase() === b.subscriptionId.toLowerCase() &&
    a.resourceGroup.toLowerCase() === b.resourceGroup.toLowerCase() &&
    a.machineName.toLowerCase() === b.machineName.toLowerCase()
  );
}

/** Whether the tenant's entry lists this machine (both resolved with the same defaults). */
export function tenantMayUseMachine(entry: TenantEntry, machine: MachineRef, defaults: ArcDefaults): boolean {
  return entry.machines.some((listed) => {
    const resolved = resolveMachineReference(listed, defaults);
    return resolved !== undefined && sameMachine(resolved, machine);
  });
}

/** The virtual networks the tenant may use on one controller (resourceIds compare case-insensitively). */
export function tenantVirtualNetworks(entry: TenantEntry, networkController: string): readonly string[] {
  return entry.networkControllers[networkController]?.virtualNetworks ?? [];
}

export function tenantMayUseVirtualNetwork(entry: TenantEntry, networkController: string, vnetId: string): boolean {
  return tenantVirtualNetworks(entry, networkController).some((v) => v.toLowerCase() === vnetId.toLowerCase());
}

/** What an attach request names that the tenant may touch: its controller, its virtual network and its machines. */
export interface TenantScopedRequest {
  networkController: string;
  virtualNetworkId: string;
  hyperVHost: MachineReference;
  containerHost: ContainerHostReference;
}

/** Whether the entry lets the tenant use this secret's guest account in this VM (names compare case-insensitively). */
export function tenantMayUseGuestCredential(entry: TenantEntry, secretName: string, vmName: string): boolean | 'vm' {
  const grant = entry.guestCredentials?.find((g) => g.secretName.toLowerCase() === secretName.toLowerCase());
  if (!grant) return false;
  return grant.vmNames.some((name) => name.toLowerCase() === vmName.toLowerCase()) ? true : 'vm';
}

/**
 * Every field of the request that names something outside the tenant's entry, with the reason; empty when the
 * tenant may make the request. Pure: the same check runs at submit and again before every remote write.
 */
export function tenantIssues(
  tenantId: string,
  entry: TenantEntry | undefined,
  request: TenantScopedRequest,
  defaults: ArcDefaults,
): FieldIssue[] {
  if (!entry) return [{ field: 'tenantId', reason: `tenant "${tenantId}" is not registered` }];
  const issues: FieldIssue[] = [];
  if (!entry.networkControllers[request.networkController]) {
    issues.push({
      field: 'networkController',
      reason: `tenant "${tenantId}" may not use Network Controller "${request.networkController}"`,
    });
  } else if (!tenantMayUseVirtualNetwork(entry, request.networkController, request.virtualNetworkId)) {
    issues.push({
      field: 'virtualNetworkId',
      reason: `tenant "${tenantId}" may not use virtual network "${request.virtualNetworkId}"`,
    });
  }
  const containerHost = request.containerHost;
  if (isGuestVmReference(containerHost)) {
    const allowed = tenantMayUseGuestCredential(entry, containerHost.credential.secretName, containerHost.vmName);
    if (allowed === false) {
      issues.push({
        field: 'containerHost.credential.secretName',
        reason: `tenant "${tenantId}" may not use guest credential "${containerHost.credential.secretName}"`,
      });
    } else if (allowed === 'vm') {
      issues.push({
        field: 'containerHost.vmName',
        reason: `tenant "${tenantId}" may not use guest credential "${containerHost.credential.secretName}" in VM "${containerHost.vmName}"`,
      });
    }
  }
  const machines: [string, MachineReference][] = [['hyperVHost', request.hyperVHost]];
  if (!isGuestVmReference(containerHost)) machines.push(['containerHost', containerHost]);
  for (const [field, reference] of machines) {
    const machine = resolveMachineReference(reference, defaults);
    if (machine && !tenantMayUseMachine(entry, machine, defaults)) {
      issues.push({
        field: `${field}.machineName`,
        reason: `tenant "${tenantId}" may not use machine "${machine.machineName}" (${machine.resourceGroup})`,
      });
    }
  }
  return issues;
}
