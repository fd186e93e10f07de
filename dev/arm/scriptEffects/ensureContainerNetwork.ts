import { DockerApiError, type SimulatedDocker } from '../SimulatedDocker';
import type { SimulatedWindowsMachine } from '../SimulatedWindowsMachine';
import { runScript, ScriptFailure, type ScriptRunOutcome } from './scriptRun';

interface FoundNetwork {
  id: string;
  name: string;
  driver: string;
  subnet: string;
  gateway: string;
}

/** The script's Find-Network: exact-name match over `docker network ls`, then inspect by id. */
function findNetwork(docker: SimulatedDocker, name: string): FoundNetwork | undefined {
  const matches = docker.list().filter((network) => network.name === name);
  if (matches.length === 0) return undefined;
  if (matches.length > 1) {
    throw new ScriptFailure(
      'NetworkAmbiguous',
      `${matches.length} Docker networks are named '${name}'; an operator must remove the extra ones.`,
      true,
    );
  }
  const network = docker.inspect(matches[0]!.id);
  const config = network.ipam.config[0];
  return {
    id: network.id,
    name: network.name,
    driver: network.driver,
    subnet: config?.subnet ?? '',
    gateway: config?.gateway ?? '',
  };
}

/** What `ensure-container-network.ps1` v1 does to a machine. */
export function ensureContainerNetwork(
  machine: SimulatedWindowsMachine,
  parameters: Readonly<Record<string, string>>,
): ScriptRunOutcome {
  const name = parameters.NetworkName ?? '';
  const driver = parameters.Driver ?? '';
  const subnet = parameters.Subnet ?? '';
  const gateway = parameters.Gateway ?? '';
  return runScript({ name: 'ensure-container-network', version: 1 }, (context) => {
    const docker = machine.docker;
    if (docker === undefined) {
      throw new ScriptFailure('DockerNotFound', 'The docker command is not installed or not on the system PATH.', true);
    }
    if (machine.service('docker')?.status !== 'Running') {
      throw new ScriptFailure(
        'DockerUnavailable',
        'The Docker engine does not answer: error during connect: This error may indicate that the docker daemon is ' +
          'not running.: open //./pipe/docker_engine: The system cannot find the file specified.',
        false,
      );
    }

    let action = 'exists';
    let network = findNetwork(docker, name);
    if (network === undefined) {
      let createText = '';
      try {
        createText = docker.create({ name, driver, subnet, gateway }).id;
        context.changed = true;
        action = 'created';
        context.out(`created docker network '${name}' (${driver}, ${subnet}, gateway ${gateway})`);
      } catch (error) {
        if (!(error instanceof DockerApiError)) throw error;
        createText = `Error response from daemon: ${error.message}`;
      }
      network = findNetwork(docker, name);
      if (network === undefined) {
        throw new ScriptFailure('DockerCommandFailed', `docker network create failed: ${createText}`, false);
      }
    }

    if (network.driver !== driver || network.subnet !== subnet || network.gateway !== gateway) {
      const found = `driver '${network.driver}', subnet '${network.subnet}', gateway '${network.gateway}'`;
      const wanted = `driver '${driver}', subnet '${subnet}', gateway '${gateway}'`;
      if (action === 'created') {
        throw new ScriptFailure(
          'NetworkVerificationFailed',
          `Docker network '${name}' was created but reads back as ${found} instead of ${wanted}; an operator needs to check it.`,
          true,
        );
      }
      throw new ScriptFailure(
        'NetworkConflict',
        `Docker network '${name}' already exists with ${found}, but this attachment needs ${wanted}. It was left ` +
          'untouched because containers may use it; an operator needs to remove or rename it, or change the request.',
        true,
      );
    }
    return {
      action,
      network: {
        name: network.name,
        id: network.id,
        driver: network.driver,
        subnet: network.subnet,
        gateway: network.gateway,
      },
      engineVersion: docker.engineVersion,
    };
  });
}
