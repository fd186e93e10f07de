import type { SimulatedWindowsMachine } from '../SimulatedWindowsMachine';
import {
  connectDocker,
  connectedContainers,
  MAX_REPORTED_CONTAINERS,
  networkReport,
  networksNamed,
  warningFields,
} from './dockerCli';
import { PLUGIN_DLL, PLUGIN_KEY, PLUGIN_VALUES } from './installPrivateCloudPlugin';
import { registryReport, runScript, ScriptFailure, type ScriptRunOutcome, serviceReport } from './scriptRun';

/** The agent override's values on the plugin key, and the names the result line gives them. */
const AGENT_VALUES = [
  ['AgentIPAddress', 'ipAddress'],
  ['AgentPort', 'port'],
  ['AgentPath', 'path'],
  ['AgentFormat', 'format'],
] as const;

function agentSettings(machine: SimulatedWindowsMachine): Record<string, string | number | string[]> {
  const settings: Record<string, string | number | string[]> = {};
  for (const [valueName, field] of AGENT_VALUES) {
    const value = machine.registry.getValue(`HKLM\\${PLUGIN_KEY}`, valueName);
    if (value !== undefined) settings[field] = value.data;
  }
  return settings;
}

function networkState(machine: SimulatedWindowsMachine, name: string): Record<string, unknown> {
  const session = connectDocker(machine);
  const { docker } = session;
  const matches = networksNamed(docker, name);
  if (matches.length > 1) {
    throw new ScriptFailure(
      'NetworkAmbiguous',
      `${matches.length} Docker networks are named '${name}'; an operator must remove the extra ones.`,
      true,
    );
  }
  if (matches[0] === undefined) {
    return { network: { name, present: false }, engineVersion: session.engineVersion, ...warningFields(session) };
  }
  const network = docker.inspect(matches[0].id);
  const { name: actualName, id, driver, subnet, gateway } = networkReport(network);
  const containers = connectedContainers(network);
  return {
    network: {
      name: actualName,
      present: true,
      id,
      driver,
      subnet,
      gateway,
      containers: containers.slice(0, MAX_REPORTED_CONTAINERS),
      containerCount: containers.length,
    },
    engineVersion: session.engineVersion,
    ...warningFields(session),
  };
}

/** What `inspect-container-host.ps1` v2 reports about a machine; it changes nothing. */
export function inspectContainerHost(
  machine: SimulatedWindowsMachine,
  parameters: Readonly<Record<string, string>>,
): ScriptRunOutcome {
  return runScript({ name: 'inspect-container-host', version: 2 }, () => {
    const registryValues = registryReport(machine, PLUGIN_VALUES);
    const agent = agentSettings(machine);
    const agentCount = Object.keys(agent).length;
    const service = serviceReport(machine, 'hns');
    const fields: Record<string, unknown> = {
      pluginInstalled: service.status === 'Running' && registryValues.every((value) => value.state === 'Expected'),
      registryValues,
      agentSettings: agentCount === 4 ? 'complete' : agentCount > 0 ? 'partial' : 'none',
      agent: agentCount === 4 ? agent : null,
      pluginDllPresent: machine.fileExists(PLUGIN_DLL),
      service,
    };
    // An empty -NetworkName is as good as none: PowerShell's `if ($NetworkName)` is false for it.
    const name = parameters.NetworkName;
    return name ? { ...fields, ...networkState(machine, name) } : fields;
  });
}
