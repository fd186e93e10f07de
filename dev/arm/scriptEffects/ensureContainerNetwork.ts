import { DockerApiError, type SimulatedDocker } from '../SimulatedDocker';
import type { SimulatedWindowsMachine } from '../SimulatedWindowsMachine';
import { connectDocker, type NetworkReport, networkReport, networksNamed, warningFields } from './dockerCli';
import { runScript, ScriptFailure, type ScriptRunOutcome } from './scriptRun';

/** The script's `$ReservedNetworkNames`, compared without case as the script's `-contains` does. */
const RESERVED_NETWORK_NAMES = ['nat', 'none', 'default'];

/**
 * The script's `$CreateFailures`: the permanent codes of `docker network create` failures, by the daemon's words (the
 * script names its sources), tried in order, case-insensitively as PowerShell's `-match`. Anything else is
 * `DockerCommandFailed`, retryable.
 */
export const CREATE_FAILURES: readonly { code: string; pattern: RegExp }[] = [
  { code: 'NetworkNameReserved', pattern: /operation is not permitted on predefined|is a pre-defined network/i },
  { code: 'HyperVNotAvailable', pattern: /VFP is not available|0x803b0037|No hypervisor is present|0xc0351000/i },
  { code: 'SubnetInUse', pattern: /overlap/i },
  { code: 'DriverNotAvailable', pattern: /could not find plugin|plugin not found|Invalid network type|0x803b000b/i },
];

/** The script's New-CreateFailure. */
export function createFailure(text: string, name: string, driver: string, subnet: string): ScriptFailure {
  const code = CREATE_FAILURES.find((failure) => failure.pattern.test(text))?.code ?? 'DockerCommandFailed';
  const messages: Record<string, string> = {
    NetworkNameReserved: `Docker keeps the name '${name}' for a network of its own; choose another network name: ${text}`,
    HyperVNotAvailable:
      `Docker network '${name}' cannot be created: the Hyper-V switch is not available in this VM (install the ` +
      `Hyper-V feature and restart the VM): ${text}`,
    SubnetInUse:
      `Docker network '${name}' cannot be created: subnet ${subnet} overlaps a network already on this VM; remove ` +
      `that network or change the request: ${text}`,
    DriverNotAvailable: `Docker network '${name}' cannot be created: this Docker engine has no '${driver}' network driver: ${text}`,
    DockerCommandFailed: `docker network create failed: ${text}`,
  };
  return new ScriptFailure(code, messages[code] ?? text, code !== 'DockerCommandFailed');
}

/** The script's Find-Network: exact-name match over `docker network ls`, then inspect by id. */
function findNetwork(docker: SimulatedDocker, name: string): NetworkReport | undefined {
  const matches = networksNamed(docker, name);
  if (matches.length === 0) return undefined;
  if (matches.length > 1) {
    throw new ScriptFailure(
      'NetworkAmbiguous',
      `${matches.length} Docker networks are named '${name}'; an operator must remove the extra ones.`,
      true,
    );
  }
  return networkReport(docker.inspect(matches[0]!.id));
}

/** What `ensure-container-network.ps1` v2 does to a machine. */
export function ensureContainerNetwork(
  machine: SimulatedWindowsMachine,
  parameters: Readonly<Record<string, string>>,
): ScriptRunOutcome {
  const name = parameters.NetworkName ?? '';
  const driver = parameters.Driver ?? '';
  const subnet = parameters.Subnet ?? '';
  const gateway = parameters.Gateway ?? '';
  return runScript({ name: 'ensure-container-network', version: 2 }, (context) => {
    if (RESERVED_NETWORK_NAMES.includes(name.toLowerCase())) {
      throw new ScriptFailure(
        'NetworkNameReserved',
        `'${name}' is the name of one of Docker's predefined Windows networks (nat, none, default); choose another ` +
          'network name.',
        true,
      );
    }
    const session = connectDocker(machine);
    const { docker } = session;

    let action = 'exists';
    let network = findNetwork(docker, name);
    if (network === undefined) {
      let createText = '';
      try {
        docker.create({ name, driver, subnet, gateway });
        context.changed = true;
        action = 'created';
        context.out(`created docker network '${name}' (${driver}, ${subnet}, gateway ${gateway})`);
      } catch (error) {
        if (!(error instanceof DockerApiError)) throw error;
        // The CLI's stderr: its own warnings first, then the daemon's answer.
        createText = [...docker.cliWarnings, `Error response from daemon: ${error.message}`].join('\n');
      }
      network = findNetwork(docker, name);
      if (network === undefined) throw createFailure(createText, name, driver, subnet);
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
      engineVersion: session.engineVersion,
      ...warningFields(session),
    };
  });
}
