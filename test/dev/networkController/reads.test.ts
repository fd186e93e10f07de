import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import {
  type AclBody,
  type Harness,
  type IpConfigurationBody,
  type ListBody,
  match,
  type NicBody,
  SEED_NIC,
  startHarness,
  type SubnetBody,
  type VirtualNetworkBody,
} from './harness';

const ETAG = /^W\/"[0-9a-f-]{36}"$/;
type RequestLogBody = { status: number; responseBytes: number }[];

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('NC emulator: reads of the seed scenario', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });
  beforeEach(async () => {
    await h.admin('POST', '/reset');
  });

  it('serves the container host NIC with the full envelope on it and its ipConfiguration', async () => {
    const res = await h.api<NicBody>('GET', `/networkInterfaces/${SEED_NIC}`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.headers.server).toBe('Microsoft-HTTPAPI/2.0');
    expect(res.headers['x-ms-request-id']).toMatch(GUID);
    expect(res.headers.date).toBeDefined();
    const nic = res.body;
    expect(nic).toMatchObject({
      resourceRef: '/networkInterfaces/ContainerHostVM1_Net0',
      resourceId: 'ContainerHostVM1_Net0',
      tags: { vm: 'ContainerHostVM1' },
      properties: {
        provisioningState: 'Succeeded',
        privateMacAllocationMethod: 'Static',
        privateMacAddress: match.regex(/^[0-9A-F]{12}$/),
        portSettings: { macSpoofingEnabled: false },
        dnsSettings: { dnsServers: match.array },
        configurationState: { status: 'Success', detailedInfo: [], id: nic.instanceId },
        ipConfigurations: [
          {
            resourceRef: '/networkInterfaces/ContainerHostVM1_Net0/ipConfigurations/ContainerHostVM1_IP0',
            resourceId: 'ContainerHostVM1_IP0',
            etag: nic.etag,
            properties: {
              provisioningState: 'Succeeded',
              privateIPAddress: '192.168.1.9',
              privateIPAllocationMethod: 'Static',
              subnet: { resourceRef: '/virtualNetworks/VNet1/subnets/Subnet1' },
              accessControlList: { resourceRef: '/accessControlLists/AllowAll' },
            },
          },
        ],
      },
    });
    expect(nic.etag).toMatch(ETAG);
    expect(res.headers.etag).toBe(nic.etag);
    expect(nic.instanceId).toMatch(GUID);
    expect(nic.properties.ipConfigurations[0]?.instanceId).toMatch(GUID);
  });

  it('lists all four seed NICs with an empty nextLink; 192.168.1.9 is held once on VNet1 and once on VNet2', async () => {
    const res = await h.api<ListBody<NicBody>>('GET', '/networkInterfaces');
    expect(res.status).toBe(200);
    expect(res.headers.etag).toBeUndefined();
    expect(res.body.nextLink).toBe('');
    const names = res.body.value.map((n) => n.resourceId).sort();
    expect(names).toEqual(['ContainerHostVM1_Net0', 'ContainerHostVM2_Net0', 'FabrikamVM1_Net0', 'TenantVM3_Net0']);
    const holders = res.body.value
      .flatMap((n) => n.properties.ipConfigurations.map((c) => ({ nic: n.resourceId, ...c.properties })))
      .filter((c) => c.privateIPAddress === '192.168.1.9')
      .map((c) => [c.nic, c.subnet?.resourceRef])
      .sort();
    expect(holders).toEqual([
      [SEED_NIC, '/virtualNetworks/VNet1/subnets/Subnet1'],
      ['FabrikamVM1_Net0', '/virtualNetworks/VNet2/subnets/Subnet1'],
    ]);
  });

  it("serves fabrikam's FabrikamVM1_Net0 at 192.168.1.9 on VNet2/Subnet1, which reuses VNet1's prefixes", async () => {
    const nic = await h.api<NicBody>('GET', '/networkInterfaces/FabrikamVM1_Net0');
    expect(nic.status).toBe(200);
    expect(nic.body).toMatchObject({
      resourceRef: '/networkInterfaces/FabrikamVM1_Net0',
      tags: { vm: 'FabrikamVM1' },
      properties: { provisioningState: 'Succeeded', configurationState: { status: 'Success' } },
    });
    expect(nic.body.properties.ipConfigurations).toHaveLength(1);
    expect(nic.body.properties.ipConfigurations[0]).toMatchObject({
      resourceRef: '/networkInterfaces/FabrikamVM1_Net0/ipConfigurations/FabrikamVM1_IP0',
      properties: {
        privateIPAddress: '192.168.1.9',
        privateIPAllocationMethod: 'Static',
        subnet: { resourceRef: '/virtualNetworks/VNet2/subnets/Subnet1' },
      },
    });
    const vnet2 = await h.api<VirtualNetworkBody>('GET', '/virtualNetworks/VNet2');
    expect(vnet2.body.properties.addressSpace).toEqual({ addressPrefixes: ['192.168.0.0/16'] });
    expect(vnet2.body.properties.subnets.map((s) => [s.resourceRef, s.properties.addressPrefix])).toEqual([
      ['/virtualNetworks/VNet2/subnets/Subnet1', '192.168.1.0/24'],
    ]);
  });

  it('serves ipConfigurations as a child collection and as single children', async () => {
    const list = await h.api<ListBody<IpConfigurationBody>>('GET', `/networkInterfaces/${SEED_NIC}/ipConfigurations`);
    expect(list.status).toBe(200);
    expect(list.body.value).toHaveLength(1);
    const one = await h.api<IpConfigurationBody>(
      'GET',
      `/networkInterfaces/${SEED_NIC}/ipConfigurations/ContainerHostVM1_IP0`,
    );
    expect(one.status).toBe(200);
    expect(one.body.properties.privateIPAddress).toBe('192.168.1.9');
    expect(one.headers.etag).toBe(one.body.etag);
  });

  it('serves the virtual networks, subnets with back-references, and the AllowAll ACL', async () => {
    const vnet = await h.api<VirtualNetworkBody>('GET', '/virtualNetworks/VNet1');
    expect(vnet.status).toBe(200);
    expect(vnet.body.properties).toMatchObject({
      addressSpace: { addressPrefixes: ['192.168.0.0/16'] },
      logicalNetwork: { resourceRef: '/logicalNetworks/HNVPA' },
    });
    expect(vnet.body.properties.subnets.map((s) => s.resourceRef)).toEqual([
      '/virtualNetworks/VNet1/subnets/Subnet1',
      '/virtualNetworks/VNet1/subnets/Subnet2',
    ]);

    const subnet = await h.api<SubnetBody>('GET', '/virtualNetworks/VNet1/subnets/Subnet1');
    expect(subnet.body).toMatchObject({
      resourceRef: '/virtualNetworks/VNet1/subnets/Subnet1',
      etag: vnet.body.etag,
      properties: {
        provisioningState: 'Succeeded',
        addressPrefix: '192.168.1.0/24',
        accessControlList: { resourceRef: '/accessControlLists/AllowAll' },
      },
    });
    expect(subnet.body.properties.ipConfigurations).toEqual([
      { resourceRef: '/networkInterfaces/ContainerHostVM1_Net0/ipConfigurations/ContainerHostVM1_IP0' },
      { resourceRef: '/networkInterfaces/ContainerHostVM2_Net0/ipConfigurations/ContainerHostVM2_IP0' },
    ]);
    const subnets = await h.api<ListBody<SubnetBody>>('GET', '/virtualNetworks/VNet1/subnets');
    expect(subnets.body.value[1]?.properties).toMatchObject({
      addressPrefix: '192.168.2.0/24',
      ipConfigurations: [{ resourceRef: '/networkInterfaces/TenantVM3_Net0/ipConfigurations/TenantVM3_IP0' }],
    });

    const vnet2 = await h.api<SubnetBody>('GET', '/virtualNetworks/VNet2/subnets/Subnet1');
    expect(vnet2.body.properties.addressPrefix).toBe('192.168.1.0/24');
    expect((await h.api<ListBody<VirtualNetworkBody>>('GET', '/virtualNetworks')).body.value).toHaveLength(2);

    const acl = await h.api<AclBody>('GET', '/accessControlLists/AllowAll');
    expect(acl.status).toBe(200);
    expect(acl.body.properties).toMatchObject({
      inboundDefaultAction: 'Permit',
      outboundDefaultAction: 'Permit',
      subnets: [{ resourceRef: '/virtualNetworks/VNet1/subnets/Subnet1' }],
    });
    expect(acl.body.properties.aclRules.map((r) => [r.resourceId, r.properties.type, r.properties.action])).toEqual([
      ['AllowAll_Inbound', 'Inbound', 'Allow'],
      ['AllowAll_Outbound', 'Outbound', 'Allow'],
    ]);
    expect(acl.body.properties.ipConfigurations).toHaveLength(2);
    expect((await h.api<ListBody<AclBody>>('GET', '/accessControlLists')).body.value).toHaveLength(1);
  });

  it('matches path segments and resource ids case-insensitively and answers in canonical casing', async () => {
    const res = await h.request<NicBody>('GET', '/Networking/V1/NetworkInterfaces/containerhostvm1_net0');
    expect(res.status).toBe(200);
    expect(res.body.resourceRef).toBe('/networkInterfaces/ContainerHostVM1_Net0');
    const child = await h.request<IpConfigurationBody>(
      'GET',
      '/NETWORKING/v1/networkinterfaces/ContainerHostVM1_Net0/IPCONFIGURATIONS/containerhostvm1_ip0/',
    );
    expect(child.status).toBe(200);
    expect(child.body.resourceId).toBe('ContainerHostVM1_IP0');
    expect((await h.api('GET', '/virtualnetworks/VNET1/SUBNETS/SUBNET2')).status).toBe(200);
  });

  it('answers 404 NotFound with an error body for missing resources and unknown paths', async () => {
    for (const path of [
      '/networkInterfaces/nope',
      `/networkInterfaces/${SEED_NIC}/ipConfigurations/nope`,
      '/virtualNetworks/VNet1/subnets/Subnet9',
      '/accessControlLists/DenyAll',
      '/operations/00000000-0000-0000-0000-000000000000',
      '/operationResults/00000000-0000-0000-0000-000000000000',
      '/notACollection',
    ]) {
      const res = await h.api('GET', path);
      expect(res.status, path).toBe(404);
      expect(res.body.error.code, path).toBe('NotFound');
      expect(res.body.error.message, path).toEqual(match.string);
      expect(res.headers['x-ms-request-id'], path).toMatch(GUID);
    }
    expect((await h.request('GET', '/somewhere/else')).status).toBe(404);
  });

  it('answers 405 to methods the resource does not support', async () => {
    const res = await h.api('PUT', '/virtualNetworks/VNet1', { body: {} });
    expect(res.status).toBe(405);
    expect(res.body.error.code).toBe('MethodNotAllowed');
  });

  it('echoes x-ms-client-request-id unless x-ms-return-client-request-id is false', async () => {
    const id = 'c5a7bd2f-7f0e-4a77-9a0c-0e5f2a0e1f00';
    const echoed = await h.api('GET', '/networkInterfaces', { headers: { 'x-ms-client-request-id': id } });
    expect(echoed.headers['x-ms-client-request-id']).toBe(id);
    const silent = await h.api('GET', '/networkInterfaces', {
      headers: { 'x-ms-client-request-id': id, 'x-ms-return-client-request-id': 'false' },
    });
    expect(silent.headers['x-ms-client-request-id']).toBeUndefined();
  });

  it('logs API requests but not /_emulator requests', async () => {
    await h.api('GET', `/networkInterfaces/${SEED_NIC}?api-version=1`, {
      headers: { 'x-ms-client-request-id': 'abc', 'If-Match': '*' },
    });
    await h.api('GET', '/networkInterfaces/missing');
    const log = await h.admin<RequestLogBody>('GET', '/requests');
    expect(log.body).toEqual([
      expect.objectContaining({
        method: 'GET',
        path: `/networking/v1/networkInterfaces/${SEED_NIC}`,
        query: 'api-version=1',
        status: 200,
        clientRequestId: 'abc',
        ifMatch: '*',
        requestBytes: 0,
        responseBytes: match.number,
        time: match.string,
      }),
      expect.objectContaining({ status: 404, clientRequestId: null, ifMatch: null }),
    ]);
    expect(log.body[0]?.responseBytes).toBeGreaterThan(100);
    await h.admin('DELETE', '/requests');
    expect((await h.admin<RequestLogBody>('GET', '/requests')).body).toEqual([]);
  });

  it('reset with seed false empties the controller', async () => {
    expect((await h.admin('POST', '/reset', { seed: false })).status).toBe(204);
    expect((await h.api<ListBody<NicBody>>('GET', '/networkInterfaces')).body).toEqual({ value: [], nextLink: '' });
    expect((await h.api('GET', '/virtualNetworks/VNet1')).status).toBe(404);
  });
});
