/**
 * The registry tables of the hosts fact sheet (§1.1 ConfigureMCNP.ps1, §1.2 InstallPrivateCloudPlugin.ps1), kept
 * here independently of the scripts and the emulator so both are checked against the same ground truth.
 */
export interface FactRow {
  key: string;
  name: string;
  type: 'REG_SZ' | 'REG_DWORD' | 'REG_MULTI_SZ';
  data: string | number | string[];
}

const NCHA = 'HKLM\\SYSTEM\\CurrentControlSet\\Services\\NcHostAgent\\Parameters';
const PROXIED = `${NCHA}\\Plugins\\Vnet\\ProxiedServices\\c79d8d8d-bbb4-42ea-8a8f-a492efc40a94`;
const METADATA = `${NCHA}\\Plugins\\Vnet\\InfraServices\\MetadataServer`;

export const enableNetworkProxyTable: readonly FactRow[] = [
  { key: PROXIED, name: 'ServerAddress', type: 'REG_SZ', data: 'localhost' },
  { key: PROXIED, name: 'ServiceName', type: 'REG_SZ', data: 'mds' },
  { key: PROXIED, name: 'ServerPort', type: 'REG_DWORD', data: 6642 },
  { key: PROXIED, name: 'ProxyListeningPort', type: 'REG_DWORD', data: 6642 },
  { key: PROXIED, name: 'ProxyListeningAddress', type: 'REG_SZ', data: '0.0.0.0' },
  { key: PROXIED, name: 'ProxyProtocol', type: 'REG_SZ', data: 'HttpUriPrefix' },
  { key: METADATA, name: 'Port', type: 'REG_DWORD', data: 6642 },
  { key: METADATA, name: 'ProxyPort', type: 'REG_DWORD', data: 6642 },
  { key: METADATA, name: 'IP', type: 'REG_SZ', data: '169.254.169.254' },
  { key: METADATA, name: 'MAC', type: 'REG_SZ', data: '22-22-22-22-22-22' },
  {
    key: `${NCHA}\\Plugins\\Vnet\\NdResponder`,
    name: 'MetadataServer',
    type: 'REG_MULTI_SZ',
    data: ['169.254.169.254', '22-22-22-22-22-22'],
  },
  { key: NCHA, name: 'MetadataServerPort', type: 'REG_DWORD', data: 6642 },
];

export const PLUGIN_KEY =
  'HKLM\\SYSTEM\\CurrentControlSet\\Services\\hns\\Parameters\\Plugins\\D5AAF7C4-1B3E-4b49-9CF9-9263FAB9DC6D';
const CLSID = 'HKLM\\Software\\Classes\\CLSID\\{D5AAF7C4-1B3E-4b49-9CF9-9263FAB9DC6D}';

/** Name '' is the key's default value. */
export const installPrivateCloudPluginTable: readonly FactRow[] = [
  { key: PLUGIN_KEY, name: 'Priority', type: 'REG_DWORD', data: 1000 },
  { key: PLUGIN_KEY, name: 'NetworkRequests', type: 'REG_DWORD', data: 31 },
  { key: PLUGIN_KEY, name: 'EndpointRequests', type: 'REG_DWORD', data: 31 },
  { key: PLUGIN_KEY, name: 'ServiceRequests', type: 'REG_DWORD', data: 7 },
  { key: CLSID, name: '', type: 'REG_SZ', data: 'Private Cloud HNS Plugin' },
  {
    key: `${CLSID}\\InprocServer32`,
    name: '',
    type: 'REG_SZ',
    data: 'c:\\windows\\system32\\PrivateCloudHNSPlugin.dll',
  },
  { key: `${CLSID}\\InprocServer32`, name: 'ThreadingModel', type: 'REG_SZ', data: 'Both' },
];

/** The same table as the emulator's inspection JSON shows it: `{ key: { name: { type, data } } }`. */
export function asRegistryJson(
  rows: readonly FactRow[],
): Record<string, Record<string, { type: string; data: unknown }>> {
  const result: Record<string, Record<string, { type: string; data: unknown }>> = {};
  for (const row of rows) {
    result[row.key] ??= {};
    result[row.key]![row.name === '' ? '(default)' : row.name] = { type: row.type, data: row.data };
  }
  return result;
}
