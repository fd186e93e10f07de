import { containerNetworkDrivers } from '../../../shared/arc/scriptParameters';
import type { SimulatedWindowsMachine } from '../SimulatedWindowsMachine';
import { CLSID_KEY, PLUGIN_KEY } from './installPrivateCloudPlugin';
import { runScript, ScriptFailure, type ScriptRunOutcome } from './scriptRun';

const SERVICE = 'hns';
const REGISTRATION_KEYS = [PLUGIN_KEY, CLSID_KEY] as const;
const AGENT_VALUE_NAMES = ['agentipaddress', 'agentport', 'agentpath', 'agentformat'];

/** The script's Assert-NoPluginNetworks: an l2bridge or l2tunnel network needs the plugin, so nothing is removed. */
function assertNoPluginNetworks(machine: SimulatedWindowsMachine): void {
  const docker = machine.docker;
  if (docker === undefined) return;
  if (machine.service('docker')?.status !== 'Running') {
    throw new ScriptFailure(
      'DockerUnavailable',
      'The Docker engine does not answer, so the networks that use the plugin cannot be listed: error during ' +
        'connect: This error may indicate that the docker daemon is not running.: open //./pipe/docker_engine: The ' +
        'system cannot find the file specified.',
      false,
    );
  }
  const networks = docker
    .list()
    .filter((network) => (containerNetworkDrivers as readonly string[]).includes(network.driver))
    .map((network) => ({ name: network.name, driver: network.driver }));
  if (networks.length === 0) return;
  let names = networks
    .slice(0, 5)
    .map((network) => network.name)
    .join(', ');
  if (networks.length > 5) names += `, and ${networks.length - 5} more`;
  throw new ScriptFailure(
    'ContainerNetworksStillPresent',
    `${networks.length} l2bridge or l2tunnel Docker network(s) still use the plugin: ${names}. Nothing was removed; ` +
      'remove those networks first, then retry.',
    false,
    { networks: networks.slice(0, 20), networkCount: networks.length },
  );
}

/** What `remove-private-cloud-plugin.ps1` v2 does to a machine (v2 only disposes its registry handles). */
export function removePrivateCloudPlugin(machine: SimulatedWindowsMachine): ScriptRunOutcome {
  return runScript({ name: 'remove-private-cloud-plugin', version: 2 }, (context) => {
    const present = REGISTRATION_KEYS.filter((key) => machine.registry.hasKey(`HKLM\\${key}`));
    let agentSettingsRemoved = false;
    let serviceAction = 'none';
    if (present.length > 0) {
      assertNoPluginNetworks(machine);
      agentSettingsRemoved = machine.registry
        .valueNames(`HKLM\\${PLUGIN_KEY}`)
        .some((name) => AGENT_VALUE_NAMES.includes(name.toLowerCase()));
      for (const key of present) {
        machine.registry.deleteKeyTree(`HKLM\\${key}`);
        context.changed = true;
        context.out(`removed HKLM\\${key}`);
      }
    }
    if (context.changed && machine.service(SERVICE) !== undefined) {
      machine.restartService(SERVICE);
      serviceAction = 'restarted';
      context.out(`restarted service ${SERVICE}`);
    }
    for (const key of REGISTRATION_KEYS) {
      if (machine.registry.hasKey(`HKLM\\${key}`)) {
        throw new ScriptFailure('VerificationFailed', `HKLM\\${key} is still there after deleting it.`, false);
      }
    }
    return {
      removedKeys: present,
      agentSettingsRemoved,
      serviceAction,
      serviceStatus: machine.service(SERVICE)?.status ?? null,
    };
  });
}
