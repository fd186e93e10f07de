import { describe, expect, it } from 'vitest';

import { parseParamBlock } from '../../../dev/arm/scriptEffects/powershellParameters';
import { RESULT_SENTINEL } from '../../../shared/arc/resultLine';
import { type ParameterPatternName, parameterPatterns } from '../../../shared/arc/scriptParameters';
import {
  type EnsureContainerNetworkInput,
  ensureContainerNetworkScript,
  findHostScript,
  hostScripts,
  installPrivateCloudPluginScript,
  loadScriptText,
} from '../../../shared/arc/scripts';
import type { ValidationError } from '../../../shared/errors';
import { enableNetworkProxyTable, type FactRow, installPrivateCloudPluginTable } from './factSheet';

const validNetwork: EnsureContainerNetworkInput = {
  networkName: 'MyContainerOverlayNetwork',
  driver: 'l2bridge',
  subnet: '192.168.1.0/24',
  gateway: '192.168.1.1',
};

/** Which TS pattern each script parameter must carry. */
const patternOf: Record<string, ParameterPatternName> = {
  NetworkName: 'networkName',
  Driver: 'driver',
  Subnet: 'subnetCidr',
  Gateway: 'ipv4Address',
  AgentIPAddress: 'ipv4Address',
  AgentPort: 'port',
  AgentPath: 'urlPath',
  AgentFormat: 'agentFormat',
};

function rowText(row: FactRow): string {
  const kind = { REG_SZ: 'String', REG_DWORD: 'DWord', REG_MULTI_SZ: 'MultiString' }[row.type];
  const data = Array.isArray(row.data)
    ? `@(${row.data.map((item) => `'${item}'`).join(', ')})`
    : typeof row.data === 'number'
      ? String(row.data)
      : `'${row.data}'`;
  return `@{ Key = '${row.key.replace(/^HKLM\\/, '')}'; Name = '${row.name}'; Kind = '${kind}'; Data = ${data} }`;
}

describe('script catalogue', () => {
  it.each(Object.values(hostScripts))('$name: marker, version and shared frame', (script) => {
    const lines = script.text.split(/\r?\n/);
    expect(lines[0]).toBe(`# sdn-attach-script: ${script.name} v${script.version}`);
    expect(script.marker).toBe(lines[0]);
    expect(script.text).toContain(`$ScriptName = '${script.name}'`);
    expect(script.text).toContain(`$ScriptVersion = ${script.version}`);
    expect(script.text).toContain(`$Sentinel = '${RESULT_SENTINEL}'`);
    expect(script.text).toContain("$ErrorActionPreference = 'Stop'");
    expect(script.text).toMatch(/exit 0\s*\n\}\s*\ncatch \{/);
    expect(script.text).toContain('exit 1');
    // Never the user-name based ownership change, never New-Item -Force on a key (comments may name them).
    const code = script.text
      .split('\n')
      .filter((line) => !line.trim().startsWith('#'))
      .join('\n');
    expect(code).not.toMatch(/\$env:user(name|domain)/i);
    expect(code).not.toMatch(/New-Item/i);
    expect(findHostScript(script.name)).toBe(script);
  });

  it.each(Object.values(hostScripts))('$name: every parameter carries the TS pattern, case-sensitive', (script) => {
    const declared = parseParamBlock(script.text);
    for (const parameter of declared) {
      const name = patternOf[parameter.name];
      expect(name, parameter.name).toBeDefined();
      expect(parameter.patternSource).toBe(parameterPatterns[name!]);
      expect(parameter.pattern?.flags).toBe('');
    }
    expect(declared.map((parameter) => parameter.name)).toEqual(
      script.buildParameters(sampleInput(script.name)).map((parameter) => parameter.name),
    );
  });

  it('enable-network-proxy writes exactly the ConfigureMCNP.ps1 table with explicit types', () => {
    const text = hostScripts['enable-network-proxy'].text;
    for (const row of enableNetworkProxyTable) expect(text).toContain(rowText(row));
    expect(text.match(/@\{ Key = '/g)).toHaveLength(enableNetworkProxyTable.length);
    expect(text).toContain("$FirewallRuleName = 'Open Port 6642'");
    expect(text).toContain("$FirewallDirections = @('Inbound', 'Outbound')");
    expect(text).toMatch(/if \(\$script:Changed\) \{\s*Restart-Service -Name \$ServiceName -Force/);
    expect(text).toContain("$ServiceName = 'nchostagent'");
  });

  it('install-private-cloud-plugin writes exactly the InstallPrivateCloudPlugin.ps1 registration', () => {
    const text = installPrivateCloudPluginScript.text;
    for (const row of installPrivateCloudPluginTable) expect(text).toContain(rowText(row));
    expect(text.match(/@\{ Key = '/g)).toHaveLength(installPrivateCloudPluginTable.length);
    for (const [name, kind] of [
      ['AgentIPAddress', 'String'],
      ['AgentFormat', 'String'],
      ['AgentPort', 'DWord'],
      ['AgentPath', 'String'],
    ]) {
      expect(text).toContain(`@{ Key = $PluginKey; Name = '${name}'; Kind = '${kind}';`);
    }
    expect(text).toContain('CreateSubKey');
    expect(text).toContain("$ServiceName = 'hns'");
    expect(text).toMatch(/if \(\$script:Changed\) \{\s*Restart-Service -Name \$ServiceName -Force/);
  });

  it('ensure-container-network compares and never deletes', () => {
    const text = ensureContainerNetworkScript.text;
    expect(text).toContain(
      "'network', 'create', '--driver', $Driver, '--subnet', $Subnet, '--gateway', $Gateway, $NetworkName",
    );
    expect(text).toContain("'NetworkConflict'");
    expect(text).not.toMatch(/network', '(rm|remove|prune)'/);
    expect(text).toContain('-ceq $NetworkName');
  });

  it('no request-derived value ever lands in the script text', () => {
    const input = {
      networkName: 'Tenant-7f3a.net',
      driver: 'l2tunnel',
      subnet: '10.99.37.0/24',
      gateway: '10.99.37.1',
    } as const;
    const parameters = ensureContainerNetworkScript.buildParameters(input);
    for (const { value } of parameters.filter(({ name }) => name !== 'Driver')) {
      for (const script of Object.values(hostScripts)) expect(script.text).not.toContain(value);
    }
    const agent = { ipAddress: '10.250.1.77', port: 18443, path: '/unique/agent/path', format: 'xml' } as const;
    const agentParameters = installPrivateCloudPluginScript.buildParameters({ agent });
    for (const { value } of agentParameters.filter(({ name }) => name !== 'AgentFormat')) {
      expect(installPrivateCloudPluginScript.text).not.toContain(value);
    }
  });

  it('finds the .ps1 files next to the module', () => {
    expect(loadScriptText('enable-network-proxy.ps1')).toBe(hostScripts['enable-network-proxy'].text);
    expect(() => loadScriptText('missing.ps1')).toThrow(/missing\.ps1 not found/);
    expect(findHostScript('toString')).toBeUndefined();
  });
});

function sampleInput(name: string): never {
  const inputs: Record<string, unknown> = {
    'enable-network-proxy': {},
    'install-private-cloud-plugin': { agent: { ipAddress: '10.0.0.1', port: 6642, path: '/x', format: 'json' } },
    'ensure-container-network': validNetwork,
  };
  return inputs[name] as never;
}

/** Input that may be invalid, as a request would bring it. */
function buildNetwork(input: Record<string, unknown>) {
  return ensureContainerNetworkScript.buildParameters(input as EnsureContainerNetworkInput);
}

describe('ensure-container-network parameters', () => {
  const psPatterns = Object.fromEntries(
    parseParamBlock(ensureContainerNetworkScript.text).map((parameter) => [parameter.name, parameter.pattern!]),
  );

  it('builds the four named parameters', () => {
    expect(ensureContainerNetworkScript.buildParameters(validNetwork)).toEqual([
      { name: 'NetworkName', value: 'MyContainerOverlayNetwork' },
      { name: 'Driver', value: 'l2bridge' },
      { name: 'Subnet', value: '192.168.1.0/24' },
      { name: 'Gateway', value: '192.168.1.1' },
    ]);
    expect(
      ensureContainerNetworkScript.buildParameters({
        ...validNetwork,
        driver: 'l2tunnel',
        subnet: '10.0.0.0/8',
        gateway: '10.255.255.254',
      }),
    ).toHaveLength(4);
  });

  const metacharacterNames = [
    'net;calc',
    'net|calc',
    'net&calc',
    '$(calc)',
    'net$x',
    'net`calc',
    "net'x",
    'net"x',
    'net x',
    'net\nx',
    'net\n',
    'net\r',
    'net(x)',
    'net{x}',
    'net<x>',
    'net,x',
    'net#x',
    'net@x',
    '-net',
    '.net',
    'nét',
    'net/x',
    'net\\x',
    'a'.repeat(65),
    '',
  ];

  it.each(metacharacterNames)('rejects network name %j, in TS and in the script', (networkName) => {
    expect(() => buildNetwork({ ...validNetwork, networkName })).toThrow(
      expect.objectContaining({ name: 'ValidationError', code: 'InvalidScriptParameters' }),
    );
    expect(psPatterns.NetworkName!.test(networkName)).toBe(false);
  });

  it.each([
    ['driver', 'L2BRIDGE', 'Driver'],
    ['driver', 'transparent', 'Driver'],
    ['driver', 'nat', 'Driver'],
    ['driver', 'l2bridge;calc', 'Driver'],
    ['driver', 'l2bridge\n', 'Driver'],
    ['subnet', '192.168.1.0/24\n', 'Subnet'],
    ['subnet', '192.168.1.0/24;calc', 'Subnet'],
    ['subnet', '192.168.1.0', 'Subnet'],
    ['subnet', '300.168.1.0/24', 'Subnet'],
    ['subnet', 'fe80::/64', 'Subnet'],
    ['subnet', '192.168.1.0/33', 'Subnet'],
    ['subnet', '$(calc)', 'Subnet'],
    ['gateway', '192.168.1.1 ', 'Gateway'],
    ['gateway', '192.168.1.1\n', 'Gateway'],
    ['gateway', '192.168.1.01x', 'Gateway'],
    ['gateway', '192.168.1.256', 'Gateway'],
    ['gateway', '"192.168.1.1"', 'Gateway'],
  ])('rejects %s %j, in TS and in the script', (field, value, parameter) => {
    expect(() => buildNetwork({ ...validNetwork, [field]: value })).toThrow(
      expect.objectContaining({ issues: [expect.objectContaining({ field })] }),
    );
    expect(psPatterns[parameter]!.test(value)).toBe(false);
  });

  it.each([
    [{ networkName: 'nat' }, 'networkName', /predefined/],
    [{ networkName: 'none' }, 'networkName', /predefined/],
    [{ subnet: '192.168.1.1/24' }, 'subnet', /network address/],
    [{ subnet: '192.168.1.0/31' }, 'subnet', /prefix length/],
    [{ subnet: '10.0.0.0/7' }, 'subnet', /prefix length/],
    [{ gateway: '192.168.2.1' }, 'gateway', /inside 192\.168\.1\.0\/24/],
    [{ gateway: '192.168.1.0' }, 'gateway', /host address/],
    [{ gateway: '192.168.1.255' }, 'gateway', /host address/],
  ])('rejects %j beyond the pattern', (change, field, reason) => {
    expect(() => buildNetwork({ ...validNetwork, ...change })).toThrow(
      expect.objectContaining({
        issues: [expect.objectContaining({ field, reason: expect.stringMatching(reason) as unknown })],
      }),
    );
  });

  it('lists every bad field at once and refuses unknown fields', () => {
    const attempt = () =>
      ensureContainerNetworkScript.buildParameters({
        networkName: 'a b',
        driver: 'x',
        subnet: 'y',
        gateway: 'z',
        extra: 1,
      } as never);
    let issues: { field: string }[] = [];
    try {
      attempt();
    } catch (error) {
      issues = [...(error as ValidationError).issues];
    }
    expect(issues.map((issue) => issue.field).sort()).toEqual([
      '(input)',
      'driver',
      'gateway',
      'networkName',
      'subnet',
    ]);
  });
});

describe('install-private-cloud-plugin parameters', () => {
  const agent = { ipAddress: '10.127.132.10', port: 6642, path: '/networking/v1', format: 'json' } as const;

  it('sends nothing without an agent override, all four with one', () => {
    expect(installPrivateCloudPluginScript.buildParameters({})).toEqual([]);
    expect(installPrivateCloudPluginScript.buildParameters({ agent })).toEqual([
      { name: 'AgentIPAddress', value: '10.127.132.10' },
      { name: 'AgentPort', value: '6642' },
      { name: 'AgentPath', value: '/networking/v1' },
      { name: 'AgentFormat', value: 'json' },
    ]);
  });

  it.each([
    { ipAddress: '10.0.0.1;calc' },
    { port: 0 },
    { port: 65536 },
    { port: '6642' },
    { path: 'networking' },
    { path: '/a b' },
    { path: '/$(calc)' },
    { format: 'XML' },
    { format: 'yaml' },
  ])('rejects agent %j', (change) => {
    expect(() => installPrivateCloudPluginScript.buildParameters({ agent: { ...agent, ...change } as never })).toThrow(
      expect.objectContaining({ name: 'ValidationError' }),
    );
  });

  it('rejects a partial agent override', () => {
    expect(() =>
      installPrivateCloudPluginScript.buildParameters({ agent: { ipAddress: '10.0.0.1' } } as never),
    ).toThrow(expect.objectContaining({ name: 'ValidationError' }));
  });

  it('enable-network-proxy takes nothing', () => {
    expect(hostScripts['enable-network-proxy'].buildParameters({})).toEqual([]);
    expect(() => hostScripts['enable-network-proxy'].buildParameters({ x: 1 } as never)).toThrow(
      expect.objectContaining({ name: 'ValidationError' }),
    );
  });
});
