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
});
