import { describe, expect, it } from 'vitest';

import { PLUGIN_DLL } from '../../../dev/arm/scriptEffects/installPrivateCloudPlugin';
import { seedMachines } from '../../../dev/arm/seed';
import type { MachineSnapshot, SimulatedWindowsMachine } from '../../../dev/arm/SimulatedWindowsMachine';

/** A machine's state without its name and the Docker networks' generated ids and times. */
function comparable(machine: SimulatedWindowsMachine | undefined): Omit<MachineSnapshot, 'name' | 'dockerNetworks'> & {
  dockerNetworks: string[][];
} {
  if (machine === undefined) throw new Error('machine missing from the seed');
  const { name: _name, dockerNetworks, ...rest } = machine.snapshot();
  return { ...rest, dockerNetworks: dockerNetworks.map((network) => [network.name, network.driver]) };
}

describe('ARM emulator seed', () => {
  it('holds the five lab machines, FabrikamVM1 last with index 5', () => {
    expect(seedMachines().map((m) => [m.name, m.role, m.vmId])).toEqual([
      ['HV01', 'HyperVHost', '5a1d2b3c-0000-4000-8000-000000000001'],
      ['ContainerHostVM1', 'ContainerHostVm', '5a1d2b3c-0000-4000-8000-000000000002'],
      ['HV02', 'HyperVHost', '5a1d2b3c-0000-4000-8000-000000000003'],
      ['ContainerHostVM2', 'ContainerHostVm', '5a1d2b3c-0000-4000-8000-000000000004'],
      ['FabrikamVM1', 'ContainerHostVm', '5a1d2b3c-0000-4000-8000-000000000005'],
    ]);
  });

  it('gives FabrikamVM1 what ContainerHostVM1 has: Docker and HNS running, the plugin DLL, no plugin settings', () => {
    const machines = seedMachines();
    const fabrikam = machines.find((m) => m.name === 'FabrikamVM1');
    const contoso = machines.find((m) => m.name === 'ContainerHostVM1');
    expect(fabrikam?.fileExists(PLUGIN_DLL)).toBe(true);
    expect(comparable(fabrikam)).toEqual(comparable(contoso));
    expect(comparable(fabrikam).services).toMatchObject({ docker: { status: 'Running' }, hns: { status: 'Running' } });
  });
});
