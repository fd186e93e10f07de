import type { SimulatedWindowsMachine } from '../SimulatedWindowsMachine';
import { enableNetworkProxy } from './enableNetworkProxy';
import { ensureContainerNetwork } from './ensureContainerNetwork';
import { inspectContainerHost } from './inspectContainerHost';
import { inspectHyperVHost } from './inspectHyperVHost';
import { installPrivateCloudPlugin } from './installPrivateCloudPlugin';
import { invokeInVm } from './invokeInVm';
import { bindParameters, parseParamBlock } from './powershellParameters';
import { removeContainerNetwork } from './removeContainerNetwork';
import { removePrivateCloudPlugin } from './removePrivateCloudPlugin';
import type { ScriptRunOutcome } from './scriptRun';

export type { ScriptRunOutcome } from './scriptRun';

type ScriptEffect = (
  machine: SimulatedWindowsMachine,
  parameters: Readonly<Record<string, string>>,
) => ScriptRunOutcome;

/** The product scripts this emulator knows, by `name@version` of their first-line marker. */
const EFFECTS: Readonly<Record<string, ScriptEffect>> = {
  'enable-network-proxy@2': (machine) => enableNetworkProxy(machine),
  'install-private-cloud-plugin@2': installPrivateCloudPlugin,
  'ensure-container-network@2': ensureContainerNetwork,
  'remove-container-network@2': removeContainerNetwork,
  'inspect-hyperv-host@2': (machine) => inspectHyperVHost(machine),
  'inspect-container-host@2': inspectContainerHost,
  'remove-private-cloud-plugin@2': (machine) => removePrivateCloudPlugin(machine),
  'invoke-in-vm@1': (machine, parameters) => invokeInVm(machine, parameters, runScriptOnMachine),
};

/** Parameters a run's record keeps only as a mark: the guest password of `invoke-in-vm`. */
const PROTECTED_PARAMETERS = new Set(['guestpassword']);

const MARKER = /^# sdn-attach-script: ([a-z0-9-]+) v(\d+)\s*$/;

/** The `{ script, version }` of a product script's first line, if it has one. */
export function readScriptMarker(scriptText: string): { script: string; version: number } | undefined {
  const firstLine = scriptText.replace(/^\uFEFF/, '').split(/\r?\n/, 1)[0] ?? '';
  const match = MARKER.exec(firstLine);
  return match ? { script: match[1] ?? '', version: Number(match[2]) } : undefined;
}

/**
 * "Runs" a script on a simulated machine: never PowerShell, but the known effect of a recognised product script,
 * after binding its parameters against the script's own `param(...)` block as PowerShell would.
 */
export function runScriptOnMachine(
  machine: SimulatedWindowsMachine,
  scriptText: string,
  parameters: readonly { name: string; value: string }[],
): ScriptRunOutcome {
  const marker = readScriptMarker(scriptText);
  const effect = marker === undefined ? undefined : EFFECTS[`${marker.script}@${marker.version}`];
  if (marker === undefined || effect === undefined) {
    return {
      exitCode: 1,
      output: '',
      error:
        'The ARM emulator does not run PowerShell: it only recognises the product scripts by their first line ' +
        `("# sdn-attach-script: <name> v<version>"), and this script is not one of ${Object.keys(EFFECTS).join(', ')}.\r\n`,
    };
  }
  const bound = bindParameters(parseParamBlock(scriptText), parameters);
  if (!bound.ok) return { exitCode: 1, output: '', error: `${bound.message}\r\n` };
  const recorded = Object.fromEntries(
    Object.entries(bound.values).map(([name, value]) => [
      name,
      PROTECTED_PARAMETERS.has(name.toLowerCase()) ? '(protected)' : value,
    ]),
  );
  machine.scriptRuns.push({ ...marker, parameters: recorded, at: new Date().toISOString() });
  return effect(machine, bound.values);
}
