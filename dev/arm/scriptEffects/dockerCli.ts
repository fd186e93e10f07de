import type { DockerNetwork, SimulatedDocker } from '../SimulatedDocker';
import type { SimulatedWindowsMachine } from '../SimulatedWindowsMachine';
import { ScriptFailure } from './scriptRun';

/** A network as the scripts report it: `{ name, id, driver, subnet, gateway }` from its first IPAM entry. */
export interface NetworkReport {
  name: string;
  id: string;
  driver: string;
  subnet: string;
  gateway: string;
}

/** Run Command keeps only the last 4,096 bytes of output: a result line lists at most this many containers. */
export const MAX_REPORTED_CONTAINERS = 20;

/** A connected engine as the scripts' Connect-DockerEngine leaves it: the daemon, its version, the CLI's warnings. */
export interface DockerSession {
  docker: SimulatedDocker;
  engineVersion: string;
  /** What the CLI printed on stderr of its successful calls, deduplicated, at most 5: the result line's dockerWarnings. */
  warnings: string[];
}

/**
 * The scripts' Connect-DockerEngine: an engine service installed but not running is retryable, no docker command at
 * all permanent (the scripts also look in Program Files\Docker, where the simulation's docker always is), an engine
 * before 1.13 permanent (`DockerTooOld`).
 */
export function connectDocker(machine: SimulatedWindowsMachine): DockerSession {
  const status = machine.service('docker')?.status;
  if (status !== undefined && status !== 'Running') {
    throw new ScriptFailure(
      'DockerUnavailable',
      `The Docker engine service 'docker' is ${status}; it may still be starting, or need a start.`,
      false,
    );
  }
  const docker = machine.docker;
  if (docker === undefined) {
    throw new ScriptFailure(
      'DockerNotFound',
      'The docker command is neither on the system PATH nor in Program Files\\Docker.',
      true,
    );
  }
  const version = /^(\d+)\.(\d+)/.exec(docker.engineVersion);
  if (version && (Number(version[1]) < 1 || (Number(version[1]) === 1 && Number(version[2]) < 13))) {
    throw new ScriptFailure(
      'DockerTooOld',
      `The Docker engine on this VM is version ${docker.engineVersion}; these steps need Docker 1.13 or later. ` +
        'Upgrade Docker, then retry.',
      true,
    );
  }
  return { docker, engineVersion: docker.engineVersion, warnings: cliWarnings(docker) };
}

/** The scripts' Invoke-Docker bookkeeping: every CLI call prints the same warnings, so they are kept once each. */
function cliWarnings(docker: SimulatedDocker): string[] {
  const kept: string[] = [];
  for (const line of docker.cliWarnings) {
    const text = line.trim().slice(0, 300);
    if (text !== '' && kept.length < 5 && !kept.some((seen) => seen.toLowerCase() === text.toLowerCase())) {
      kept.push(text);
    }
  }
  return kept;
}

/** The result line's `dockerWarnings`, present only when the CLI warned. */
export function warningFields(session: DockerSession): { dockerWarnings?: string[] } {
  return session.warnings.length > 0 ? { dockerWarnings: [...session.warnings] } : {};
}

/** `docker network ls`, compared by exact name (the CLI's name filter matches parts of names). */
export function networksNamed(docker: SimulatedDocker, name: string): DockerNetwork[] {
  return docker.list().filter((network) => network.name === name);
}

export function networkReport(network: DockerNetwork): NetworkReport {
  const config = network.ipam.config[0];
  return {
    name: network.name,
    id: network.id,
    driver: network.driver,
    subnet: config?.subnet ?? '',
    gateway: config?.gateway ?? '',
  };
}

/**
 * The connected containers as the scripts list them: in `docker network inspect` order (Go writes map keys sorted,
 * so by id), with the id cut to the 12 characters the CLI shows.
 */
export function connectedContainers(network: DockerNetwork): { id: string; name: string }[] {
  return Object.entries(network.containers)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([id, endpoint]) => ({ id: id.slice(0, 12), name: endpoint.name }));
}
