import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterAll, describe, expect, inject, it } from 'vitest';

import { runScriptOnMachine } from '../../../dev/arm/scriptEffects';
import { CLSID_KEY, PLUGIN_DLL, PLUGIN_KEY } from '../../../dev/arm/scriptEffects/installPrivateCloudPlugin';
import { seedMachines } from '../../../dev/arm/seed';
import type { SimulatedWindowsMachine } from '../../../dev/arm/SimulatedWindowsMachine';
import { parseResultLine } from '../../../shared/arc/resultLine';
import { type HostScriptName, hostScripts } from '../../../shared/arc/scripts';
import { runPwsh } from '../../support/powerShell';

/**
 * The real .ps1 files of step 4 and of the detach and inspection scripts, run by PowerShell 7 on Linux against stand-ins (a fake
 * docker CLI, a fake registry, services and firewall), must print what the emulator's effects print, byte for byte,
 * and leave the same state, so the emulator cannot drift from the scripts. pwsh is the project's own (npm run
 * pwsh:restore); where it cannot be restored the suite is skipped, and test/shared/arc/scripts/pester.test.ts says why.
 */
const powerShell = inject('powerShell');
const HERE = path.join(__dirname, 'pwsh');
const scratch = mkdtempSync(path.join(os.tmpdir(), 'sdnattach-pwsh-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const KIND: Record<string, string> = {
  REG_SZ: 'String',
  REG_EXPAND_SZ: 'ExpandString',
  REG_DWORD: 'DWord',
  REG_MULTI_SZ: 'MultiString',
};

/** What mocks.ps1 reads: the machine's registry, services, firewall rules and files. */
function windowsState(machine: SimulatedWindowsMachine) {
  const snapshot = machine.snapshot();
  const registry = Object.fromEntries(
    Object.entries(snapshot.registry).map(([key, values]) => [
      key.replace(/^HKLM\\/, ''),
      Object.fromEntries(
        Object.entries(values).map(([name, value]) => [
          name === '(default)' ? '' : name,
          { kind: KIND[value.type], data: value.data },
        ]),
      ),
    ]),
  );
  return {
    registry,
    services: snapshot.services,
    firewallRules: snapshot.firewallRules,
    files: machine.fileExists(PLUGIN_DLL) ? [PLUGIN_DLL] : [],
    hnsKeyAcl: machine.hnsKeyAcl,
  };
}

/** What bin/docker reads: the networks as `docker network inspect` shows them. */
function dockerState(machine: SimulatedWindowsMachine) {
  const docker = machine.docker;
  if (docker === undefined) return { networks: [] };
  return {
    down: machine.service('docker')?.status !== 'Running',
    hnsFailure: docker.hnsFailure,
    engineVersion: docker.engineVersion,
    warnings: docker.cliWarnings,
    networks: docker.list().map((network) => ({
      Id: network.id,
      Name: network.name,
      Driver: network.driver,
      IPAM: { Driver: 'windows', Config: network.ipam.config.map((c) => ({ Subnet: c.subnet, Gateway: c.gateway })) },
      Containers: Object.fromEntries(
        Object.entries(network.containers).map(([id, c]) => [id, { Name: c.name, EndpointID: c.endpointId }]),
      ),
    })),
  };
}

function pathWithoutDocker(): string {
  return (process.env.PATH ?? '')
    .split(path.delimiter)
    .filter((folder) => folder !== '' && !existsSync(path.join(folder, 'docker')))
    .join(path.delimiter);
}

let runs = 0;

function runUnderPwsh(machine: SimulatedWindowsMachine, script: HostScriptName, parameters: Record<string, string>) {
  const dir = path.join(scratch, String(++runs));
  const statePath = `${dir}-windows.json`;
  const dockerPath = `${dir}-docker.json`;
  const scriptPath = `${dir}-${script}.ps1`;
  writeFileSync(statePath, JSON.stringify(windowsState(machine)));
  writeFileSync(dockerPath, JSON.stringify(dockerState(machine)));
  writeFileSync(
    scriptPath,
    hostScripts[script].text
      .replace(
        /function Get-LocalMachineBase \{[\s\S]*?\n\}/,
        'function Get-LocalMachineBase { return $global:FakeBase }',
      )
      // Windows-only ACL and token calls: mocks.ps1 defines stand-ins of the same names.
      .replace(
        /\nfunction (Get-OwnerSid|Enable-TakeOwnershipPrivilege|Set-RegistryKeyOwner|Grant-RegistryKeyFullControl) \{[\s\S]*?\n\}\n/g,
        '\n',
      ),
  );
  const run = runPwsh(['-File', path.join(HERE, 'run.ps1'), scriptPath, statePath, JSON.stringify(parameters)], {
    env: {
      FAKE_DOCKER_STATE: dockerPath,
      // The fake docker first; a machine without Docker gets no docker command at all, even if this one has one.
      PATH: machine.docker ? `${path.join(HERE, 'bin')}${path.delimiter}${process.env.PATH}` : pathWithoutDocker(),
    },
  });
  return {
    exitCode: run.status,
    output: run.stdout,
    error: run.stderr,
    windows: JSON.parse(readFileSync(statePath, 'utf8')) as unknown,
    networks: (JSON.parse(readFileSync(dockerPath, 'utf8')) as { networks: { Name: string }[] }).networks,
  };
}

const network = { name: 'MyNet', driver: 'l2bridge', subnet: '192.168.1.0/24', gateway: '192.168.1.1' };
const install = (m: SimulatedWindowsMachine) =>
  runScriptOnMachine(m, hostScripts['install-private-cloud-plugin'].text, []);
const enable = (m: SimulatedWindowsMachine) => runScriptOnMachine(m, hostScripts['enable-network-proxy'].text, []);
const BLOCK_RULE = {
  displayName: 'Hoster: block all inbound',
  direction: 'Inbound',
  action: 'Block',
  protocol: 'Any',
  localPort: 'Any',
  enabled: true,
  profile: 'Any',
} as const;
const ensureParameters = { NetworkName: 'MyNet', Driver: 'l2bridge', Subnet: '192.168.1.0/24', Gateway: '192.168.1.1' };
const CONFIG_WARNING =
  'WARNING: Error loading config file: C:\\Windows\\system32\\config\\systemprofile\\.docker\\config.json: ' +
  'Access is denied.';
const INPROC = `HKLM\\${CLSID_KEY}\\InprocServer32`;
const AGENT = { AgentIPAddress: '10.127.132.10', AgentPort: '6642', AgentPath: 'networking/v1', AgentFormat: 'json' };
const METADATA =
  'HKLM\\SYSTEM\\CurrentControlSet\\Services\\NcHostAgent\\Parameters\\Plugins\\Vnet\\InfraServices\\MetadataServer';

const scenarios: [
  string,
  string,
  HostScriptName,
  (machine: SimulatedWindowsMachine) => void,
  Record<string, string>,
][] = [
  ['remove: absent', 'ContainerHostVM1', 'remove-container-network', () => {}, { NetworkName: 'MyNet' }],
  [
    'remove: removed, all expected values given',
    'ContainerHostVM1',
    'remove-container-network',
    (m) => void m.docker!.create(network),
    { NetworkName: 'MyNet', Driver: 'l2bridge', Subnet: '192.168.1.0/24', Gateway: '192.168.1.1' },
  ],
  [
    'remove: a longer name is another network',
    'ContainerHostVM1',
    'remove-container-network',
    (m) => void m.docker!.create({ ...network, name: 'MyNet2' }),
    { NetworkName: 'MyNet' },
  ],
  [
    'remove: 23 containers connected',
    'ContainerHostVM1',
    'remove-container-network',
    (m) => {
      m.docker!.create(network);
      for (let index = 0; index < 23; index++) m.docker!.connectContainer(`c-${index}`, ['MyNet']);
    },
    { NetworkName: 'MyNet' },
  ],
  [
    'remove: transparent driver',
    'ContainerHostVM1',
    'remove-container-network',
    (m) => void m.docker!.create({ ...network, driver: 'transparent' }),
    { NetworkName: 'MyNet' },
  ],
  [
    'remove: other subnet',
    'ContainerHostVM1',
    'remove-container-network',
    (m) => void m.docker!.create(network),
    { NetworkName: 'MyNet', Subnet: '192.168.2.0/24', Gateway: '192.168.2.1' },
  ],
  ['remove: predefined', 'ContainerHostVM1', 'remove-container-network', () => {}, { NetworkName: 'default' }],
  [
    'remove: HNS failure',
    'ContainerHostVM1',
    'remove-container-network',
    (m) => {
      m.docker!.create(network);
      m.docker!.hnsFailure = 'The device is not ready. (0x15)';
    },
    { NetworkName: 'MyNet' },
  ],
  ['remove: no Docker', 'HV01', 'remove-container-network', () => {}, { NetworkName: 'MyNet' }],
  ['inspect host: fresh', 'HV01', 'inspect-hyperv-host', () => {}, {}],
  ['inspect host: enabled', 'HV01', 'inspect-hyperv-host', (m) => void enable(m), {}],
  [
    'inspect host: a different value, a duplicate rule, agent stopped',
    'HV01',
    'inspect-hyperv-host',
    (m) => {
      enable(m);
      m.registry.setValue(METADATA, 'Port', { type: 'REG_SZ', data: '6642' });
      m.registry.deleteValue(METADATA, 'IP');
      m.addFirewallRule({ ...m.firewallRules[0]! });
      m.setServiceStatus('nchostagent', 'Stopped');
    },
    {},
  ],
  ['inspect host: not a host', 'ContainerHostVM1', 'inspect-hyperv-host', () => {}, {}],
  ['inspect VM: fresh', 'ContainerHostVM1', 'inspect-container-host', () => {}, {}],
  ['inspect VM: agent settings', 'ContainerHostVM2', 'inspect-container-host', () => {}, {}],
  [
    'inspect VM: installed, network with a container',
    'ContainerHostVM1',
    'inspect-container-host',
    (m) => {
      install(m);
      m.docker!.create(network);
      m.docker!.connectContainer('web-1', ['MyNet']);
    },
    { NetworkName: 'MyNet' },
  ],
  ['inspect VM: network absent', 'ContainerHostVM1', 'inspect-container-host', () => {}, { NetworkName: 'MyNet' }],
  [
    'inspect VM: engine down',
    'ContainerHostVM1',
    'inspect-container-host',
    (m) => m.setServiceStatus('docker', 'Stopped'),
    { NetworkName: 'MyNet' },
  ],
  ['remove plugin: nothing registered', 'ContainerHostVM1', 'remove-private-cloud-plugin', () => {}, {}],
  ['remove plugin: installed', 'ContainerHostVM1', 'remove-private-cloud-plugin', (m) => void install(m), {}],
  ['remove plugin: agent settings only', 'ContainerHostVM2', 'remove-private-cloud-plugin', () => {}, {}],
  [
    'remove plugin: networks still there',
    'ContainerHostVM1',
    'remove-private-cloud-plugin',
    (m) => {
      install(m);
      m.docker!.create(network);
      m.docker!.create({ ...network, name: 'T', driver: 'l2tunnel' });
    },
    {},
  ],
  [
    'remove plugin: engine down',
    'ContainerHostVM1',
    'remove-private-cloud-plugin',
    (m) => {
      install(m);
      m.setServiceStatus('docker', 'Stopped');
    },
    {},
  ],
  ['enable: fresh', 'HV01', 'enable-network-proxy', () => {}, {}],
  ['enable: configured', 'HV01', 'enable-network-proxy', (m) => void enable(m), {}],
  [
    'enable: a disabled rule of ours is replaced',
    'HV01',
    'enable-network-proxy',
    (m) => {
      enable(m);
      m.firewallRules[0]!.enabled = false;
      m.addFirewallRule({ ...m.firewallRules[1]!, protocol: 'UDP' });
    },
    {},
  ],
  [
    'enable: a Block rule covering 6642',
    'HV01',
    'enable-network-proxy',
    (m) => {
      m.addFirewallRule({ ...BLOCK_RULE, displayName: 'Hoster: no 6000-6999', localPort: '6000-6999' });
      m.addFirewallRule({ ...BLOCK_RULE, displayName: 'Hoster: no 80', localPort: '80' });
    },
    {},
  ],
  ['enable: not a host', 'ContainerHostVM1', 'enable-network-proxy', () => {}, {}],
  [
    'inspect host: a Block rule and a disabled rule of ours',
    'HV01',
    'inspect-hyperv-host',
    (m) => {
      enable(m);
      m.firewallRules[1]!.enabled = false;
      m.addFirewallRule(BLOCK_RULE);
    },
    {},
  ],
  ['ensure: fresh', 'ContainerHostVM1', 'ensure-container-network', () => {}, ensureParameters],
  [
    'ensure: already there',
    'ContainerHostVM1',
    'ensure-container-network',
    (m) => void m.docker!.create(network),
    ensureParameters,
  ],
  [
    'ensure: same name, other subnet',
    'ContainerHostVM1',
    'ensure-container-network',
    (m) => void m.docker!.create({ ...network, subnet: '192.168.2.0/24', gateway: '192.168.2.1' }),
    ensureParameters,
  ],
  [
    'ensure: CLI warnings on stderr',
    'ContainerHostVM1',
    'ensure-container-network',
    (m) => (m.docker!.cliWarnings = [CONFIG_WARNING]),
    ensureParameters,
  ],
  [
    'ensure: engine 1.12',
    'ContainerHostVM1',
    'ensure-container-network',
    (m) => (m.docker!.engineVersion = '1.12.2-cs2-ws-beta'),
    ensureParameters,
  ],
  [
    'ensure: no Hyper-V switch',
    'ContainerHostVM1',
    'ensure-container-network',
    (m) => {
      m.docker!.cliWarnings = [CONFIG_WARNING];
      m.docker!.hnsFailure = 'A network of this type can not be created because VFP is not available. (0x803b0037)';
    },
    ensureParameters,
  ],
  [
    'ensure: engine stopped',
    'ContainerHostVM1',
    'ensure-container-network',
    (m) => m.setServiceStatus('docker', 'Stopped'),
    ensureParameters,
  ],
  [
    'ensure: reserved name',
    'ContainerHostVM1',
    'ensure-container-network',
    () => {},
    { ...ensureParameters, NetworkName: 'Default' },
  ],
  ['install plugin: fresh', 'ContainerHostVM1', 'install-private-cloud-plugin', () => {}, {}],
  [
    'install plugin: already configured',
    'ContainerHostVM1',
    'install-private-cloud-plugin',
    (m) => void install(m),
    {},
  ],
  [
    'install plugin: equivalent REG_EXPAND_SZ registration, other case',
    'ContainerHostVM1',
    'install-private-cloud-plugin',
    (m) => {
      install(m);
      m.registry.setValue(INPROC, '', {
        type: 'REG_EXPAND_SZ',
        data: '%SystemRoot%\\system32\\PrivateCloudHNSPlugin.dll',
      });
      m.registry.setValue(INPROC, 'ThreadingModel', { type: 'REG_SZ', data: 'both' });
    },
    {},
  ],
  [
    'install plugin: a DWORD stored as text, a path to another folder',
    'ContainerHostVM1',
    'install-private-cloud-plugin',
    (m) => {
      install(m);
      m.registry.setValue(`HKLM\\${PLUGIN_KEY}`, 'Priority', { type: 'REG_SZ', data: '1000' });
      m.registry.setValue(INPROC, '', {
        type: 'REG_EXPAND_SZ',
        data: '%SystemRoot%\\SysWOW64\\PrivateCloudHNSPlugin.dll',
      });
    },
    {},
  ],
  [
    'install plugin: DLL missing',
    'ContainerHostVM1',
    'install-private-cloud-plugin',
    (m) => m.setFile(PLUGIN_DLL, false),
    AGENT,
  ],
  ['install plugin: agent settings kept', 'ContainerHostVM2', 'install-private-cloud-plugin', () => {}, {}],
  ['install plugin: agent settings written', 'ContainerHostVM2', 'install-private-cloud-plugin', () => {}, AGENT],
  [
    'install plugin: partial agent settings',
    'ContainerHostVM1',
    'install-private-cloud-plugin',
    () => {},
    { AgentIPAddress: '10.0.0.1' },
  ],
  [
    'install plugin: locked hns key, ownership taken',
    'ContainerHostVM1',
    'install-private-cloud-plugin',
    (m) => (m.hnsKeyAcl = 'locked'),
    {},
  ],
  [
    'install plugin: hns key still denied after taking ownership',
    'ContainerHostVM1',
    'install-private-cloud-plugin',
    (m) => (m.hnsKeyAcl = 'denied'),
    {},
  ],
  ['install plugin: no hns', 'HV01', 'install-private-cloud-plugin', () => {}, {}],
];

describe.skipIf(!powerShell.available)('the .ps1 files under pwsh agree with the emulator', () => {
  it.each(scenarios)(
    '%s',
    (_title, machineName, script, setup, parameters) => {
      const machine = seedMachines().find((candidate) => candidate.name === machineName)!;
      setup(machine);
      const real = runUnderPwsh(machine, script, parameters);
      const emulated = runScriptOnMachine(
        machine,
        hostScripts[script].text,
        Object.entries(parameters).map(([name, value]) => ({ name, value })),
      );
      // A network the script creates gets a new random id on each side.
      const newIds = script === 'ensure-container-network' ? /\b[0-9a-f]{64}\b/g : undefined;
      const lines = (text: string) => {
        const unix = text.replace(/\r\n/g, '\n');
        return newIds === undefined ? unix : unix.replace(newIds, '<id>');
      };
      expect(parseResultLine(lines(real.output))).toEqual(parseResultLine(lines(emulated.output)));
      expect(lines(real.output)).toBe(lines(emulated.output));
      expect(lines(real.error)).toBe(lines(emulated.error));
      expect(real.exitCode).toBe(emulated.exitCode);
      expect(real.windows).toEqual(JSON.parse(JSON.stringify(windowsState(machine))));
      expect(real.networks.map((candidate) => candidate.Name)).toEqual(
        machine.docker?.list().map((candidate) => candidate.name) ?? [],
      );
    },
    60_000,
  );
});
