import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { isKnownError } from '../../../shared/errors';
import { stableUuid } from '../../../shared/ids';
import type { AttachRequestInput } from '../../../shared/model/attachRequest';
import { withAllSteps } from '../../../shared/model/records';
import { type TenantEntryInput, TenantEntrySchema } from '../../../shared/model/tenant';
import { NetworkControllerClient } from '../../../shared/networkController/NetworkControllerClient';
import { NicDirectory } from '../../../shared/networkController/NicDirectory';
import { NicUpdateBatcher } from '../../../shared/networkController/NicUpdateBatcher';
import { addIpConfigurations, type AddIpConfigurationsCheckpoint } from '../../../shared/workflow/addIpConfigurations';
import type { StepRunContext } from '../../../shared/workflow/stepTypes';
import { tenantGuard } from '../../../shared/workflow/tenantGuard';
import { InMemoryTenantStore } from '../../support/InMemoryTenantStore';
import { startTestNetworkController } from '../../support/ncEmulator';
import { acceptedSeedRequest } from '../../support/seed';
import { exampleTenant, LAB_DEFAULTS } from '../../support/tenants';

/**
 * Step 1 against the Network Controller emulator's default seed: contoso's VNet1 and fabrikam's VNet2 both use
 * 192.168.1.0/24, with ContainerHostVM1_Net0 (VNet1) and FabrikamVM1_Net0 (VNet2) both at 192.168.1.9.
 */
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const SEEDED_NICS = {
  ContainerHostVM1_Net0: 'VNet1',
  ContainerHostVM2_Net0: 'VNet1',
  TenantVM3_Net0: 'VNet1',
  FabrikamVM1_Net0: 'VNet2',
} as const;
type SeededNic = keyof typeof SEEDED_NICS;

describe('step 1 acts only on the tenant’s networks and NICs', () => {
  let nc: Awaited<ReturnType<typeof startTestNetworkController>>;
  let client: NetworkControllerClient;

  beforeAll(async () => {
    nc = await startTestNetworkController({ provisioningDelayInMs: 10 });
    client = new NetworkControllerClient(nc.baseUrl, { tls: { caCertPem: nc.ca.caCertPem }, retryDelayInMs: 10 });
  });
  afterAll(() => nc.close());
  beforeEach(async () => {
    await nc.admin('POST', '/_emulator/reset');
    await nc.admin('DELETE', '/_emulator/requests');
  });

  /** Runs step 1 to its end for `tenantId` under `registry`; the outcome, or the error's code. */
  async function runStep(
    registry: InMemoryTenantStore,
    tenantId: string,
    overrides: Partial<AttachRequestInput>,
    attachmentId = 'b1',
    details: Record<string, unknown>[] = [],
  ): Promise<string> {
    const deps = {
      networkController: client,
      directory: new NicDirectory(client, { maxAgeInMs: 10_000 }),
      writer: new NicUpdateBatcher(client, { windowInMs: 0, pollIntervalInMs: 10, stableUuid, sleep }),
      authorize: tenantGuard(registry, LAB_DEFAULTS),
      preflight: () => Promise.resolve({}),
      pollIntervalInMs: 10,
      operationTimeoutInMs: 10_000,
    };
    let checkpoint: AddIpConfigurationsCheckpoint | undefined;
    for (let delivery = 0; delivery < 5; delivery++) {
      const run: StepRunContext<AddIpConfigurationsCheckpoint> = {
        tenantId,
        attachmentId,
        request: acceptedSeedRequest({ attachmentId, ...overrides }),
        attempt: delivery + 1,
        steps: withAllSteps({}),
        result: {},
        checkpoint,
        saveCheckpoint: (next) => {
          checkpoint = next;
          return Promise.resolve();
        },
        inlineWaitInMs: 5_000,
        options: {},
        nowInMs: () => Date.now(),
        sleep,
        log: () => undefined,
      };
      try {
        const outcome = await addIpConfigurations(deps, run);
        if (outcome.kind === 'succeeded') {
          details.push(outcome.detail);
          return 'Succeeded';
        }
        checkpoint = outcome.checkpoint;
      } catch (error) {
        if (!isKnownError(error)) throw error;
        if (!error.retryable) return error.code;
      }
    }
    return 'GaveUp';
  }

  const writes = async () =>
    ((await nc.admin('GET', '/_emulator/requests')) as { method: string; path: string }[]).filter(
      (r) => r.method === 'PUT' || r.method === 'DELETE',
    );
  const addressesOn = async (nicId: string) =>
    (await client.getNetworkInterface(nicId)).value.properties.ipConfigurations.map(
      (c) => c.properties.privateIPAddress,
    );
  const examples = () =>
    InMemoryTenantStore.with({ contoso: exampleTenant('contoso'), fabrikam: exampleTenant('fabrikam') });

  it('finds the NIC by IP within the request’s own virtual network: 192.168.1.9 is a different VM in each', async () => {
    const registry = examples();
    expect(await runStep(registry, 'contoso', { containerIps: { addresses: ['192.168.1.101'] } }, 'c1')).toBe(
      'Succeeded',
    );
    const fabrikam = { virtualNetworkId: 'VNet2', containerHost: { machineName: 'FabrikamVM1' } };
    // The same address on the same /24, in fabrikam's own address space: no conflict with contoso's.
    expect(await runStep(registry, 'fabrikam', { ...fabrikam, containerIps: { addresses: ['192.168.1.101'] } })).toBe(
      'Succeeded',
    );
    expect(await addressesOn('FabrikamVM1_Net0')).toEqual(['192.168.1.9', '192.168.1.101']);
    expect(await addressesOn('ContainerHostVM1_Net0')).toEqual(['192.168.1.9', '192.168.1.101']);
    // count looks only at fabrikam's network: .2 is free there whatever contoso holds.
    expect(await runStep(registry, 'fabrikam', { ...fabrikam, containerIps: { count: 1 } }, 'b2')).toBe('Succeeded');
    expect(await addressesOn('FabrikamVM1_Net0')).toContain('192.168.1.2');
  });

  it.each<[string, string, Partial<AttachRequestInput>, string]>([
    [
      'another tenant’s NIC by id, naming its own network',
      'fabrikam',
      {
        virtualNetworkId: 'VNet2',
        nic: { resourceId: 'ContainerHostVM1_Net0' },
        containerHost: { machineName: 'FabrikamVM1' },
      },
      'NicNotInTenantNetwork',
    ],
    [
      'another tenant’s NIC by id, naming that tenant’s network',
      'fabrikam',
      { nic: { resourceId: 'ContainerHostVM1_Net0' } },
      'TenantNotAuthorized',
    ],
    ['another tenant’s network by IP', 'fabrikam', { containerIps: { count: 2 } }, 'TenantNotAuthorized'],
    [
      'a NIC of its own tenant’s other network',
      'contoso',
      { nic: { resourceId: 'FabrikamVM1_Net0' } },
      'NicNotInTenantNetwork',
    ],
    ['an unregistered tenant', 'nobody', {}, 'TenantNotAuthorized'],
    ['a controller not listed', 'contoso', { networkController: 'other' }, 'TenantNotAuthorized'],
  ])('refuses %s before any write', async (_, tenantId, overrides, code) => {
    expect(await runStep(examples(), tenantId, overrides)).toBe(code);
    expect(await writes()).toEqual([]);
  });

  it('never mixes virtual networks on one NIC, even for a tenant that owns both', async () => {
    const registry = InMemoryTenantStore.with({
      both: { ...exampleTenant('contoso'), networkControllers: { default: { virtualNetworks: ['VNet1', 'VNet2'] } } },
    });
    expect(
      await runStep(registry, 'both', { virtualNetworkId: 'VNet2', nic: { resourceId: 'ContainerHostVM1_Net0' } }),
    ).toBe('VirtualNetworkMismatch');
    expect(await writes()).toEqual([]);
  });

  it('refuses a hyperVHost that does not run the VM, before any write; says when it cannot tell', async () => {
    const registry = InMemoryTenantStore.with({
      contoso: {
        ...exampleTenant('contoso'),
        machines: [{ machineName: 'HV01' }, { machineName: 'HV02' }, { machineName: 'ContainerHostVM1' }],
      },
    });
    // The controller places ContainerHostVM1_Net0 on /servers/HV01 (management address HV01.sdn.lab).
    expect(await runStep(registry, 'contoso', { hyperVHost: { machineName: 'HV02' } })).toBe('HostDoesNotRunVm');
    expect(await writes()).toEqual([]);
    const details: Record<string, unknown>[] = [];
    expect(await runStep(registry, 'contoso', { containerIps: { addresses: ['192.168.1.160'] } }, 'h1', details)).toBe(
      'Succeeded',
    );
    expect(details[0]).toMatchObject({ hyperVHost: 'confirmed: /servers/HV01' });
    // TenantVM3_Net0 has no server: the step goes on and says so.
    expect(
      await runStep(
        registry,
        'contoso',
        { subnetId: 'Subnet2', nic: { resourceId: 'TenantVM3_Net0' }, containerIps: { addresses: ['192.168.2.160'] } },
        'h2',
        details,
      ),
    ).toBe('Succeeded');
    expect(details[1]).toMatchObject({ hyperVHost: expect.stringMatching(/^unknown: /) as unknown });
  });

  it('checks the registry again at a later delivery: an entry changed after submit stops the step', async () => {
    const registry = examples();
    expect(await runStep(registry, 'contoso', { containerIps: { addresses: ['192.168.1.150'] } }, 'c2')).toBe(
      'Succeeded',
    );
    registry.set(
      'contoso',
      TenantEntrySchema.parse({
        ...exampleTenant('contoso'),
        networkControllers: { default: { virtualNetworks: ['VNet9'] } },
      }),
    );
    await nc.admin('DELETE', '/_emulator/requests');
    // A redelivery of the same attachment, and a new one: neither writes.
    expect(await runStep(registry, 'contoso', { containerIps: { addresses: ['192.168.1.150'] } }, 'c2')).toBe(
      'TenantNotAuthorized',
    );
    expect(await runStep(registry, 'contoso', { containerIps: { addresses: ['192.168.1.151'] } }, 'c3')).toBe(
      'TenantNotAuthorized',
    );
    expect(await writes()).toEqual([]);
  });

  it('property: tenant B never changes a NIC that only tenant A may touch, whatever the request names', async () => {
    const networks = fc.subarray(['VNet1', 'VNet2'], { minLength: 0 });
    const request = fc.record({
      virtualNetworkId: fc.constantFrom('VNet1', 'VNet2'),
      nic: fc.oneof(
        fc.constantFrom(...(Object.keys(SEEDED_NICS) as SeededNic[])).map((resourceId) => ({ resourceId })),
        fc.constant({ privateIpAddress: '192.168.1.9' }),
        fc.constant({ privateIpAddress: '192.168.1.10' }),
      ),
      containerIps: fc.oneof(
        fc.constant({ count: 1 }),
        fc.integer({ min: 160, max: 250 }).map((n) => ({ addresses: [`192.168.1.${n}`] })),
      ),
    });
    await fc.assert(
      fc.asyncProperty(networks, request, async (allowed, overrides) => {
        await nc.admin('POST', '/_emulator/reset');
        await nc.admin('DELETE', '/_emulator/requests');
        const before = Object.fromEntries(
          await Promise.all(Object.keys(SEEDED_NICS).map(async (id) => [id, await addressesOn(id)] as const)),
        );
        const entry: TenantEntryInput = {
          networkControllers:
            allowed.length > 0 ? { default: { virtualNetworks: allowed } } : { other: { virtualNetworks: ['X'] } },
          machines: [{ machineName: 'HV01' }, { machineName: 'ContainerHostVM1' }],
        };
        const outcome = await runStep(InMemoryTenantStore.with({ b: entry }), 'b', overrides);
        for (const [id, vnet] of Object.entries(SEEDED_NICS)) {
          const after = await addressesOn(id);
          // A NIC changed only if it sits on a network of B's entry, and on the very network the request named.
          if (!allowed.includes(vnet) || vnet !== overrides.virtualNetworkId) expect(after).toEqual(before[id]);
        }
        // And the product itself never sends such a write (the emulator, like a controller, would also refuse some).
        for (const write of await writes()) {
          const nicId = /networkInterfaces\/([^/]+)/i.exec(write.path)?.[1] as SeededNic | undefined;
          expect(
            nicId && allowed.includes(SEEDED_NICS[nicId]) && SEEDED_NICS[nicId] === overrides.virtualNetworkId,
          ).toBe(true);
        }
        if (outcome === 'Succeeded') expect(allowed).toContain(overrides.virtualNetworkId);
      }),
      { numRuns: 40 },
    );
  });
});
