import type { SimulatedWindowsMachine } from '../SimulatedWindowsMachine';
import {
  type DesiredValue,
  runScript,
  ScriptFailure,
  type ScriptRunOutcome,
  setRegistryValue,
  settleService,
  verifyRegistryValues,
} from './scriptRun';

export const PLUGIN_KEY =
  'SYSTEM\\CurrentControlSet\\Services\\hns\\Parameters\\Plugins\\D5AAF7C4-1B3E-4b49-9CF9-9263FAB9DC6D';
const CLSID_KEY = 'Software\\Classes\\CLSID\\{D5AAF7C4-1B3E-4b49-9CF9-9263FAB9DC6D}';
export const PLUGIN_DLL = 'c:\\windows\\system32\\PrivateCloudHNSPlugin.dll';

/** InstallPrivateCloudPlugin.ps1's registration (Microsoft/SDN Containers/InstallPrivateCloudPlugin.ps1). */
const DESIRED_VALUES: readonly DesiredValue[] = [
  { key: PLUGIN_KEY, name: 'Priority', kind: 'DWord', data: 1000 },
  { key: PLUGIN_KEY, name: 'NetworkRequests', kind: 'DWord', data: 31 },
  { key: PLUGIN_KEY, name: 'EndpointRequests', kind: 'DWord', data: 31 },
  { key: PLUGIN_KEY, name: 'ServiceRequests', kind: 'DWord', data: 7 },
  { key: CLSID_KEY, name: '', kind: 'String', data: 'Private Cloud HNS Plugin' },
  { key: `${CLSID_KEY}\\InprocServer32`, name: '', kind: 'String', data: PLUGIN_DLL },
  { key: `${CLSID_KEY}\\InprocServer32`, name: 'ThreadingModel', kind: 'String', data: 'Both' },
];

const SERVICE = 'hns';
const AGENT_PARAMETERS = ['AgentIPAddress', 'AgentPort', 'AgentPath', 'AgentFormat'] as const;

/** What `install-private-cloud-plugin.ps1` v1 does to a machine. */
export function installPrivateCloudPlugin(
  machine: SimulatedWindowsMachine,
  parameters: Readonly<Record<string, string>>,
): ScriptRunOutcome {
  return runScript({ name: 'install-private-cloud-plugin', version: 1 }, (context) => {
    const agentCount = AGENT_PARAMETERS.filter((name) => name in parameters).length;
    if (agentCount !== 0 && agentCount !== 4) {
      throw new ScriptFailure(
        'InvalidParameters',
        'AgentIPAddress, AgentPort, AgentPath and AgentFormat must be given together or not at all.',
        true,
      );
    }
    const port = Number(parameters.AgentPort);
    if (agentCount === 4 && (port < 1 || port > 65535)) {
      throw new ScriptFailure('InvalidParameters', 'AgentPort must be between 1 and 65535.', true);
    }
    if (machine.service(SERVICE) === undefined) {
      throw new ScriptFailure(
        'HnsNotFound',
        'The hns service (Host Network Service) is not installed: this machine cannot run Windows containers.',
        true,
      );
    }

    const values: DesiredValue[] = [...DESIRED_VALUES];
    if (agentCount === 4) {
      values.push(
        { key: PLUGIN_KEY, name: 'AgentIPAddress', kind: 'String', data: parameters.AgentIPAddress ?? '' },
        { key: PLUGIN_KEY, name: 'AgentFormat', kind: 'String', data: parameters.AgentFormat ?? '' },
        { key: PLUGIN_KEY, name: 'AgentPort', kind: 'DWord', data: port },
        { key: PLUGIN_KEY, name: 'AgentPath', kind: 'String', data: parameters.AgentPath ?? '' },
      );
    }
    let valuesSet = 0;
    for (const value of values) if (setRegistryValue(machine, context, value)) valuesSet++;

    const serviceAction = settleService(machine, context, SERVICE);
    verifyRegistryValues(machine, values);
    const agentPresent = machine.registry
      .valueNames(`HKLM\\${PLUGIN_KEY}`)
      .some((name) => name.toLowerCase() === 'agentipaddress');
    return {
      registryValuesSet: valuesSet,
      serviceAction,
      serviceStatus: 'Running',
      agentSettings: agentCount === 4 ? 'written' : agentPresent ? 'kept' : 'none',
      pluginDllPresent: machine.fileExists(PLUGIN_DLL),
    };
  });
}
