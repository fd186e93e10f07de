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

const NCHA = 'SYSTEM\\CurrentControlSet\\Services\\NcHostAgent\\Parameters';
const PROXIED = `${NCHA}\\Plugins\\Vnet\\ProxiedServices\\c79d8d8d-bbb4-42ea-8a8f-a492efc40a94`;
const METADATA = `${NCHA}\\Plugins\\Vnet\\InfraServices\\MetadataServer`;

/** ConfigureMCNP.ps1's registry writes (Microsoft/SDN Containers/ConfigureMCNP.ps1). */
const DESIRED_VALUES: readonly DesiredValue[] = [
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

const SERVICE = 'nchostagent';
const RULE_NAME = 'Open Port 6642';
const DIRECTIONS = ['Inbound', 'Outbound'] as const;

function hasRule(machine: SimulatedWindowsMachine, direction: (typeof DIRECTIONS)[number]): boolean {
  return machine.firewallRules.some(
    (rule) =>
      rule.displayName === RULE_NAME &&
      rule.direction === direction &&
      rule.action === 'Allow' &&
      rule.enabled &&
      rule.protocol === 'TCP' &&
      rule.localPort.split(',').includes('6642'),
  );
}

/** What `enable-network-proxy.ps1` v1 does to a machine. */
export function enableNetworkProxy(machine: SimulatedWindowsMachine): ScriptRunOutcome {
  return runScript({ name: 'enable-network-proxy', version: 1 }, (context) => {
    if (machine.service(SERVICE) === undefined) {
      throw new ScriptFailure(
        'HostAgentNotFound',
        'The nchostagent service (Network Controller Host Agent) is not installed: this machine is not an SDN Hyper-V host.',
        true,
      );
    }
    let valuesSet = 0;
    for (const value of DESIRED_VALUES) if (setRegistryValue(machine, context, value)) valuesSet++;

    let rulesAdded = 0;
    for (const direction of DIRECTIONS) {
      if (hasRule(machine, direction)) continue;
      machine.addFirewallRule({
        displayName: RULE_NAME,
        direction,
        action: 'Allow',
        protocol: 'TCP',
        localPort: '6642',
        enabled: true,
        profile: 'Any',
      });
      context.changed = true;
      rulesAdded++;
      context.out(`added firewall rule '${RULE_NAME}' (${direction})`);
    }

    const serviceAction = settleService(machine, context, SERVICE);
    verifyRegistryValues(machine, DESIRED_VALUES);
    return { registryValuesSet: valuesSet, firewallRulesAdded: rulesAdded, serviceAction, serviceStatus: 'Running' };
  });
}
