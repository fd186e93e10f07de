import type { FirewallRule, SimulatedWindowsMachine } from '../SimulatedWindowsMachine';
import {
  type DesiredValue,
  runScript,
  ScriptFailure,
  type ScriptRunOutcome,
  setRegistryValue,
  settleService,
  verifyRegistryValues,
} from './scriptRun';

const NCHA = 'SYSTEM\\CurrentControlSet\\Services\\NcHostAgent\\Parameters';
const PROXIED = `${NCHA}\\Plugins\\Vnet\\ProxiedServices\\c79d8d8d-bbb4-42ea-8a8f-a492efc40a94`;
const METADATA = `${NCHA}\\Plugins\\Vnet\\InfraServices\\MetadataServer`;

/** ConfigureMCNP.ps1's registry writes (Microsoft/SDN Containers/ConfigureMCNP.ps1). */
export const NETWORK_PROXY_VALUES: readonly DesiredValue[] = [
  { key: PROXIED, name: 'ServerAddress', kind: 'String', data: 'localhost' },
  { key: PROXIED, name: 'ServiceName', kind: 'String', data: 'mds' },
  { key: PROXIED, name: 'ServerPort', kind: 'DWord', data: 6642 },
  { key: PROXIED, name: 'ProxyListeningPort', kind: 'DWord', data: 6642 },
  { key: PROXIED, name: 'ProxyListeningAddress', kind: 'String', data: '0.0.0.0' },
  { key: PROXIED, name: 'ProxyProtocol', kind: 'String', data: 'HttpUriPrefix' },
  { key: METADATA, name: 'Port', kind: 'DWord', data: 6642 },
  { key: METADATA, name: 'ProxyPort', kind: 'DWord', data: 6642 },
  { key: METADATA, name: 'IP', kind: 'String', data: '169.254.169.254' },
  { key: METADATA, name: 'MAC', kind: 'String', data: '22-22-22-22-22-22' },
  {
    key: `${NCHA}\\Plugins\\Vnet\\NdResponder`,
    name: 'MetadataServer',
    kind: 'MultiString',
    data: ['169.254.169.254', '22-22-22-22-22-22'],
  },
  { key: NCHA, name: 'MetadataServerPort', kind: 'DWord', data: 6642 },
];

export const HOST_AGENT_SERVICE = 'nchostagent';
const RULE_NAME = 'Open Port 6642';
const PORT = '6642';
export const FIREWALL_DIRECTIONS = ['Inbound', 'Outbound'] as const;
type Direction = (typeof FIREWALL_DIRECTIONS)[number];

/** A rule's local ports as the scripts read them: each comma-separated entry, trimmed. */
function localPorts(rule: FirewallRule): string[] {
  return rule.localPort.split(',').map((entry) => entry.trim());
}

/** The scripts' Test-ProxyRule: the rule ConfigureMCNP.ps1 adds (enabled, allow, TCP, local port 6642). */
function isProxyRule(rule: FirewallRule): boolean {
  return rule.action === 'Allow' && rule.enabled && rule.protocol === 'TCP' && localPorts(rule).includes(PORT);
}

/** An Allow rule of our name that does not let the proxy through: the script replaces it. */
function isReplaceable(rule: FirewallRule): boolean {
  return rule.action === 'Allow' && !isProxyRule(rule);
}

function ourRules(machine: SimulatedWindowsMachine, direction: Direction): FirewallRule[] {
  return machine.firewallRules.filter((rule) => rule.displayName === RULE_NAME && rule.direction === direction);
}

/** The rules the script's Test-ProxyRule accepts for a direction (netsh may have added duplicates). */
export function matchingRules(machine: SimulatedWindowsMachine, direction: Direction): number {
  return ourRules(machine, direction).filter(isProxyRule).length;
}

/** The Allow rules of our name, in a direction, that the script would remove and make again. */
export function replaceableRules(machine: SimulatedWindowsMachine, direction: Direction): number {
  return ourRules(machine, direction).filter(isReplaceable).length;
}

/** The scripts' Test-CoversPort: TCP or any protocol, and a local port of Any, 6642 or a range around it. */
function coversPort(rule: FirewallRule): boolean {
  if (rule.protocol !== 'TCP' && rule.protocol !== 'Any') return false;
  return localPorts(rule).some((entry) => {
    if (entry === 'Any' || entry === PORT) return true;
    const range = /^(\d+)-(\d+)$/.exec(entry);
    return range !== null && Number(range[1]) <= Number(PORT) && Number(PORT) <= Number(range[2]);
  });
}

/** Every enabled inbound Block rule covering TCP 6642, whatever its name: it wins over the Allow rule. */
export function blockingRules(machine: SimulatedWindowsMachine): FirewallRule[] {
  return machine.firewallRules.filter(
    (rule) => rule.enabled && rule.direction === 'Inbound' && rule.action === 'Block' && coversPort(rule),
  );
}

/** A Block rule as the inspection reports it. */
export function blockRuleReport(rule: FirewallRule): { displayName: string; protocol: string; localPort: string } {
  return { displayName: rule.displayName, protocol: rule.protocol, localPort: localPorts(rule).join(',') };
}

/** What `enable-network-proxy.ps1` v2 does to a machine. */
export function enableNetworkProxy(machine: SimulatedWindowsMachine): ScriptRunOutcome {
  return runScript({ name: 'enable-network-proxy', version: 2 }, (context) => {
    if (machine.service(HOST_AGENT_SERVICE) === undefined) {
      throw new ScriptFailure(
        'HostAgentNotFound',
        'The nchostagent service (Network Controller Host Agent) is not installed: this machine is not an SDN Hyper-V host.',
        true,
      );
    }
    const blocking = blockingRules(machine);
    if (blocking.length > 0) {
      const names = blocking.map((rule) => `'${rule.displayName}'`).join(', ');
      throw new ScriptFailure(
        'PortBlockedByFirewall',
        `Inbound TCP ${PORT} is blocked by the enabled firewall Block rule ${names}, which wins over any Allow rule; remove or narrow it on this host, then retry.`,
        true,
      );
    }
    let valuesSet = 0;
    for (const value of NETWORK_PROXY_VALUES) if (setRegistryValue(machine, context, value)) valuesSet++;

    let rulesAdded = 0;
    let rulesRemoved = 0;
    for (const direction of FIREWALL_DIRECTIONS) {
      for (const rule of ourRules(machine, direction).filter(isReplaceable)) {
        machine.removeFirewallRule(rule);
        context.changed = true;
        rulesRemoved++;
        const state = rule.enabled ? 'enabled' : 'disabled';
        context.out(
          `removed firewall rule '${RULE_NAME}' (${direction}, ${state}, ${rule.protocol} ${localPorts(rule).join(',')})`,
        );
      }
      if (matchingRules(machine, direction) > 0) continue;
      machine.addFirewallRule({
        displayName: RULE_NAME,
        direction,
        action: 'Allow',
        protocol: 'TCP',
        localPort: PORT,
        enabled: true,
        profile: 'Any',
      });
      context.changed = true;
      rulesAdded++;
      context.out(`added firewall rule '${RULE_NAME}' (${direction})`);
    }

    const serviceAction = settleService(machine, context, HOST_AGENT_SERVICE);
    verifyRegistryValues(machine, NETWORK_PROXY_VALUES);
    return {
      registryValuesSet: valuesSet,
      firewallRulesAdded: rulesAdded,
      firewallRulesRemoved: rulesRemoved,
      serviceAction,
      serviceStatus: 'Running',
    };
  });
}
