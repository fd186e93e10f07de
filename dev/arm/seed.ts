import { GUEST_SEED } from '../keyVault/seed';
import { PLUGIN_DLL, PLUGIN_KEY } from './scriptEffects/installPrivateCloudPlugin';
import { SimulatedWindowsMachine } from './SimulatedWindowsMachine';

/** Where the seeded machines live; tests and `npm start` rely on these names. */
export const ARM_SEED = {
  subscriptionId: '00000000-0000-0000-0000-000000000000',
  resourceGroup: 'sdn-lab',
  location: 'westus2',
} as const;

const AGENT_VERSION = '1.45.02800.1640';
const HYPER_V_HOST = { osSku: 'Windows Server 2019 Datacenter', osVersion: '10.0.17763.6414' };

function vmId(index: number): string {
  return `5a1d2b3c-0000-4000-8000-${index.toString(16).padStart(12, '0')}`;
}

/** A Hyper-V host set up like HV01 (host agent running, its settings there); `index` makes its vmId. */
export function hyperVHost(name: string, index: number, status: 'Connected' | 'Disconnected'): SimulatedWindowsMachine {
  const machine = new SimulatedWindowsMachine(
    {
      name,
      role: 'HyperVHost',
      location: ARM_SEED.location,
      ...HYPER_V_HOST,
      agentVersion: AGENT_VERSION,
      status,
      services: { nchostagent: 'Running', vmms: 'Running' },
    },
    vmId(index),
  );
  // The host agent's own settings, there before step 2; step 2 must leave them alone.
  machine.registry.setValue('HKLM\\SYSTEM\\CurrentControlSet\\Services\\NcHostAgent\\Parameters', 'Connections', {
    type: 'REG_MULTI_SZ',
    data: ['ssl:10.127.132.10:6640'],
  });
  return machine;
}

/** A container host VM set up like ContainerHostVM1 (Docker and HNS running, plugin DLL present). */
export function containerHost(name: string, index: number): SimulatedWindowsMachine {
  const machine = new SimulatedWindowsMachine(
    {
      name,
      role: 'ContainerHostVm',
      location: ARM_SEED.location,
      ...HYPER_V_HOST,
      agentVersion: AGENT_VERSION,
      services: { docker: 'Running', hns: 'Running' },
      docker: {},
      files: [PLUGIN_DLL],
    },
    vmId(index),
  );
  machine.registry.createKey('HKLM\\SYSTEM\\CurrentControlSet\\Services\\hns\\Parameters');
  return machine;
}

/**
 * The lab: Hyper-V host HV01 and its container host VM ContainerHostVM1 (the README scenario), a second VM
 * ContainerHostVM2 whose plugin key already holds agent settings from an earlier manual install (step 3 must keep
 * them), a Disconnected host HV02, and FabrikamVM1, the second tenant's container host VM (its NIC
 * FabrikamVM1_Net0 is on VNet2 in the Network Controller emulator's seed), set up like ContainerHostVM1. The three VMs
 * run on HV01, which reaches them with PowerShell Direct as well (`invoke-in-vm`).
 */
export function seedMachines(): SimulatedWindowsMachine[] {
  const vm2 = containerHost('ContainerHostVM2', 4);
  const pluginKey = `HKLM\\${PLUGIN_KEY}`;
  vm2.registry.setValue(pluginKey, 'AgentIPAddress', { type: 'REG_SZ', data: '10.127.132.20' });
  vm2.registry.setValue(pluginKey, 'AgentPort', { type: 'REG_DWORD', data: 6642 });
  vm2.registry.setValue(pluginKey, 'AgentPath', { type: 'REG_SZ', data: '/metadata/v1' });
  vm2.registry.setValue(pluginKey, 'AgentFormat', { type: 'REG_SZ', data: 'json' });
  const hv01 = hyperVHost('HV01', 1, 'Connected');
  const vm1 = containerHost('ContainerHostVM1', 2);
  const fabrikamVm = containerHost('FabrikamVM1', 5);
  // The three VMs run on HV01 and take PowerShell Direct with their tenant's seeded guest account (dev/keyVault).
  for (const [machine, account] of [
    [vm1, GUEST_SEED.contoso],
    [vm2, GUEST_SEED.contoso],
    [fabrikamVm, GUEST_SEED.fabrikam],
  ] as const) {
    hv01.hostedVms.set(machine.name.toLowerCase(), {
      name: machine.name,
      machine,
      state: 'Running',
      account: { userName: account.userName, password: account.password },
      powerShellDirect: true,
    });
  }
  return [hv01, vm1, hyperVHost('HV02', 3, 'Disconnected'), vm2, fabrikamVm];
}
