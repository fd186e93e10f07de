import { describe, expect, it } from 'vitest';

import type { RemoteRunClient } from '../../../shared/arc/remoteRun';
import { isKnownError } from '../../../shared/errors';
import { stableUuid } from '../../../shared/ids';
import {
  createContainerNetwork,
  enableNetworkProxy,
  type HostStepDeps,
  installPrivateCloudPlugin,
} from '../../../shared/workflow/hostSteps';
import type { MachineTaskCheckpoint } from '../../../shared/workflow/machineTask';
import type { StepRunContext } from '../../../shared/workflow/stepTypes';
import { tenantGuard } from '../../../shared/workflow/tenantGuard';
import { InMemoryMachineTaskStore } from '../../support/InMemoryMachineTaskStore';
import { InMemoryTenantStore } from '../../support/InMemoryTenantStore';
import { acceptedSeedRequest } from '../../support/seed';
import { exampleTenant, LAB_DEFAULTS } from '../../support/tenants';

/** Steps 2-4 with an ARM client that records every call: the registry is checked before any of them. */
function setup(registry: InMemoryTenantStore) {
  const calls: string[] = [];
  const record = (name: string) => () => {
    calls.push(name);
    return Promise.reject(new Error(`${name} must not be called`));
  };
  const runCommands = {
    getMachine: record('getMachine'),
    createOrReplaceRunCommand: record('createOrReplaceRunCommand'),
    getRunCommand: record('getRunCommand'),
    deleteRunCommand: record('deleteRunCommand'),
  } as unknown as RemoteRunClient;
  const deps: HostStepDeps = {
    tasks: {
      tasks: new InMemoryMachineTaskStore(),
      runCommands,
      stableUuid,
      reuseForInMs: 60_000,
      pollIntervalInMs: 10,
      wake: () => Promise.resolve(),
      watch: () => Promise.resolve({ messageId: 'w', popReceipt: 'p' }),
      unwatch: () => Promise.resolve(true),
    },
    defaults: LAB_DEFAULTS,
    authorize: tenantGuard(registry, LAB_DEFAULTS),
  };
  return { deps, calls };
}

function run(): StepRunContext<MachineTaskCheckpoint> {
  return {
    tenantId: 'contoso',
    attachmentId: 'seed-1',
    request: acceptedSeedRequest(),
    attempt: 1,
    result: {
      subnet: {
        resourceRef: '/virtualNetworks/VNet1/subnets/Subnet1',
        addressPrefix: '192.168.1.0/24',
        gateway: '192.168.1.1',
      },
    },
    saveCheckpoint: () => Promise.resolve(),
    inlineWaitInMs: 0,
    options: {},
    nowInMs: () => Date.now(),
    sleep: () => Promise.resolve(),
    log: () => undefined,
  };
}

describe('steps 2-4 re-check the machines against the registry before a run command', () => {
  const revoked = (machines: string[]) =>
    InMemoryTenantStore.with({
      contoso: { ...exampleTenant('contoso'), machines: machines.map((machineName) => ({ machineName })) },
    });

  it.each([
    ['enableNetworkProxy', enableNetworkProxy, ['ContainerHostVM1']],
    ['installPrivateCloudPlugin', installPrivateCloudPlugin, ['HV01']],
    ['createContainerNetwork', createContainerNetwork, ['HV01']],
  ] as const)(
    '%s fails TenantNotAuthorized, sending nothing, once a machine left the entry',
    async (_, step, machines) => {
      for (const mode of ['run', 'probe'] as const) {
        const { deps, calls } = setup(revoked([...machines]));
        const error = await step(deps, run(), mode).then(
          () => undefined,
          (caught: unknown) => caught,
        );
        expect(isKnownError(error) && error.code).toBe('TenantNotAuthorized');
        expect(isKnownError(error) && error.retryable).toBe(false);
        expect(calls).toEqual([]);
      }
    },
  );

  it('a tenant removed from the registry runs nothing either', async () => {
    const { deps, calls } = setup(new InMemoryTenantStore());
    await expect(enableNetworkProxy(deps, run())).rejects.toMatchObject({ code: 'TenantNotAuthorized' });
    expect(calls).toEqual([]);
  });
});
