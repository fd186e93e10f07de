import type { SimulatedWindowsMachine } from '../SimulatedWindowsMachine';
import {
  blockingRules,
  blockRuleReport,
  FIREWALL_DIRECTIONS,
  HOST_AGENT_SERVICE,
  matchingRules,
  NETWORK_PROXY_VALUES,
  replaceableRules,
} from './enableNetworkProxy';
import { registryReport, runScript, type ScriptRunOutcome, serviceReport } from './scriptRun';

/** What `inspect-hyperv-host.ps1` v2 reports about a machine; it changes nothing. */
export function inspectHyperVHost(machine: SimulatedWindowsMachine): ScriptRunOutcome {
  return runScript({ name: 'inspect-hyperv-host', version: 2 }, () => {
    const registryValues = registryReport(machine, NETWORK_PROXY_VALUES);
    const firewallRules = FIREWALL_DIRECTIONS.map((direction) => {
      const count = matchingRules(machine, direction);
      return { direction, present: count > 0, count, toReplace: replaceableRules(machine, direction) };
    });
    const firewallBlockRules = blockingRules(machine).map(blockRuleReport);
    const service = serviceReport(machine, HOST_AGENT_SERVICE);
    const networkProxyEnabled =
      service.status === 'Running' &&
      registryValues.every((value) => value.state === 'Expected') &&
      firewallRules.every((rule) => rule.present) &&
      firewallBlockRules.length === 0;
    return { networkProxyEnabled, registryValues, firewallRules, firewallBlockRules, service };
  });
}
