import { httpsJsonOk } from './httpsJson';

export interface ArcMachineSpec {
  name: string;
  role: 'HyperVHost' | 'ContainerHostVm';
}

/** Machines per request: well under the emulator's bound, and each body small. */
const CHUNK = 2_000;

/** Onboards the fleet's Arc machines in the ARM emulator through its `POST /_emulator/machines` control route. */
export async function addArcMachines(
  origin: string,
  caCertPem: string,
  machines: readonly ArcMachineSpec[],
): Promise<void> {
  for (let i = 0; i < machines.length; i += CHUNK) {
    await httpsJsonOk(`${origin}/_emulator/machines`, 'POST', caCertPem, { machines: machines.slice(i, i + CHUNK) });
  }
}
