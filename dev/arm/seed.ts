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

function hyperVHost(name: string, index: number, status: 'Connected' | 'Disconnected'): SimulatedWindowsMachine {
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

function containerHost(name: string, index: number): SimulatedWindowsMachine {
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
 * FabrikamVM1_Net0 is on VNet2 in the Network Controller emulator's seed), set up like ContainerHostVM1.
 */
export function seedMachines(): SimulatedWindowsMachine[] {
  const vm2 = containerHost('ContainerHostVM2', 4);
  const pluginKey = `HKLM\\${PLUGIN_KEY}`;
  vm2.registry.setValue(pluginKey, 'AgentIPAddress', { type: 'REG_SZ', data: '10.127.132.20' });
  vm2.registry.setValue(pluginKey, 'AgentPort', { type: 'REG_DWORD', data: 6642 });
  vm2.registry.setValue(pluginKey, 'AgentPath', { type: 'REG_SZ', data: '/metadata/v1' });
  vm2.registry.setValue(pluginKey, 'AgentFormat', { type: 'REG_SZ', data: 'json' });
  return [
    hyperVHost('HV01', 1, 'Connected'),
    containerHost('ContainerHostVM1', 2),
    hyperVHost('HV02', 3, 'Disconnected'),
    vm2,
    containerHost('FabrikamVM1', 5),
  ];
}
