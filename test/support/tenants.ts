import { readFileSync } from 'node:fs';
import path from 'node:path';

import type { TenantEntryInput } from '../../shared/model/tenant';

const EXAMPLES = path.join(__dirname, '..', '..', 'examples', 'tenants');

/** A seeded tenant's registry entry, as `npm start` registers it (examples/tenants/<tenantId>.json). */
export function exampleTenant(tenantId: 'contoso' | 'fabrikam'): TenantEntryInput {
  return JSON.parse(readFileSync(path.join(EXAMPLES, `${tenantId}.json`), 'utf8')) as TenantEntryInput;
}

/** The Arc defaults of the lab (the emulators' subscription and resource group). */
export const LAB_DEFAULTS = { subscriptionId: '00000000-0000-0000-0000-000000000000', resourceGroup: 'sdn-lab' };

/** Every machine the emulators seed, for lab tenants that are not about the boundary itself. */
export const LAB_MACHINES = ['HV01', 'HV02', 'ContainerHostVM1', 'ContainerHostVM2', 'FabrikamVM1'];

/**
 * The entry a lab tenant gets in tests that are not about the tenant boundary: what the request names (controller,
 * virtual network, machines) and the seeded lab besides, so those tests keep testing what they were written for.
 */
export function labTenant(
  request: {
    networkController?: string;
    virtualNetworkId?: string;
    hyperVHost?: unknown;
    containerHost?: unknown;
  } = {},
): TenantEntryInput {
  const machines = new Map<string, Record<string, unknown>>(
    LAB_MACHINES.map((name) => [name.toLowerCase(), { machineName: name }]),
  );
  for (const machine of [request.hyperVHost, request.containerHost]) {
    if (
      typeof machine === 'object' &&
      machine !== null &&
      typeof (machine as { machineName?: unknown }).machineName === 'string'
    ) {
      const named = machine as { machineName: string };
      machines.set(JSON.stringify(machine).toLowerCase(), { ...named });
    }
  }
  const networks = new Set(['VNet1', 'VNet2']);
  if (typeof request.virtualNetworkId === 'string') networks.add(request.virtualNetworkId);
  const controller = typeof request.networkController === 'string' ? request.networkController : 'default';
  return {
    networkControllers: {
      [controller]: { virtualNetworks: [...networks] },
      ...(controller === 'default' ? {} : { default: { virtualNetworks: [...networks] } }),
    },
    machines: [...machines.values()] as TenantEntryInput['machines'],
    ...guestCredentialOf(request.containerHost),
    principals: [],
  };
}

/** The lab's grant of the guest credential a request names for a VM reached through its host, if it names one. */
function guestCredentialOf(containerHost: unknown): Pick<TenantEntryInput, 'guestCredentials'> {
  const guest = containerHost as { vmName?: unknown; credential?: { secretName?: unknown } } | null | undefined;
  const secretName = guest?.credential?.secretName;
  if (typeof guest?.vmName !== 'string' || typeof secretName !== 'string') return {};
  return { guestCredentials: [{ secretName, vmNames: [guest.vmName] }] };
}
