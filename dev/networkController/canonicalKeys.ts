import { isObject } from './types';

/**
 * NC matches request property names case-insensitively (Microsoft's own PowerShell wrapper sends `resourceID`,
 * the spec's PUT example sends `DnsServers`), so request bodies are rewritten to the canonical camelCase before
 * validation. Unknown names are kept as written; tag names are user data and never touched.
 */
const CANONICAL_NAMES = [
  'resourceRef',
  'resourceId',
  'etag',
  'instanceId',
  'tags',
  'resourceMetadata',
  'client',
  'tenantId',
  'groupId',
  'resourceName',
  'originalHref',
  'properties',
  'provisioningState',
  'configurationState',
  'ipConfigurations',
  'dnsSettings',
  'dnsServers',
  'privateMacAddress',
  'privateMacAllocationMethod',
  'isPrimary',
  'isHostVirtualNetworkInterface',
  'isMultitenantStack',
  'internalDnsNameLabel',
  'server',
  'portSettings',
  'macSpoofingEnabled',
  'arpGuardEnabled',
  'dhcpGuardEnabled',
  'stormLimit',
  'portFlowLimit',
  'iovWeight',
  'iovInterruptModeration',
  'iovQueuePairsRequested',
  'vmqWeight',
  'qosSettings',
  'serviceInsertionElements',
  'securityTags',
  'privateIPAddress',
  'privateIPAllocationMethod',
  'subnet',
  'accessControlList',
  'loadBalancerBackendAddressPools',
  'loadBalancerInboundNatRules',
  'publicIPAddress',
  'serviceInsertion',
];

const canonicalByLower = new Map(CANONICAL_NAMES.map((name) => [name.toLowerCase(), name]));

export function canonicalizeKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonicalizeKeys);
  if (!isObject(value)) return value;
  const result: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    const name = canonicalByLower.get(key.toLowerCase()) ?? key;
    result[name] = name === 'tags' ? child : canonicalizeKeys(child);
  }
  return result;
}
