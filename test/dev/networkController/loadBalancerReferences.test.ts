import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import {
  type AclBody,
  type ErrorBody,
  type Harness,
  type HttpResult,
  type IpConfigurationBody,
  type NicBody,
  type OperationBody,
  type RequestOptions,
  SEED_NIC,
  startHarness,
  staticIpConfiguration,
  type SubnetBody,
} from './harness';

const NIC_PATH = `/networkInterfaces/${SEED_NIC}`;
const SEED_IPC = 'ContainerHostVM1_IP0';
const SEED_IPC_REF = `${NIC_PATH}/ipConfigurations/${SEED_IPC}`;
const POOL = '/loadBalancers/lb1/backendAddressPools/pool1';
const NAT_RULE = '/loadBalancers/lb1/inboundNatRules/rdp';
const REFERENCES_PATH = `/_emulator${SEED_IPC_REF}/loadBalancerReferences`;
const NEIGHBOUR_PATH = '/networkInterfaces/ContainerHostVM2_Net0';
const IN_USE_MESSAGE =
  `The ipConfiguration '${SEED_IPC_REF}' cannot be removed because it is referenced by load balancer ` +
  `backend address pool '${POOL}'. Remove it from the load balancer first.`;

describe('NC emulator: load balancer references on ipConfigurations', () => {
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

  function setReferences(body: unknown, path = REFERENCES_PATH): Promise<HttpResult<IpConfigurationBody>> {
    return h.request<IpConfigurationBody>('PUT', path, { body });
  }

  describe('PUT /_emulator/networkInterfaces/{nic}/ipConfigurations/{ipc}/loadBalancerReferences', () => {
    it('sets both arrays on the ipConfiguration in wire shape, leaving the etag and provisioningState alone', async () => {
      const before = await getNic();
      const res = await setReferences({ backendAddressPools: [POOL], inboundNatRules: [NAT_RULE] });
      expect(res.status).toBe(200);
      expect(res.body.resourceRef).toBe(SEED_IPC_REF);
      expect(res.body.properties).toMatchObject({
        loadBalancerBackendAddressPools: [{ resourceRef: POOL }],
        loadBalancerInboundNatRules: [{ resourceRef: NAT_RULE }],
      });

      const after = await getNic();
      expect(after.etag).toBe(before.etag);
      expect(after.properties.provisioningState).toBe('Succeeded');
      expect(after.properties.ipConfigurations[0]?.properties).toEqual({
        ...before.properties.ipConfigurations[0]?.properties,
        loadBalancerBackendAddressPools: [{ resourceRef: POOL }],
        loadBalancerInboundNatRules: [{ resourceRef: NAT_RULE }],
      });
      const child = await h.api<IpConfigurationBody>('GET', SEED_IPC_REF);
      expect(child.body.properties.loadBalancerBackendAddressPools).toEqual([{ resourceRef: POOL }]);
    });

    it('replaces: an omitted array becomes empty, and {} clears both', async () => {
      await setReferences({ backendAddressPools: [POOL], inboundNatRules: [NAT_RULE] });
      const res = await setReferences({ inboundNatRules: [NAT_RULE] });
      expect(res.body.properties.loadBalancerBackendAddressPools).toEqual([]);
      expect(res.body.properties.loadBalancerInboundNatRules).toEqual([{ resourceRef: NAT_RULE }]);
      const cleared = await setReferences({});
      expect(cleared.status).toBe(200);
      expect(cleared.body.properties).toMatchObject({
        loadBalancerBackendAddressPools: [],
        loadBalancerInboundNatRules: [],
      });
    });

    it('matches route segments, NIC and ipConfiguration ids case-insensitively', async () => {
      const path = `/_emulator/NETWORKINTERFACES/${SEED_NIC.toLowerCase()}/IpConfigurations/${SEED_IPC.toUpperCase()}/LoadBalancerReferences`;
      const res = await setReferences({ backendAddressPools: [POOL.toUpperCase()] }, path);
      expect(res.status).toBe(200);
      expect(res.body.resourceRef).toBe(SEED_IPC_REF);
      expect(res.body.properties.loadBalancerBackendAddressPools).toEqual([{ resourceRef: POOL.toUpperCase() }]);
    });

    it('is cleared by the emulator reset', async () => {
      await setReferences({ backendAddressPools: [POOL], inboundNatRules: [NAT_RULE] });
      expect((await h.admin('POST', '/reset')).status).toBe(204);
      const ipc = (await getNic()).properties.ipConfigurations[0];
      expect(ipc?.properties.loadBalancerBackendAddressPools ?? []).toEqual([]);
      expect(ipc?.properties.loadBalancerInboundNatRules ?? []).toEqual([]);
    });

    it('answers 404 NotFound for an unknown NIC or ipConfiguration, whatever the body', async () => {
      for (const [path, missing] of [
        ['/_emulator/networkInterfaces/Nope/ipConfigurations/x/loadBalancerReferences', '/networkInterfaces/Nope'],
        [`/_emulator${NIC_PATH}/ipConfigurations/Nope/loadBalancerReferences`, `${NIC_PATH}/ipConfigurations/Nope`],
      ] as const) {
        for (const options of [{ body: { backendAddressPools: [POOL] } }, { rawBody: 'not json' }]) {
          const res = await h.request('PUT', path, options);
          expect(res.status, path).toBe(404);
          expect(res.body).toEqual({
            error: { code: 'NotFound', message: `The resource '${missing}' was not found.` },
          });
        }
      }
    });

    it('answers 404 to other paths under /_emulator/networkInterfaces and 405 to other methods', async () => {
      for (const path of [
        '/_emulator/networkInterfaces',
        `/_emulator${NIC_PATH}`,
        `/_emulator${NIC_PATH}/ipConfigurations`,
        `/_emulator${SEED_IPC_REF}`,
        `/_emulator${SEED_IPC_REF}/somethingElse`,
        `/_emulator${NIC_PATH}/subnets/${SEED_IPC}/loadBalancerReferences`,
        `${REFERENCES_PATH}/extra`,
      ]) {
        const res = await h.request('PUT', path, { body: { backendAddressPools: [POOL] } });
        expect(res.status, path).toBe(404);
        expect(res.body.error.code).toBe('NotFound');
      }
      for (const method of ['GET', 'POST', 'DELETE', 'PATCH']) {
        const res = await h.request(method, REFERENCES_PATH);
        expect(res.status, method).toBe(405);
        expect(res.body.error.code).toBe('MethodNotAllowed');
      }
    });

    describe('hostile input: 400 and nothing changes', () => {
      const cases: [string, RequestOptions, string][] = [
        ['a body that does not parse', { rawBody: '{"backendAddressPools": [' }, 'InvalidJson'],
        ['an empty body', { rawBody: '' }, 'InvalidJson'],
        ['null', { body: null }, 'InvalidRequestFormat'],
        ['an array', { body: [POOL] }, 'InvalidRequestFormat'],
        ['a string for the array', { body: { backendAddressPools: POOL } }, 'InvalidRequestFormat'],
        ['a number in the array', { body: { backendAddressPools: [42] } }, 'InvalidRequestFormat'],
        ['null in the array', { body: { inboundNatRules: [null] } }, 'InvalidRequestFormat'],
        ['an object in the array', { body: { backendAddressPools: [{ resourceRef: POOL }] } }, 'InvalidRequestFormat'],
        ['an unknown property', { body: { backendAddressPool: [POOL] } }, 'InvalidRequestFormat'],
        ['a NAT rule among the pools', { body: { backendAddressPools: [NAT_RULE] } }, 'InvalidRequestFormat'],
        ['a pool among the NAT rules', { body: { inboundNatRules: [POOL] } }, 'InvalidRequestFormat'],
        ['a ref without the leading slash', { body: { backendAddressPools: [POOL.slice(1)] } }, 'InvalidRequestFormat'],
        [
          'a ref to another collection',
          { body: { backendAddressPools: ['/accessControlLists/AllowAll'] } },
          'InvalidRequestFormat',
        ],
        ['an empty string', { body: { backendAddressPools: [''] } }, 'InvalidRequestFormat'],
        ['a ref with a query', { body: { backendAddressPools: [`${POOL}?x=1`] } }, 'InvalidRequestFormat'],
        ['a ref with an extra segment', { body: { backendAddressPools: [`${POOL}/more`] } }, 'InvalidRequestFormat'],
        [
          'a ref with a space',
          { body: { backendAddressPools: ['/loadBalancers/lb 1/backendAddressPools/p'] } },
          'InvalidRequestFormat',
        ],
        ['a duplicate ref', { body: { backendAddressPools: [POOL, POOL.toUpperCase()] } }, 'InvalidRequestFormat'],
        [
          'too many refs',
          { body: { inboundNatRules: Array.from({ length: 1001 }, (_, i) => `${NAT_RULE}${i}`) } },
          'InvalidRequestFormat',
        ],
      ];

      it.each(cases)('%s', async (_name, options, code) => {
        await setReferences({ backendAddressPools: [POOL] });
        const before = await getNic();
        const res = await h.request('PUT', REFERENCES_PATH, options);
        expect(res.status).toBe(400);
        expect(res.body.error.code).toBe(code);
        expect(res.body.error.message).not.toBe('');
        expect(await getNic()).toEqual(before);
      });
    });
  });

  async function putNic(body: unknown, path = NIC_PATH): Promise<HttpResult<NicBody & ErrorBody>> {
    return h.api<NicBody & ErrorBody>('PUT', path, { body });
  }

  async function settle(res: HttpResult<unknown>): Promise<OperationBody> {
    const url = res.headers['azure-asyncoperation'];
    expect(url).toBeDefined();
    return h.waitForOperation(url ?? '');
  }

  function withIpConfigurations(nic: NicBody, ipConfigurations: unknown[]): NicBody {
    return {
      ...nic,
      properties: {
        ...nic.properties,
        ipConfigurations: ipConfigurations as NicBody['properties']['ipConfigurations'],
      },
    };
  }

  /** Everything a refused removal must leave as it was: the NIC, its etag, the back-references, the address index. */
  async function snapshot() {
    const subnet = await h.api<SubnetBody>('GET', '/virtualNetworks/VNet1/subnets/Subnet1');
    const acl = await h.api<AclBody>('GET', '/accessControlLists/AllowAll');
    return {
      nic: await getNic(),
      subnetRefs: subnet.body.properties.ipConfigurations,
      aclRefs: acl.body.properties.ipConfigurations,
    };
  }

  async function expectUnchanged(before: Awaited<ReturnType<typeof snapshot>>): Promise<void> {
    expect(await snapshot()).toEqual(before);
    expect(before.subnetRefs).toContainEqual({ resourceRef: SEED_IPC_REF });
    // The address is still held on the network.
    const neighbour = await getNic(NEIGHBOUR_PATH);
    const taker = await putNic(
      withIpConfigurations(neighbour, [
        ...neighbour.properties.ipConfigurations,
        staticIpConfiguration('Taken', '192.168.1.9'),
      ]),
      NEIGHBOUR_PATH,
    );
    expect(taker.status).toBe(400);
    expect(taker.body.error.code).toBe('PrivateIPAddressInUse');
    // No operation was started: the NIC takes a write at once.
    const write = await putNic(await getNic());
    expect(write.status).toBe(200);
    await settle(write);
  }

  function expectInUse(res: HttpResult, message = IN_USE_MESSAGE): void {
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('ResourceInUse');
    expect(res.body.error.message).toBe(message);
    expect(res.headers['azure-asyncoperation']).toBeUndefined();
    expect(res.headers.location).toBeUndefined();
  }

  describe('an ipConfiguration a load balancer references cannot be removed', () => {
    it('by a NIC PUT that leaves it out: 409 ResourceInUse, and nothing changes', async () => {
      await setReferences({ backendAddressPools: [POOL] });
      const before = await snapshot();
      const res = await putNic(withIpConfigurations(before.nic, [staticIpConfiguration('Other', '192.168.1.77')]));
      expectInUse(res);
      expect(res.body.error.target).toBe('properties.ipConfigurations');
      await expectUnchanged(before);
    });

    it('by a NIC PUT with an empty ipConfigurations array or none at all', async () => {
      await setReferences({ backendAddressPools: [POOL] });
      const before = await snapshot();
      expectInUse(await putNic(withIpConfigurations(before.nic, [])));
      const { ipConfigurations: _omitted, ...properties } = before.nic.properties;
      expectInUse(await putNic({ ...before.nic, properties }));
      await expectUnchanged(before);
    });

    it('by DELETE of the child: 409 ResourceInUse, and nothing changes', async () => {
      await setReferences({ backendAddressPools: [POOL] });
      const before = await snapshot();
      expectInUse(await h.api('DELETE', SEED_IPC_REF));
      expectInUse(await h.api('DELETE', SEED_IPC_REF, { headers: { 'If-Match': before.nic.etag } }));
      expect(before.nic.properties.ipConfigurations[0]?.properties.provisioningState).toBe('Succeeded');
      await expectUnchanged(before);
    });

    it('by DELETE of the NIC, which would remove it too', async () => {
      await setReferences({ backendAddressPools: [POOL] });
      const before = await snapshot();
      expectInUse(await h.api('DELETE', NIC_PATH));
      await expectUnchanged(before);
    });

    it('names inbound NAT rules too', async () => {
      await setReferences({ inboundNatRules: [NAT_RULE] });
      expectInUse(
        await h.api('DELETE', SEED_IPC_REF),
        `The ipConfiguration '${SEED_IPC_REF}' cannot be removed because it is referenced by load balancer ` +
          `inbound NAT rule '${NAT_RULE}'. Remove it from the load balancer first.`,
      );
      await setReferences({ backendAddressPools: [POOL], inboundNatRules: [NAT_RULE] });
      const res = await h.api('DELETE', SEED_IPC_REF);
      expect(res.body.error.message).toContain(`backend address pool '${POOL}', inbound NAT rule '${NAT_RULE}'`);
    });

    it('checks preconditions first: a stale If-Match is still a 412', async () => {
      await setReferences({ backendAddressPools: [POOL] });
      const stale = { 'If-Match': 'W/"00000000-0000-0000-0000-000000000000"' };
      expect((await h.api('DELETE', SEED_IPC_REF, { headers: stale })).status).toBe(412);
      const nic = await getNic();
      const put = await h.api('PUT', NIC_PATH, { body: withIpConfigurations(nic, []), headers: stale });
      expect(put.status).toBe(412);
    });

    it('a refused PUT does not cancel the operation in progress, even with cancelInProgressOnPut', async () => {
      await h.request('PUT', '/_emulator/settings', {
        body: { provisioningDelayInMs: 1500, cancelInProgressOnPut: true },
      });
      await setReferences({ backendAddressPools: [POOL] });
      const nic = await getNic();
      const first = await putNic(
        withIpConfigurations(nic, [...nic.properties.ipConfigurations, staticIpConfiguration('a', '192.168.1.101')]),
      );
      expect(first.status).toBe(200);
      expectInUse(await putNic(withIpConfigurations(first.body, [])));
      const operation = await h.api<OperationBody>('GET', `/operations/${first.headers['x-ms-request-id']}`);
      expect(operation.body).toEqual({ status: 'InProgress' });
      expect((await settle(first)).status).toBe('Succeeded');
      expect((await getNic()).properties.ipConfigurations.map((c) => c.resourceId)).toEqual([SEED_IPC, 'a']);
    });

    it('holds for a NIC loaded raw with the references already in it', async () => {
      const loaded = await h.admin('POST', '/resources', {
        resources: [
          {
            resourceRef: '/networkInterfaces/Raw_Net0',
            body: {
              properties: {
                privateMacAllocationMethod: 'Static',
                privateMacAddress: '00155D3802AA',
                ipConfigurations: [
                  {
                    resourceId: 'raw0',
                    properties: {
                      privateIPAddress: '192.168.1.88',
                      privateIPAllocationMethod: 'Static',
                      subnet: { resourceRef: '/virtualNetworks/VNet1/subnets/Subnet1' },
                      loadBalancerInboundNatRules: [{ resourceRef: NAT_RULE }],
                    },
                  },
                ],
              },
            },
          },
        ],
      });
      expect(loaded.status).toBe(200);
      const res = await h.api('DELETE', '/networkInterfaces/Raw_Net0/ipConfigurations/raw0');
      expect(res.status).toBe(409);
      expect(res.body.error.message).toContain(`inbound NAT rule '${NAT_RULE}'`);
    });
  });

  describe('what stays allowed', () => {
    it('a NIC PUT that keeps the referenced ipConfiguration as GET returned it and removes another', async () => {
      const nic = await getNic();
      const added = await putNic(
        withIpConfigurations(nic, [...nic.properties.ipConfigurations, staticIpConfiguration('a', '192.168.1.101')]),
      );
      await settle(added);
      await setReferences({ backendAddressPools: [POOL] });
      const current = await getNic();
      const res = await putNic(withIpConfigurations(current, current.properties.ipConfigurations.slice(0, 1)));
      expect(res.status).toBe(200);
      await settle(res);
      const after = await getNic();
      expect(after.properties.ipConfigurations.map((c) => c.resourceId)).toEqual([SEED_IPC]);
      expect(after.properties.ipConfigurations[0]?.properties.loadBalancerBackendAddressPools).toEqual([
        { resourceRef: POOL },
      ]);
    });

    it('DELETE of an unreferenced sibling', async () => {
      const nic = await getNic();
      await settle(
        await putNic(
          withIpConfigurations(nic, [...nic.properties.ipConfigurations, staticIpConfiguration('a', '192.168.1.101')]),
        ),
      );
      await setReferences({ backendAddressPools: [POOL] });
      const res = await h.api('DELETE', `${NIC_PATH}/ipConfigurations/a`);
      expect(res.status).toBe(202);
      await settle(res);
      expect((await getNic()).properties.ipConfigurations.map((c) => c.resourceId)).toEqual([SEED_IPC]);
    });

    it('removal once the references are cleared, by PUT and by DELETE', async () => {
      await setReferences({ backendAddressPools: [POOL], inboundNatRules: [NAT_RULE] });
      await setReferences({});
      const res = await h.api('DELETE', SEED_IPC_REF);
      expect(res.status).toBe(202);
      await settle(res);
      expect((await getNic()).properties.ipConfigurations).toEqual([]);

      await h.admin('POST', '/reset');
      await setReferences({ backendAddressPools: [POOL] });
      await setReferences({ backendAddressPools: [] });
      const put = await putNic(withIpConfigurations(await getNic(), []));
      expect(put.status).toBe(200);
    });

    it('a NIC PUT that keeps the ipConfiguration but changes its load balancer arrays is not refused by this rule', async () => {
      // Whether a NIC PUT may change these arrays is a separate question; only removal is refused here.
      await setReferences({ backendAddressPools: [POOL] });
      const nic = await getNic();
      const [seed] = nic.properties.ipConfigurations;
      const res = await putNic(
        withIpConfigurations(nic, [
          { ...seed, properties: { ...seed?.properties, loadBalancerBackendAddressPools: [] } },
        ]),
      );
      expect(res.status).toBe(200);
    });
  });
});
