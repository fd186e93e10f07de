import { containerNetworkDrivers, predefinedNetworkNames } from '../../../shared/arc/scriptParameters';
import { DockerApiError, type DockerNetwork, type SimulatedDocker } from '../SimulatedDocker';
import type { SimulatedWindowsMachine } from '../SimulatedWindowsMachine';
import {
  connectDocker,
  connectedContainers,
  MAX_REPORTED_CONTAINERS,
  networkReport,
  networksNamed,
  warningFields,
} from './dockerCli';
import { runScript, ScriptFailure, type ScriptRunOutcome } from './scriptRun';

/** The script's Find-Network: one exact-name match, inspected by id; several are for an operator to sort out. */
function findNetwork(docker: SimulatedDocker, name: string): DockerNetwork | undefined {
  const matches = networksNamed(docker, name);
  if (matches.length > 1) {
    throw new ScriptFailure(
      'NetworkAmbiguous',
      `${matches.length} Docker networks are named '${name}'; an operator must remove the extra ones.`,
      true,
    );
  }
  return matches[0] === undefined ? undefined : docker.inspect(matches[0].id);
}

function containersFailure(name: string, network: DockerNetwork): ScriptFailure {
  const all = connectedContainers(network);
  let names = all
    .slice(0, 5)
    .map((container) => container.name)
    .join(', ');
  if (all.length > 5) names += `, and ${all.length - 5} more`;
  return new ScriptFailure(
    'ContainersStillConnected',
    `Docker network '${name}' still has ${all.length} connected container(s): ${names}. It was left in place; ` +
      'disconnect or stop them, then retry.',
    false,
    {
      network: networkReport(network),
      containers: all.slice(0, MAX_REPORTED_CONTAINERS),
      containerCount: all.length,
    },
  );
}

/** What `remove-container-network.ps1` v2 does to a machine. */
export function removeContainerNetwork(
  machine: SimulatedWindowsMachine,
  parameters: Readonly<Record<string, string>>,
): ScriptRunOutcome {
  const name = parameters.NetworkName ?? '';
  const expected = { driver: parameters.Driver, subnet: parameters.Subnet, gateway: parameters.Gateway };
  return runScript({ name: 'remove-container-network', version: 2 }, (context) => {
    if ((predefinedNetworkNames as readonly string[]).includes(name)) {
      throw new ScriptFailure(
        'PredefinedNetwork',
        `'${name}' is one of Docker's predefined networks; it is never removed.`,
        true,
      );
    }
    const session = connectDocker(machine);
    const { docker } = session;
    const network = findNetwork(docker, name);
    if (network === undefined) {
      return { action: 'absent', network: null, engineVersion: session.engineVersion, ...warningFields(session) };
    }

    const report = networkReport(network);
    if (!(containerNetworkDrivers as readonly string[]).includes(network.driver)) {
      throw new ScriptFailure(
        'NetworkNotManaged',
        `Docker network '${name}' has driver '${network.driver}'; this product only creates l2bridge and l2tunnel ` +
          'networks, so it leaves this one alone.',
        true,
        { network: report },
      );
    }
    const differences = (['driver', 'subnet', 'gateway'] as const)
      .filter((field) => expected[field] && expected[field] !== report[field])
      .map((field) => `${field} '${report[field]}' (expected '${expected[field]}')`);
    if (differences.length > 0) {
      throw new ScriptFailure(
        'NetworkMismatch',
        `Docker network '${name}' has ${differences.join(', ')}: it is not the network this attachment created, so ` +
          'it was left in place.',
        true,
        { network: report },
      );
    }
    if (Object.keys(network.containers).length > 0) throw containersFailure(name, network);

    let action = 'removed';
    try {
      docker.remove(network.id);
      context.changed = true;
      context.out(`removed docker network '${name}' (${network.id})`);
    } catch (error) {
      if (!(error instanceof DockerApiError)) throw error;
      const now = findNetwork(docker, name);
      if (now === undefined) action = 'absent';
      else if (Object.keys(now.containers).length > 0) throw containersFailure(name, now);
      else {
        throw new ScriptFailure(
          'DockerCommandFailed',
          `docker network rm failed: Error response from daemon: ${error.message}`,
          false,
        );
      }
    }

    if (networksNamed(docker, name).some((candidate) => candidate.id === network.id)) {
      throw new ScriptFailure(
        'NetworkVerificationFailed',
        `Docker network '${name}' (${network.id}) is still listed after its removal.`,
        false,
      );
    }
    return { action, network: report, engineVersion: session.engineVersion, ...warningFields(session) };
  });
}
