import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import {
  type AclBody,
  type ErrorBody,
  type Harness,
  type HttpResult,
  type IpConfigurationBody,
  type IpConfigurationInput,
  type NicBody,
  type OperationBody,
  SEED_NIC,
  startHarness,
  staticIpConfiguration,
  type SubnetBody,
  type VirtualNetworkBody,
} from './harness';

const NIC_PATH = `/networkInterfaces/${SEED_NIC}`;
const SEED_IPC = 'ContainerHostVM1_IP0';
const SEED_IPC_REF = `${NIC_PATH}/ipConfigurations/${SEED_IPC}`;
const SEED_ADDRESS = '192.168.1.9';
/** Another NIC on the same virtual network (VNet1) as the seed NIC. */
const NEIGHBOUR_PATH = '/networkInterfaces/ContainerHostVM2_Net0';
const SUBNET_PATH = '/virtualNetworks/VNet1/subnets/Subnet1';

/** Removing an ipConfiguration: by a NIC PUT that leaves it out, or by DELETE of the child. */
describe('NC emulator: removing ipConfigurations', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });
  beforeEach(async () => {
    await h.admin('POST', '/reset');
    await h.request('PUT', '/_emulator/settings', { body: { provisioningDelayInMs: 40 } });
  });

  async function getNic(path = NIC_PATH): Promise<NicBody> {
    const res = await h.api<NicBody>('GET', path);
    expect(res.status).toBe(200);
    return res.body;
  }

  async function putNic(body: unknown, path = NIC_PATH): Promise<HttpResult<NicBody & ErrorBody>> {
    return h.api<NicBody & ErrorBody>('PUT', path, { body });
  }

  async function settle(res: HttpResult<unknown>): Promise<OperationBody> {
    const url = res.headers['azure-asyncoperation'];
    expect(url).toBeDefined();
    return h.waitForOperation(url ?? '');
  }

  /** `nic` as GET returned it, with its ipConfigurations replaced. */
  function withIpConfigurations(nic: NicBody, ipConfigurations: (IpConfigurationBody | IpConfigurationInput)[]) {
    return { ...nic, properties: { ...nic.properties, ipConfigurations } };
  }

  async function subnetRefs(): Promise<string[]> {
    const subnet = await h.api<SubnetBody>('GET', SUBNET_PATH);
    return subnet.body.properties.ipConfigurations.map((r) => r.resourceRef);
  }

  /** The subnet's back-references as the parent virtual network renders them. */
  async function subnetRefsInVirtualNetwork(): Promise<string[]> {
    const vnet = await h.api<VirtualNetworkBody>('GET', '/virtualNetworks/VNet1');
    const subnet = vnet.body.properties.subnets.find((s) => s.resourceId === 'Subnet1');
    return subnet?.properties.ipConfigurations.map((r) => r.resourceRef) ?? [];
  }

  async function aclRefs(): Promise<string[]> {
    const acl = await h.api<AclBody>('GET', '/accessControlLists/AllowAll');
    return acl.body.properties.ipConfigurations.map((r) => r.resourceRef);
  }

  /** Adds `address` to the neighbour NIC on the same virtual network; answers the PUT. */
  async function neighbourTakes(address: string): Promise<HttpResult<NicBody & ErrorBody>> {
    const neighbour = await getNic(NEIGHBOUR_PATH);
    return putNic(
      withIpConfigurations(neighbour, [
        ...neighbour.properties.ipConfigurations,
        staticIpConfiguration('Taken', address),
      ]),
      NEIGHBOUR_PATH,
    );
  }

  describe('by a NIC PUT that leaves the ipConfiguration out (replace semantics)', () => {
    it('drops it from the NIC, the subnet and ACL back-references, and frees its address on the network', async () => {
      const before = await getNic();
      expect(await subnetRefs()).toContain(SEED_IPC_REF);
      expect(await aclRefs()).toContain(SEED_IPC_REF);

      const res = await putNic(withIpConfigurations(before, [staticIpConfiguration('Kept', '192.168.1.77')]));
      expect(res.status).toBe(200);
      expect(res.body.properties.ipConfigurations.map((c) => c.resourceId)).toEqual(['Kept']);
      expect((await settle(res)).status).toBe('Succeeded');

      expect((await getNic()).properties.ipConfigurations.map((c) => c.resourceId)).toEqual(['Kept']);
      expect((await h.api('GET', SEED_IPC_REF)).status).toBe(404);
      for (const refs of [await subnetRefs(), await subnetRefsInVirtualNetwork(), await aclRefs()]) {
        expect(refs).not.toContain(SEED_IPC_REF);
        expect(refs).toContain(`${NIC_PATH}/ipConfigurations/Kept`);
      }

      // The freed address can be PUT on another NIC of the same virtual network, which the subnet then lists.
      const taker = await neighbourTakes(SEED_ADDRESS);
      expect(taker.status).toBe(200);
      expect(taker.body.properties.ipConfigurations[1]?.properties.privateIPAddress).toBe(SEED_ADDRESS);
      await settle(taker);
      expect(await subnetRefs()).toContain(`${NEIGHBOUR_PATH}/ipConfigurations/Taken`);
    });

    it('before the removal, the address is still in use on the network', async () => {
      const res = await neighbourTakes(SEED_ADDRESS);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('PrivateIPAddressInUse');
      expect(res.body.error.message).toContain(SEED_IPC_REF);
    });

    it('an empty ipConfigurations array removes every ipConfiguration', async () => {
      const res = await putNic(withIpConfigurations(await getNic(), []));
      expect(res.status).toBe(200);
      await settle(res);
      expect((await getNic()).properties.ipConfigurations).toEqual([]);
      expect(await subnetRefs()).not.toContain(SEED_IPC_REF);
      expect((await neighbourTakes(SEED_ADDRESS)).status).toBe(200);
    });

    it('lets the same PUT give the freed address to a new ipConfiguration of the same NIC', async () => {
      const res = await putNic(withIpConfigurations(await getNic(), [staticIpConfiguration('Renamed', SEED_ADDRESS)]));
      expect(res.status).toBe(200);
      await settle(res);
      const refs = await subnetRefs();
      expect(refs).toContain(`${NIC_PATH}/ipConfigurations/Renamed`);
      expect(refs).not.toContain(SEED_IPC_REF);
    });
  });

  describe('by DELETE /networkInterfaces/{nic}/ipConfigurations/{ipc}', () => {
    it('answers 204 when the NIC or the ipConfiguration does not exist', async () => {
      expect((await h.api('DELETE', '/networkInterfaces/Nope/ipConfigurations/Nope')).status).toBe(204);
      const missing = await h.api('DELETE', `${NIC_PATH}/ipConfigurations/Nope`);
      expect(missing.status).toBe(204);
      expect(missing.text).toBe('');
      expect((await getNic()).properties.provisioningState).toBe('Succeeded');
    });

    it('answers 202 with Location and Azure-AsyncOperation; child Deleting, parent Updating; then gone', async () => {
      await h.request('PUT', '/_emulator/settings', { body: { provisioningDelayInMs: 300 } });
      const before = await getNic();
      const res = await h.api('DELETE', `/NetworkInterfaces/${SEED_NIC}/IpConfigurations/${SEED_IPC.toLowerCase()}`);
      expect(res.status).toBe(202);
      const id = res.headers['x-ms-request-id'] ?? '';
      expect(res.headers.location).toBe(`${h.emulator.baseUrl}/operationResults/${id}`);
      expect(res.headers['azure-asyncoperation']).toBe(`${h.emulator.baseUrl}/operations/${id}`);
      expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);

      const during = await getNic();
      expect(during.etag).not.toBe(before.etag);
      expect(during.properties.provisioningState).toBe('Updating');
      const child = await h.api<IpConfigurationBody>('GET', SEED_IPC_REF);
      expect(child.body.properties.provisioningState).toBe('Deleting');
      expect(child.body.etag).toBe(during.etag);
      expect((await h.api('GET', `/operationResults/${id}`)).status).toBe(202);
      // Until the delete completes the address is still held.
      expect((await neighbourTakes(SEED_ADDRESS)).body.error.code).toBe('PrivateIPAddressInUse');

      expect((await settle(res)).status).toBe('Succeeded');
      expect((await h.api('GET', `/operationResults/${id}`)).status).toBe(204);
      expect((await h.api('GET', SEED_IPC_REF)).status).toBe(404);
      const after = await getNic();
      expect(after.properties.provisioningState).toBe('Succeeded');
      expect(after.properties.ipConfigurations).toEqual([]);
      for (const refs of [await subnetRefs(), await subnetRefsInVirtualNetwork(), await aclRefs()]) {
        expect(refs).not.toContain(SEED_IPC_REF);
      }
      const taker = await neighbourTakes(SEED_ADDRESS);
      expect(taker.status).toBe(200);
    });

    it('honours If-Match: a stale etag gets 412 and changes nothing, the current one deletes', async () => {
      const before = await getNic();
      const stale = await h.api('DELETE', SEED_IPC_REF, {
        headers: { 'If-Match': 'W/"00000000-0000-0000-0000-000000000000"' },
      });
      expect(stale.status).toBe(412);
      expect(stale.body.error.code).toBe('PreconditionFailed');
      expect(await getNic()).toEqual(before);

      const res = await h.api('DELETE', SEED_IPC_REF, { headers: { 'If-Match': before.etag } });
      expect(res.status).toBe(202);
      await settle(res);
      expect((await h.api('GET', SEED_IPC_REF)).status).toBe(404);
    });

    it('a repeated DELETE of a removed ipConfiguration answers 204', async () => {
      const res = await h.api('DELETE', SEED_IPC_REF);
      await settle(res);
      expect((await h.api('DELETE', SEED_IPC_REF)).status).toBe(204);
    });
  });
});
