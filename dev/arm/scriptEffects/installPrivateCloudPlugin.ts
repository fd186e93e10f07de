import type { RegistryValue } from '../SimulatedRegistry';
import type { SimulatedWindowsMachine } from '../SimulatedWindowsMachine';
import {
  type DesiredValue,
  runScript,
  ScriptFailure,
  type ScriptRunOutcome,
  setRegistryValue,
  settleService,
} from './scriptRun';

export const HNS_PARAMETERS_KEY = 'SYSTEM\\CurrentControlSet\\Services\\hns\\Parameters';
export const PLUGIN_KEY = `${HNS_PARAMETERS_KEY}\\Plugins\\D5AAF7C4-1B3E-4b49-9CF9-9263FAB9DC6D`;
export const CLSID_KEY = 'Software\\Classes\\CLSID\\{D5AAF7C4-1B3E-4b49-9CF9-9263FAB9DC6D}';
export const PLUGIN_DLL = 'c:\\windows\\system32\\PrivateCloudHNSPlugin.dll';
/** The SID the script takes ownership as under Run Command (LocalSystem). */
const OWNER_SID = 'S-1-5-18';

/** InstallPrivateCloudPlugin.ps1's registration (Microsoft/SDN Containers/InstallPrivateCloudPlugin.ps1). */
export const PLUGIN_VALUES: readonly DesiredValue[] = [
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

/** A value to write, and whether its text must match in case too (agent values) or not (paths, COM keywords). */
type WantedValue = DesiredValue & { exact: boolean };

/**
 * The script's Test-EquivalentValue: DWORDs equal; text equal after expanding a REG_EXPAND_SZ, ignoring case unless
 * `exact`. Any other type is different.
 */
export function isEquivalentValue(
  machine: SimulatedWindowsMachine,
  current: RegistryValue | undefined,
  wanted: WantedValue,
): boolean {
  if (current === undefined) return false;
  if (wanted.kind === 'DWord') return current.type === 'REG_DWORD' && current.data === Number(wanted.data);
  let text: string;
  if (current.type === 'REG_SZ') text = current.data;
  else if (current.type === 'REG_EXPAND_SZ') text = machine.expandEnvironment(current.data);
  else return false;
  const data = String(wanted.data);
  return wanted.exact ? text === data : text.toLowerCase() === data.toLowerCase();
}

function holds(machine: SimulatedWindowsMachine, value: WantedValue): boolean {
  return isEquivalentValue(machine, machine.registry.getValue(`HKLM\\${value.key}`, value.name), value);
}

/** The script's Grant-HnsKeyAccess: ownership as SYSTEM and full control, which opens a `locked` key only. */
function takeOwnership(machine: SimulatedWindowsMachine, context: { changed: boolean; out(line: string): void }) {
  context.changed = true;
  context.out(`took ownership of HKLM\\${HNS_PARAMETERS_KEY} as ${OWNER_SID} and granted it full control`);
  if (machine.hnsKeyAcl === 'locked') machine.hnsKeyAcl = 'open';
  if (machine.hnsKeyAcl !== 'open') {
    throw new ScriptFailure(
      'RegistryAccessDenied',
      `HKLM\\${HNS_PARAMETERS_KEY} still cannot be written after taking ownership of it as ${OWNER_SID}.`,
      true,
    );
  }
}

/** What `install-private-cloud-plugin.ps1` v2 does to a (64-bit, LocalSystem) machine. */
export function installPrivateCloudPlugin(
  machine: SimulatedWindowsMachine,
  parameters: Readonly<Record<string, string>>,
): ScriptRunOutcome {
  return runScript({ name: 'install-private-cloud-plugin', version: 2 }, (context) => {
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
    const pluginDll = `${machine.windowsFolder}\\System32\\PrivateCloudHNSPlugin.dll`;
    if (!machine.fileExists(pluginDll)) {
      throw new ScriptFailure(
        'PluginDllMissing',
        `${pluginDll} is not there: copy the Private Cloud HNS plugin DLL onto the VM, then retry. Nothing was changed.`,
        true,
      );
    }

    const values: WantedValue[] = PLUGIN_VALUES.map((value) => ({ ...value, exact: false }));
    if (agentCount === 4) {
      values.push(
        { key: PLUGIN_KEY, name: 'AgentIPAddress', kind: 'String', data: parameters.AgentIPAddress ?? '', exact: true },
        { key: PLUGIN_KEY, name: 'AgentFormat', kind: 'String', data: parameters.AgentFormat ?? '', exact: true },
        { key: PLUGIN_KEY, name: 'AgentPort', kind: 'DWord', data: port, exact: true },
        { key: PLUGIN_KEY, name: 'AgentPath', kind: 'String', data: parameters.AgentPath ?? '', exact: true },
      );
    }
    const pending = values.filter((value) => !holds(machine, value));
    let hnsKeyAccess = 'notNeeded';
    const underHns = (key: string) => key.toLowerCase().startsWith(`${HNS_PARAMETERS_KEY.toLowerCase()}\\`);
    if (pending.some((value) => underHns(value.key))) {
      hnsKeyAccess = 'direct';
      if (machine.hnsKeyAcl !== 'open') {
        takeOwnership(machine, context);
        hnsKeyAccess = 'ownershipTaken';
      }
    }
    let valuesSet = 0;
    for (const value of pending) if (setRegistryValue(machine, context, value)) valuesSet++;

    const serviceAction = settleService(machine, context, SERVICE);
    for (const value of values) {
      if (!holds(machine, value)) {
        throw new ScriptFailure(
          'VerificationFailed',
          `HKLM\\${value.key}\\${value.name} does not hold the expected ${value.kind} value after writing it.`,
          false,
        );
      }
    }
    const agentPresent = machine.registry
      .valueNames(`HKLM\\${PLUGIN_KEY}`)
      .some((name) => name.toLowerCase() === 'agentipaddress');
    return {
      registryValuesSet: valuesSet,
      serviceAction,
      serviceStatus: 'Running',
      agentSettings: agentCount === 4 ? 'written' : agentPresent ? 'kept' : 'none',
      hnsKeyAccess,
      pluginDll,
    };
  });
}
