import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  type Harness,
  type ListBody,
  type NicBody,
  startHarness,
  staticIpConfiguration,
  type SubnetBody,
} from './harness';

const COUNT = 10_000;
const SUBNET = '/virtualNetworks/BenchVNet/subnets/Bench';

function address(i: number): string {
  return `10.100.${Math.floor((i + 2) / 256)}.${(i + 2) % 256}`;
}

describe('NC emulator: raw resource load at benchmark scale', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  it(`loads ${COUNT} NICs in one request and lists them`, async () => {
    const resources = [
      {
        resourceRef: '/virtualNetworks/BenchVNet',
        body: {
          properties: {
            addressSpace: { addressPrefixes: ['10.100.0.0/16'] },
            subnets: [{ resourceId: 'Bench', properties: { addressPrefix: '10.100.0.0/16' } }],
          },
        },
      },
      ...Array.from({ length: COUNT }, (_, i) => ({
        resourceRef: `/networkInterfaces/Bench_${i}`,
        body: {
          tags: { vm: `Bench${i}` },
          properties: {
            privateMacAllocationMethod: 'Static',
            privateMacAddress: `00155D${i.toString(16).toUpperCase().padStart(6, '0')}`,
            ipConfigurations: [
              {
                resourceId: `Bench_${i}_IP0`,
                properties: {
                  privateIPAddress: address(i),
                  privateIPAllocationMethod: 'Static',
                  subnet: { resourceRef: SUBNET },
                },
              },
            ],
          },
        },
      })),
    ];
    const started = Date.now();
    const loaded = await h.admin<{ count: number }>('POST', '/resources', { resources });
    const loadMs = Date.now() - started;
    expect(loaded.status).toBe(200);
    expect(loaded.body.count).toBe(COUNT + 1);
    expect(loadMs).toBeLessThan(3_000);

    const list = await h.api<ListBody<NicBody>>('GET', '/networkInterfaces');
    expect(list.status).toBe(200);
    expect(list.body.value).toHaveLength(COUNT + 4);
    const sample = list.body.value.find((n) => n.resourceId === 'Bench_4321');
    expect(sample).toMatchObject({
      resourceRef: '/networkInterfaces/Bench_4321',
      properties: {
        provisioningState: 'Succeeded',
        ipConfigurations: [
          { resourceRef: '/networkInterfaces/Bench_4321/ipConfigurations/Bench_4321_IP0', etag: sample?.etag },
        ],
      },
    });

    const subnet = await h.api<SubnetBody>('GET', SUBNET);
    expect(subnet.body.properties.ipConfigurations).toHaveLength(COUNT);

    // Validation still sees every loaded address.
    const nic = (await h.api<NicBody>('GET', '/networkInterfaces/Bench_0')).body;
    const taken = await h.api<{ error: { code: string } }>('PUT', '/networkInterfaces/Bench_0', {
      body: {
        ...nic,
        properties: {
          ...nic.properties,
          ipConfigurations: [...nic.properties.ipConfigurations, staticIpConfiguration('dup', address(9_999), SUBNET)],
        },
      },
    });
    expect(taken.status).toBe(400);
    expect(taken.body.error.code).toBe('PrivateIPAddressInUse');
  });

  it("loaded at run time, each tenant network's subnets list only their own NICs' ipConfigurations", async () => {
    const tenants = 50;
    const nicsPerSubnet = 20;
    const resources = Array.from({ length: tenants }, (_, t) => [
      {
        resourceRef: `/virtualNetworks/Tenant${t}`,
        body: {
          properties: {
            addressSpace: { addressPrefixes: ['172.16.0.0/16'] },
            subnets: [0, 1].map((s) => ({ resourceId: `S${s}`, properties: { addressPrefix: `172.16.${s}.0/24` } })),
          },
        },
      },
      ...[0, 1].flatMap((s) =>
        Array.from({ length: nicsPerSubnet }, (_, n) => ({
          resourceRef: `/networkInterfaces/T${t}_S${s}_N${n}`,
          body: {
            properties: {
              ipConfigurations: [
                {
                  resourceId: 'IP0',
                  properties: {
                    // The same addresses on every tenant network: HNV address spaces are per virtual network.
                    privateIPAddress: `172.16.${s}.${n + 4}`,
                    privateIPAllocationMethod: 'Static',
                    subnet: { resourceRef: `/virtualNetworks/Tenant${t}/subnets/S${s}` },
                  },
                },
              ],
            },
          },
        })),
      ),
    ]).flat();
    expect((await h.admin('POST', '/resources', { resources })).status).toBe(200);

    const subnet = await h.api<SubnetBody>('GET', '/virtualNetworks/Tenant17/subnets/S1');
    expect(subnet.status).toBe(200);
    expect(subnet.body.properties.ipConfigurations.map((c) => c.resourceRef).sort()).toEqual(
      Array.from({ length: nicsPerSubnet }, (_, n) => `/networkInterfaces/T17_S1_N${n}/ipConfigurations/IP0`).sort(),
    );
    const network = await h.api<{ properties: { subnets: SubnetBody[] } }>('GET', '/virtualNetworks/Tenant3');
    expect(network.body.properties.subnets.map((s) => s.properties.ipConfigurations.length)).toEqual([
      nicsPerSubnet,
      nicsPerSubnet,
    ]);
  });
});
