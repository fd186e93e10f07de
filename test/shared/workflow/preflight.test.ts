import { describe, expect, it } from 'vitest';

import type { ArcMachine } from '../../../shared/arc/armResources';
import { RemoteServiceError } from '../../../shared/errors';
import type { MachineRef } from '../../../shared/model/machineRef';
import { preflightMachines } from '../../../shared/workflow/preflight';
import { acceptedSeedRequest } from '../../support/seed';
import { LAB_DEFAULTS } from '../../support/tenants';

const healthy = (name: string): ArcMachine => ({
  name,
  status: 'Connected',
  agentVersion: '1.45.0',
  extensionsBlockList: [],
  location: 'westeurope',
});

function lookup(machines: Record<string, Partial<ArcMachine>>) {
  const asked: string[] = [];
  const get = (ref: MachineRef): Promise<ArcMachine> => {
    asked.push(ref.machineName);
    const override = machines[ref.machineName];
    if (override === undefined) {
      return Promise.reject(
        new RemoteServiceError(`The Resource '${ref.machineName}' was not found.`, {
          source: 'AzureResourceManager',
          code: 'ResourceNotFound',
          statusCode: 404,
          retryable: false,
        }),
      );
    }
    return Promise.resolve({ ...healthy(ref.machineName), ...override });
  };
  return { get, asked };
}

describe('preflightMachines', () => {
  const request = acceptedSeedRequest({ attachmentId: 'look-ahead' });

  it('reports each machine of steps 2-4 when all can take a run command', async () => {
    const { get, asked } = lookup({ HV01: {}, ContainerHostVM1: {} });
    const checked = await preflightMachines(get, request, LAB_DEFAULTS);
    expect(asked).toEqual(['HV01', 'ContainerHostVM1']);
    expect(checked).toEqual({
      hyperVHost: 'HV01: Connected, agent 1.45.0',
      containerHost: 'ContainerHostVM1: Connected, agent 1.45.0',
    });
  });

  it.each([
    ['a missing machine', {}, 'ResourceNotFound', false],
    [
      'a Disconnected machine (it may come back)',
      { ContainerHostVM1: { status: 'Disconnected' } },
      'MachineNotConnected',
      true,
    ],
    ['an agent too old for Run Command', { ContainerHostVM1: { agentVersion: '1.20.0' } }, 'ArcAgentTooOld', false],
    [
      'a machine that blocks the Run Command handler',
      { ContainerHostVM1: { extensionsBlockList: ['Microsoft.CPlat.Core/RunCommandHandlerWindows'] } },
      'RunCommandBlocked',
      false,
    ],
  ] as [string, Record<string, Partial<ArcMachine>>, string, boolean][])(
    'refuses %s, naming the field and keeping the code',
    async (_, containerHost, code, retryable) => {
      const { get } = lookup({ HV01: {}, ...containerHost });
      await expect(preflightMachines(get, request, LAB_DEFAULTS)).rejects.toMatchObject({
        code,
        retryable,
        message: expect.stringMatching(/^containerHost \(ContainerHostVM1\): /) as unknown,
      });
    },
  );
});

describe('preflightMachines for a VM reached through its Hyper-V host', () => {
  const request = acceptedSeedRequest({
    attachmentId: 'look-ahead-guest',
    containerHost: { vmName: 'TenantVm7', through: 'hyperVHost', credential: { secretName: 'contoso-guest' } },
  });

  it('looks up only the host in ARM, and reads the guest secret', async () => {
    const { get, asked } = lookup({ HV01: {} });
    const read: string[] = [];
    const checked = await preflightMachines(get, request, LAB_DEFAULTS, (secretName) => {
      read.push(secretName);
      return Promise.resolve({ userName: 'u', password: 'Never-Shown-Passw0rd' });
    });
    expect(asked).toEqual(['HV01']);
    expect(read).toEqual(['contoso-guest']);
    expect(checked.containerHost).toBe('TenantVm7 through HV01: secret contoso-guest readable');
    expect(JSON.stringify(checked)).not.toContain('Never-Shown-Passw0rd');
  });

  it('fails naming the VM with Key Vault’s own code when the secret cannot be read', async () => {
    const { get, asked } = lookup({ HV01: {} });
    const missing = () =>
      Promise.reject(
        new RemoteServiceError('A secret with (name/id) contoso-guest was not found in this key vault.', {
          source: 'KeyVault',
          code: 'SecretNotFound',
          statusCode: 404,
          retryable: false,
        }),
      );
    await expect(preflightMachines(get, request, LAB_DEFAULTS, missing)).rejects.toMatchObject({
      name: 'StepError',
      source: 'KeyVault',
      code: 'SecretNotFound',
      retryable: false,
      message: expect.stringMatching(/^containerHost \(TenantVm7\): A secret/) as string,
    });
    expect(asked).toEqual([]);
  });
});
