import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { type Harness, type NicBody, SEED_NIC, startHarness } from './harness';

type ServerBody = { resourceId: string; properties: { connections: { managementAddresses: string[] }[] } };

describe('NC emulator: servers and the NIC’s read-only server reference', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());
  beforeEach(async () => {
    await h.admin('POST', '/reset');
  });

  it('serves the seeded Hyper-V host and places the seeded VMs’ NICs on it', async () => {
    const server = await h.api<ServerBody>('GET', '/servers/HV01');
    expect(server.status).toBe(200);
    expect(server.body.properties.connections[0]?.managementAddresses).toContain('HV01.sdn.lab');
    const nic = await h.api<NicBody>('GET', `/networkInterfaces/${SEED_NIC}`);
    expect(nic.body.properties.server).toEqual({ resourceRef: '/servers/HV01' });
    expect((await h.api('GET', '/servers/HV09')).status).toBe(404);
  });

  it('keeps the server reference through a PUT that leaves it out (it is the controller’s to set)', async () => {
    const nic = (await h.api<NicBody>('GET', `/networkInterfaces/${SEED_NIC}`)).body;
    const { server: _server, ...properties } = nic.properties;
    const put = await h.api('PUT', `/networkInterfaces/${SEED_NIC}`, { body: { ...nic, properties } });
    expect(put.status).toBe(200);
    expect((await h.api<NicBody>('GET', `/networkInterfaces/${SEED_NIC}`)).body.properties.server).toEqual({
      resourceRef: '/servers/HV01',
    });
  });
});
