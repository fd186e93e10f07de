import { describe, expect, it } from 'vitest';

import { DockerApiError, SimulatedDocker } from '../../../dev/arm/SimulatedDocker';
import { SimulatedRegistry } from '../../../dev/arm/SimulatedRegistry';
import { SimulatedWindowsMachine } from '../../../dev/arm/SimulatedWindowsMachine';

describe('SimulatedRegistry', () => {
  it('compares paths and names without case, keeps the first spelling, and types values', () => {
    const registry = new SimulatedRegistry();
    registry.setValue('HKLM:\\SYSTEM\\Services\\Foo\\', 'Port', { type: 'REG_DWORD', data: 6642 });
    registry.setValue('hklm\\system\\services\\foo', 'PORT', { type: 'REG_SZ', data: '6642' });
    registry.setValue('HKEY_LOCAL_MACHINE\\SYSTEM\\Services\\Foo', 'List', { type: 'REG_MULTI_SZ', data: ['a', 'b'] });
    registry.setValue('HKLM\\SYSTEM\\Services\\Foo', '', { type: 'REG_EXPAND_SZ', data: '%SystemRoot%\\x' });
    expect(registry.getValue('HKLM\\system\\SERVICES\\foo', 'port')).toEqual({ type: 'REG_SZ', data: '6642' });
    expect(registry.valueNames('HKLM\\SYSTEM\\Services\\Foo')).toEqual(['Port', 'List', '']);
    expect(registry.hasKey('HKLM\\SYSTEM')).toBe(true);
    expect(registry.toJSON()).toEqual({
      'HKLM\\SYSTEM\\Services\\Foo': {
        Port: { type: 'REG_SZ', data: '6642' },
        List: { type: 'REG_MULTI_SZ', data: ['a', 'b'] },
        '(default)': { type: 'REG_EXPAND_SZ', data: '%SystemRoot%\\x' },
      },
    });
    expect(() => registry.setValue('HKLM\\X', 'D', { type: 'REG_DWORD', data: -1 })).toThrow(RangeError);
  });

  it('models New-Item -Force: the key and its subkeys are wiped and made again', () => {
    const registry = new SimulatedRegistry();
    registry.setValue('HKLM\\A\\Plugin', 'AgentPort', { type: 'REG_DWORD', data: 1 });
    registry.setValue('HKLM\\A\\Plugin\\Sub', 'X', { type: 'REG_SZ', data: 'y' });
    registry.setValue('HKLM\\A\\PluginOther', 'Z', { type: 'REG_SZ', data: 'z' });
    registry.createKey('HKLM\\A\\Plugin');
    expect(registry.valueNames('HKLM\\A\\Plugin')).toEqual(['AgentPort']);
    registry.newItemForce('HKLM\\A\\plugin');
    expect(registry.hasKey('HKLM\\A\\Plugin')).toBe(true);
    expect(registry.valueNames('HKLM\\A\\Plugin')).toEqual([]);
    expect(registry.hasKey('HKLM\\A\\Plugin\\Sub')).toBe(false);
    expect(registry.getValue('HKLM\\A\\PluginOther', 'Z')).toEqual({ type: 'REG_SZ', data: 'z' });
  });
});

describe('SimulatedDocker', () => {
  const create = {
    name: 'MyContainerOverlayNetwork',
    driver: 'l2bridge',
    subnet: '192.168.1.0/24',
    gateway: '192.168.1.1',
  };

  function failure(action: () => unknown): DockerApiError {
    try {
      action();
    } catch (error) {
      return error as DockerApiError;
    }
    throw new Error('expected a Docker error');
  }

  it('starts with the predefined nat network and creates Windows networks', () => {
    const docker = new SimulatedDocker();
    expect(docker.list().map((network) => [network.name, network.driver])).toEqual([['nat', 'nat']]);
    const network = docker.create(create);
    expect(network).toMatchObject({
      name: create.name,
      driver: 'l2bridge',
      scope: 'local',
      ipam: { config: [{ subnet: create.subnet, gateway: create.gateway }] },
    });
    expect(network.id).toMatch(/^[0-9a-f]{64}$/);
    expect(docker.inspect(network.id.slice(0, 12))).toEqual(network);
    expect(docker.inspect(create.name)).toEqual(network);
  });

  it.each([
    [{ ...create, name: 'nat' }, 403, /predefined nat/],
    [{ ...create, name: 'none' }, 403, /predefined none/],
    [{ ...create, driver: 'bridge' }, 404, /plugin not found/],
    [{ ...create, driver: 'macvlan' }, 404, /plugin not found/],
    [{ ...create, subnet: 'fd00::/64' }, 403, /v6/],
    [{ ...create, name: '-bad' }, 400, /invalid name/],
  ])('refuses %j with %i', (request, status, message) => {
    const error = failure(() => new SimulatedDocker().create(request));
    expect(error).toBeInstanceOf(DockerApiError);
    expect(error.statusCode).toBe(status);
    expect(error.message).toMatch(message);
  });

  it('refuses a duplicate name with 409 and protects nat from deletion', () => {
    const docker = new SimulatedDocker();
    docker.create(create);
    expect(failure(() => docker.create({ ...create, driver: 'l2tunnel' }))).toMatchObject({
      statusCode: 409,
      message: 'network with name MyContainerOverlayNetwork already exists',
    });
    expect(failure(() => docker.remove('nat'))).toMatchObject({ statusCode: 403 });
    expect(failure(() => docker.inspect('nope'))).toMatchObject({ statusCode: 404 });
    docker.remove(create.name);
    expect(docker.list()).toHaveLength(1);
  });

  it('fails creates the way HNS does when told to', () => {
    const docker = new SimulatedDocker();
    docker.hnsFailure = 'The device is not ready. (0x15)';
    expect(failure(() => docker.create(create))).toMatchObject({
      statusCode: 500,
      message: 'hnsCall failed in Win32: The device is not ready. (0x15)',
    });
    docker.hnsFailure = 'hnsCall failed in Win32: Element not found. (0x490)';
    expect(failure(() => docker.create(create)).message).toBe('hnsCall failed in Win32: Element not found. (0x490)');
    expect(docker.list()).toHaveLength(1);
  });

  it('lets several networks share an id prefix only with an ambiguity error', () => {
    const docker = new SimulatedDocker();
    const ids = Array.from({ length: 40 }, (_, index) => docker.create({ ...create, name: `n${index}` }).id);
    const shared = ids.map((id) => id[0]).find((first, index, all) => all.indexOf(first) !== index)!;
    expect(failure(() => docker.inspect(shared))).toMatchObject({ statusCode: 400 });
  });
});

describe('SimulatedWindowsMachine', () => {
  const machine = () =>
    new SimulatedWindowsMachine(
      {
        name: 'HV09',
        role: 'HyperVHost',
        location: 'westus2',
        osSku: 'Windows Server 2019 Datacenter',
        osVersion: '10.0.17763.1',
        agentVersion: '1.45',
        services: { nchostagent: 'Running' },
      },
      'vm-id',
    );

  it('counts restarts and keeps firewall rules with the same name, as netsh does', () => {
    const host = machine();
    host.restartService('NcHostAgent');
    host.restartService('nchostagent');
    host.setServiceStatus('nchostagent', 'Stopped');
    expect(host.service('NCHOSTAGENT')).toEqual({ status: 'Stopped', restartCount: 2 });
    expect(() => host.restartService('hns')).toThrow(/Cannot find any service/);
    const rule = {
      displayName: 'Open Port 6642',
      direction: 'Inbound',
      action: 'Allow',
      protocol: 'TCP',
      localPort: '6642',
      enabled: true,
      profile: 'Any',
    } as const;
    host.addFirewallRule(rule);
    host.addFirewallRule(rule);
    expect(host.snapshot().firewallRules).toHaveLength(2);
    expect(host.snapshot()).toMatchObject({
      name: 'HV09',
      dockerNetworks: [],
      services: { nchostagent: { restartCount: 2 } },
    });
  });
});
