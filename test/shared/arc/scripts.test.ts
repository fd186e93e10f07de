import { describe, expect, it } from 'vitest';

import { parseParamBlock } from '../../../dev/arm/scriptEffects/powershellParameters';
import { RESULT_SENTINEL } from '../../../shared/arc/resultLine';
import {
  containerNetworkDrivers,
  type ParameterPatternName,
  parameterPatterns,
  predefinedNetworkNames,
} from '../../../shared/arc/scriptParameters';
import {
  type EnsureContainerNetworkInput,
  ensureContainerNetworkScript,
  findHostScript,
  hostScripts,
  inspectContainerHostScript,
  inspectHyperVHostScript,
  installPrivateCloudPluginScript,
  loadScriptText,
  type RemoveContainerNetworkInput,
  removeContainerNetworkScript,
  removePrivateCloudPluginScript,
} from '../../../shared/arc/scripts';
import type { ValidationError } from '../../../shared/errors';
import { enableNetworkProxyTable, type FactRow, installPrivateCloudPluginTable, PLUGIN_KEY } from './factSheet';

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
    expect(text).toMatch(/if \(\$script:Changed\) \{\s*Restart-NamedService -Name \$ServiceName/);
    expect(text).toContain('Restart-Service -Name $Name -Force');
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
    expect(text).toMatch(/if \(\$script:Changed\) \{\s*Restart-HnsService\s/);
    expect(text).toContain('function Restart-HnsService {\n    Restart-Service -Name $ServiceName -Force\n}');
    // The DLL is checked before the first write; ownership is taken by SID only.
    expect(text.indexOf("'PluginDllMissing'")).toBeLessThan(text.indexOf('Set-PluginRegistryValue -Key $value.Key'));
    expect(text).toContain("return 'S-1-5-18'");
    expect(text).toContain("return 'S-1-5-32-544'");
  });

  it('ensure-container-network compares and never deletes', () => {
    const text = ensureContainerNetworkScript.text;
    expect(text).toContain(
      "'network', 'create', '--driver', $Driver, '--subnet', $Subnet, '--gateway', $Gateway, $NetworkName",
    );
    expect(text).toContain("'NetworkConflict'");
    expect(text).not.toMatch(/network', '(rm|remove|prune)'/);
    expect(text).toContain('Get-NetworkIds -Name $NetworkName');
    expect(text).toContain('$parts[1] -ceq $Name');
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
    for (const { value } of removeContainerNetworkScript
      .buildParameters(input)
      .filter(({ name }) => name !== 'Driver')) {
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
    'remove-container-network': validNetwork,
    'inspect-hyperv-host': {},
    'inspect-container-host': { networkName: 'MyContainerOverlayNetwork' },
    'remove-private-cloud-plugin': {},
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

  it.each(['nat', 'none', 'default', 'Default', 'NAT'])(
    'refuses the reserved name %j in TS and in the script, whatever its case',
    (networkName) => {
      expect(() => buildNetwork({ ...validNetwork, networkName })).toThrow(
        expect.objectContaining({
          issues: [
            expect.objectContaining({ field: 'networkName', reason: expect.stringMatching(/predefined/) as unknown }),
          ],
        }),
      );
      expect(ensureContainerNetworkScript.text).toContain("$ReservedNetworkNames = @('nat', 'none', 'default')");
      expect(ensureContainerNetworkScript.text).toContain('$ReservedNetworkNames -contains $NetworkName');
    },
  );

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
      { name: 'AgentPath', value: 'networking/v1' },
      { name: 'AgentFormat', value: 'json' },
    ]);
  });

  it.each(['/networking/v1', 'networking/v1'])(
    'sends the agent path %s as InstallPrivateCloudPlugin.ps1 stores it, without a leading slash',
    (path) => {
      const parameters = installPrivateCloudPluginScript.buildParameters({ agent: { ...agent, path } });
      expect(parameters.find((parameter) => parameter.name === 'AgentPath')?.value).toBe('networking/v1');
    },
  );

  it('sends an agent path the script pattern takes: 255 characters after the slash, not 256', () => {
    const path = parseParamBlock(installPrivateCloudPluginScript.text).find((p) => p.name === 'AgentPath')!.pattern!;
    const [sent] = installPrivateCloudPluginScript
      .buildParameters({ agent: { ...agent, path: `/${'a'.repeat(255)}` } })
      .filter((parameter) => parameter.name === 'AgentPath');
    expect(path.test(sent!.value)).toBe(true);
    expect(() =>
      installPrivateCloudPluginScript.buildParameters({ agent: { ...agent, path: 'a'.repeat(256) } }),
    ).toThrow(expect.objectContaining({ name: 'ValidationError' }));
  });

  it.each([
    { ipAddress: '10.0.0.1;calc' },
    { port: 0 },
    { port: 65536 },
    { port: '6642' },
    { path: '/' },
    { path: '' },
    { path: '//networking' },
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

/** Input that may be invalid, as a detach would bring it. */
function buildRemoval(input: Record<string, unknown>) {
  return removeContainerNetworkScript.buildParameters(input as RemoveContainerNetworkInput);
}

describe('remove-container-network', () => {
  const text = removeContainerNetworkScript.text;
  const code = text
    .split('\n')
    .filter((line) => !line.trim().startsWith('#'))
    .join('\n');
  const psPatterns = Object.fromEntries(parseParamBlock(text).map((parameter) => [parameter.name, parameter]));

  it('takes the name, and the driver, subnet and gateway only when given', () => {
    expect(buildRemoval({ networkName: 'MyContainerOverlayNetwork' })).toEqual([
      { name: 'NetworkName', value: 'MyContainerOverlayNetwork' },
    ]);
    expect(buildRemoval({ ...validNetwork })).toEqual([
      { name: 'NetworkName', value: 'MyContainerOverlayNetwork' },
      { name: 'Driver', value: 'l2bridge' },
      { name: 'Subnet', value: '192.168.1.0/24' },
      { name: 'Gateway', value: '192.168.1.1' },
    ]);
    expect(buildRemoval({ networkName: 'n1', driver: 'l2tunnel' })).toEqual([
      { name: 'NetworkName', value: 'n1' },
      { name: 'Driver', value: 'l2tunnel' },
    ]);
    expect(
      Object.values(psPatterns).map((parameter) => [parameter.name, parameter.mandatory, parameter.pattern?.flags]),
    ).toEqual([
      ['NetworkName', true, ''],
      ['Driver', false, ''],
      ['Subnet', false, ''],
      ['Gateway', false, ''],
    ]);
  });

  it.each([
    ['networkName', 'net;calc', 'NetworkName'],
    ['networkName', '$(Remove-Item C:\\)', 'NetworkName'],
    ['networkName', 'net\n', 'NetworkName'],
    ['networkName', "net' -Force", 'NetworkName'],
    ['networkName', '-net', 'NetworkName'],
    ['networkName', 'a'.repeat(65), 'NetworkName'],
    ['driver', 'nat', 'Driver'],
    ['driver', 'transparent', 'Driver'],
    ['driver', 'L2BRIDGE', 'Driver'],
    ['subnet', '192.168.1.0/24;calc', 'Subnet'],
    ['gateway', '192.168.1.1\n', 'Gateway'],
  ])('refuses %s %j, in TS and in the script', (field, value, parameter) => {
    expect(() => buildRemoval({ networkName: 'n1', [field]: value })).toThrow(
      expect.objectContaining({
        name: 'ValidationError',
        code: 'InvalidScriptParameters',
        issues: [expect.objectContaining({ field })],
      }),
    );
    expect(psPatterns[parameter]!.pattern!.test(value)).toBe(false);
  });

  it.each(predefinedNetworkNames)('refuses the predefined network %j in TS and in the script', (networkName) => {
    expect(() => buildRemoval({ networkName })).toThrow(
      expect.objectContaining({
        issues: [
          expect.objectContaining({ field: 'networkName', reason: expect.stringMatching(/predefined/) as unknown }),
        ],
      }),
    );
    expect(text).toContain(`$PredefinedNetworks = @(${predefinedNetworkNames.map((name) => `'${name}'`).join(', ')})`);
    expect(code).toContain('$PredefinedNetworks -ccontains $NetworkName');
  });

  it('refuses a gateway outside the subnet, unknown fields, and a missing name, naming each field', () => {
    expect(() => buildRemoval({ networkName: 'n1', subnet: '10.0.0.0/24', gateway: '10.0.1.1' })).toThrow(
      expect.objectContaining({ issues: [expect.objectContaining({ field: 'gateway' })] }),
    );
    let fields: string[] = [];
    try {
      buildRemoval({ force: true, driver: 'x' });
    } catch (error) {
      fields = (error as ValidationError).issues.map((issue) => issue.field).sort();
    }
    expect(fields).toEqual(['(input)', 'driver', 'networkName']);
  });

  it('removes by id after an exact-name match, only l2bridge or l2tunnel, and never creates', () => {
    expect(code).toContain("Invoke-Docker @('network', 'rm', $network.Id)");
    expect(code).toContain('-ceq $Name');
    expect(code).toContain(`$ManagedDrivers = @(${containerNetworkDrivers.map((driver) => `'${driver}'`).join(', ')})`);
    expect(code).toContain('$ManagedDrivers -cnotcontains $network.Driver');
    for (const code_ of ['ContainersStillConnected', 'NetworkNotManaged', 'NetworkMismatch', 'PredefinedNetwork']) {
      expect(code).toContain(`'${code_}'`);
    }
    expect(code).not.toMatch(/'network', 'create'|'prune'|'--force'|'-f'/);
    // Containers are checked before the removal, and the removal is verified by id.
    expect(code.indexOf('New-ContainersFailure -Network $network')).toBeLessThan(code.indexOf("'network', 'rm'"));
    expect(code).toContain('(Get-NetworkIds -Name $NetworkName) -ccontains $network.Id');
  });

  it('reads docker stderr apart from stdout', () => {
    expect(code).not.toContain('2>&1');
    expect(code).toContain('$start.RedirectStandardError = $true');
    expect(code).toMatch(/ErrorText = \$stderr\.Result/);
    expect(code).toContain('$inspect.Output | ConvertFrom-Json');
  });
});

/** Script text without its comment lines, so that comments may name what the code must not do. */
function codeOf(text: string): string {
  return text
    .split('\n')
    .filter((line) => !line.trim().startsWith('#'))
    .join('\n');
}

/** Anything that writes: registry, firewall, services, Docker networks. */
const WRITES =
  /SetValue|CreateSubKey|DeleteSubKey|DeleteValue|Set-Item|Remove-Item|New-NetFirewallRule|Remove-NetFirewallRule|Set-NetFirewallRule|netsh|Restart-Service|Start-Service|Stop-Service|Set-Service|'network', '(create|rm|remove|prune|connect|disconnect)'/;

describe('inspection scripts', () => {
  it('inspect-hyperv-host reads exactly the ConfigureMCNP.ps1 table, the two rules and nchostagent, and writes nothing', () => {
    const text = inspectHyperVHostScript.text;
    for (const row of enableNetworkProxyTable) expect(text).toContain(rowText(row));
    expect(text.match(/@\{ Key = '/g)).toHaveLength(enableNetworkProxyTable.length);
    expect(text).toContain("$FirewallRuleName = 'Open Port 6642'");
    expect(text).toContain("$FirewallDirections = @('Inbound', 'Outbound')");
    expect(text).toContain("$ServiceName = 'nchostagent'");
    expect(codeOf(text)).not.toMatch(WRITES);
    expect(codeOf(text)).toContain('changed = $false; networkProxyEnabled = $enabled');
    expect(inspectHyperVHostScript.buildParameters({})).toEqual([]);
    expect(() => inspectHyperVHostScript.buildParameters({ networkName: 'x' } as never)).toThrow(
      expect.objectContaining({ name: 'ValidationError', issues: [expect.objectContaining({ field: '(input)' })] }),
    );
  });

  it('inspect-container-host reads exactly the InstallPrivateCloudPlugin.ps1 registration and hns, and writes nothing', () => {
    const text = inspectContainerHostScript.text;
    for (const row of installPrivateCloudPluginTable) expect(text).toContain(rowText(row));
    expect(text.match(/@\{ Key = '/g)).toHaveLength(installPrivateCloudPluginTable.length);
    expect(text).toContain("$ServiceName = 'hns'");
    const code = codeOf(text);
    expect(code).not.toMatch(WRITES);
    expect(code).not.toContain('2>&1');
    expect(code).toContain('-ceq $Name');
    expect(code).toContain('changed = $false; pluginInstalled = $installed');
  });

  it('inspect-container-host takes an optional network name, refusing hostile ones in TS and in the script', () => {
    expect(inspectContainerHostScript.buildParameters({})).toEqual([]);
    expect(inspectContainerHostScript.buildParameters({ networkName: 'MyContainerOverlayNetwork' })).toEqual([
      { name: 'NetworkName', value: 'MyContainerOverlayNetwork' },
    ]);
    const [declared] = parseParamBlock(inspectContainerHostScript.text);
    expect(declared).toMatchObject({ name: 'NetworkName', mandatory: false });
    for (const networkName of ['net;calc', '$(calc)', 'net\n', 'a b', '-x', '']) {
      expect(() => inspectContainerHostScript.buildParameters({ networkName })).toThrow(
        expect.objectContaining({ issues: [expect.objectContaining({ field: 'networkName' })] }),
      );
      expect(declared?.pattern?.test(networkName)).toBe(false);
    }
    expect(() => inspectContainerHostScript.buildParameters({ networkName: 'default' })).toThrow(
      expect.objectContaining({ issues: [expect.objectContaining({ field: 'networkName' })] }),
    );
    expect(() => inspectContainerHostScript.buildParameters({ networkName: 1 } as never)).toThrow(
      expect.objectContaining({ name: 'ValidationError' }),
    );
  });
});

describe('remove-private-cloud-plugin', () => {
  const text = removePrivateCloudPluginScript.text;
  const code = codeOf(text);

  it('deletes exactly the two keys the registration writes, whole, and writes nothing', () => {
    const classKey = installPrivateCloudPluginTable.find(
      (row) => row.name === '' && !row.key.endsWith('InprocServer32'),
    );
    expect(text).toContain(`$PluginKey = '${PLUGIN_KEY.replace(/^HKLM\\/, '')}'`);
    expect(text).toContain(`$ClassKey = '${classKey!.key.replace(/^HKLM\\/, '')}'`);
    expect(code).toContain('$RegistrationKeys = @($PluginKey, $ClassKey)');
    expect(code).toContain('try { $base.DeleteSubKeyTree($Key, $false) } finally { $base.Dispose() }');
    expect(code).toContain('Remove-RegistryKeyTree -Key $key');
    expect(code).not.toMatch(/SetValue|CreateSubKey|New-Item|Set-Item|'network', '(create|rm)'/);
    expect(code).not.toContain('2>&1');
  });

  it('checks for networks before deleting, restarts hns only on a change, and verifies', () => {
    expect(code.indexOf('Assert-NoPluginNetworks\n')).toBeLessThan(code.indexOf('Remove-RegistryKeyTree -Key $key'));
    expect(code).toContain("$PluginDrivers = @('l2bridge', 'l2tunnel')");
    expect(code).toMatch(/if \(\$script:Changed -and \$null -ne \$service\) \{\s*Restart-HnsService\s/);
    expect(code).toContain("'ContainerNetworksStillPresent'");
    expect(code).toContain("throw (New-StepFailure 'VerificationFailed'");
  });

  it('takes nothing', () => {
    expect(removePrivateCloudPluginScript.buildParameters({})).toEqual([]);
    expect(() => removePrivateCloudPluginScript.buildParameters({ force: true } as never)).toThrow(
      expect.objectContaining({ name: 'ValidationError', code: 'InvalidScriptParameters' }),
    );
    expect(parseParamBlock(text)).toEqual([]);
  });
});
