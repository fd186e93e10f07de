import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import type { NetworkInterface } from '../../shared/networkController/resources';
import { seedRequest } from '../support/seed';
import { type Stack, startStack } from '../support/stack';

interface LoggedRequest {
  method: string;
  path: string;
  status: number;
}

describe('attach through Azurite, the runner and the Network Controller emulator', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(() => stack.stop());
  beforeEach(async () => {
    await stack.nc.admin('POST', '/_emulator/reset');
    await stack.nc.admin('DELETE', '/_emulator/requests');
  });

  async function nicPuts(): Promise<LoggedRequest[]> {
    const log = (await stack.nc.admin('GET', '/_emulator/requests')) as LoggedRequest[];
    return log.filter((r) => r.method === 'PUT' && /networkInterfaces/i.test(r.path));
  }

  it('runs the seed example to Completed with the ten IP configurations on the NIC', async () => {
    const submitted = await stack.api('POST', '/tenants/contoso/attachments', {
      ...seedRequest(),
      attachmentId: 'seed-e2e',
    });
    expect(submitted.status).toBe(202);
    expect(submitted.headers.get('location')).toBe(`${stack.apiUrl}/tenants/contoso/attachments/seed-e2e`);
    expect(submitted.headers.get('retry-after')).toBeTruthy();

    const status = await stack.waitForEnd('contoso', 'seed-e2e');
    expect(status).toMatchObject({
      runtimeStatus: 'Completed',
      steps: [
        { name: 'addIpConfigurations', status: 'Succeeded', attempts: 1 },
        { name: 'enableNetworkProxy', status: 'Succeeded' },
        { name: 'installPrivateCloudPlugin', status: 'Succeeded' },
        { name: 'createContainerNetwork', status: 'Succeeded' },
      ],
      result: { subnet: { addressPrefix: '192.168.1.0/24', gateway: '192.168.1.1' } },
    });
    const history = (status.history as { type: string; step?: string }[]).filter(
      (e) => e.step === undefined || e.step === 'addIpConfigurations',
    );
    expect(history.map((e) => e.type)).toEqual(['Submitted', 'StepStarted', 'StepSucceeded', 'Completed']);

    const nic = (await stack.nc.admin(
      'GET',
      '/networking/v1/networkInterfaces/ContainerHostVM1_Net0',
    )) as NetworkInterface;
    const configs = nic.properties.ipConfigurations.map((c) => ({
      id: c.resourceId,
      ip: c.properties.privateIPAddress,
      method: c.properties.privateIPAllocationMethod,
      subnet: c.properties.subnet?.resourceRef,
      acl: c.properties.accessControlList?.resourceRef,
    }));
    const expected = [{ id: 'ContainerHostVM1_IP0', ip: '192.168.1.9' }];
    for (let host = 101; host <= 110; host++) expected.push({ id: `IP_192_168_1_${host}`, ip: `192.168.1.${host}` });
    expect(configs).toEqual(
      expected.map((e) => ({
        ...e,
        method: 'Static',
        subnet: '/virtualNetworks/VNet1/subnets/Subnet1',
        acl: '/accessControlLists/AllowAll',
      })),
    );
    expect(nic.properties.provisioningState).toBe('Succeeded');
    expect(await nicPuts()).toHaveLength(1);
    // Step 1 read VNet1 through its subnets' back-references: never the controller's list of every NIC, never
    // fabrikam's NIC on VNet2.
    const log = (await stack.nc.admin('GET', '/_emulator/requests')) as LoggedRequest[];
    const paths = log.map((r) => r.path);
    expect(paths.filter((p) => /\/networkInterfaces\/?$/i.test(p))).toEqual([]);
    expect(paths.filter((p) => /FabrikamVM1_Net0/i.test(p))).toEqual([]);
    expect(paths.filter((p) => /\/virtualNetworks\/VNet1\/subnets$/i.test(p)).length).toBeGreaterThan(0);
  });

  it('returns the same attachment for the same request again and never runs it twice', async () => {
    const body = { ...seedRequest(), attachmentId: 'twice' };
    await stack.api('POST', '/tenants/contoso/attachments', body);
    await stack.waitForEnd('contoso', 'twice');
    const again = await stack.api('POST', '/tenants/contoso/attachments', body);
    expect(again.status).toBe(202);
    expect(again.body).toMatchObject({ id: 'twice', created: false, runtimeStatus: 'Completed' });
    await new Promise((r) => setTimeout(r, 500));
    expect(await nicPuts()).toHaveLength(1);
  });

  it('rejects invalid bodies with 400 and leaves no row and no message', async () => {
    for (const body of [
      '{not json',
      { ...seedRequest(), attachmentId: 'bad-1', containerIps: { count: 300 } },
      { ...seedRequest(), attachmentId: 'bad-2', nic: {} },
    ]) {
      const response = await stack.api('POST', '/tenants/badinput/attachments', body);
      expect(response.status).toBe(400);
      expect((response.body.error as { details: unknown[] }).details.length).toBeGreaterThan(0);
    }
    const listed = await stack.api('GET', '/tenants/badinput/attachments');
    expect(listed.body.value).toEqual([]);
    expect(await stack.peekQueue('step-add-ip-configurations')).toEqual([]);
  });

  it('ends Failed with the controller’s own code when the controller refuses for good', async () => {
    await stack.nc.admin('POST', '/_emulator/faults', {
      method: 'PUT',
      path: '^/networkInterfaces/',
      status: 500,
      error: { code: 'InvalidResourceReference', message: 'The ACL reference is not valid.' },
    });
    await stack.api('POST', '/tenants/contoso/attachments', { ...seedRequest(), attachmentId: 'refused' });
    const status = await stack.waitForEnd('contoso', 'refused');
    expect(status).toMatchObject({
      runtimeStatus: 'Failed',
      currentStep: 'addIpConfigurations',
      lastError: {
        source: 'NetworkController',
        code: 'InvalidResourceReference',
        message: 'The ACL reference is not valid.',
        statusCode: 500,
      },
      steps: [{ status: 'Failed', attempts: 1 }, { status: 'Pending' }, { status: 'Pending' }, { status: 'Pending' }],
    });
  });

  it('fails an address held by another NIC before any write, with PrivateIPAddressInUse', async () => {
    await stack.api('POST', '/tenants/contoso/attachments', {
      ...seedRequest(),
      attachmentId: 'taken',
      containerIps: { addresses: ['192.168.1.150', '192.168.1.10'] },
    });
    const status = await stack.waitForEnd('contoso', 'taken');
    expect(status).toMatchObject({ runtimeStatus: 'Failed', lastError: { code: 'PrivateIPAddressInUse' } });
    expect(String((status.lastError as { message: string }).message)).toContain('ContainerHostVM2_Net0');
    expect(await nicPuts()).toHaveLength(0);
  });

  it('fails a gateway outside the subnet at step 1, before any change', async () => {
    await stack.api('POST', '/tenants/contoso/attachments', {
      ...seedRequest(),
      attachmentId: 'bad-gateway',
      network: { name: 'MyContainerOverlayNetwork', driver: 'l2bridge', gateway: '192.168.2.1' },
    });
    const status = await stack.waitForEnd('contoso', 'bad-gateway');
    expect(status).toMatchObject({
      runtimeStatus: 'Failed',
      currentStep: 'addIpConfigurations',
      lastError: { code: 'InvalidGateway', details: [{ target: 'network.gateway' }] },
    });
    expect(await nicPuts()).toHaveLength(0);
  });

  it('retries a controller that fails for a while, and counts the attempts', async () => {
    await stack.nc.admin('POST', '/_emulator/faults', {
      method: 'GET',
      path: '^/networkInterfaces/[^/]+$',
      times: 5,
      status: 503,
    });
    await stack.api('POST', '/tenants/contoso/attachments', { ...seedRequest(), attachmentId: 'flaky' });
    const status = await stack.waitForEnd('contoso', 'flaky');
    expect(status).toMatchObject({ runtimeStatus: 'Completed' });
    expect((status.steps as { attempts: number }[])[0]?.attempts).toBe(2);
  });

  it('accepts attach requests from the entry queue, and moves a broken one to its poison queue', async () => {
    await stack.sendToQueue('attach-requests', {
      schemaVersion: 1,
      tenantId: 'fabrikam',
      ...seedRequest(),
      attachmentId: 'from-queue',
      containerIps: { count: 3 },
    });
    const status = await stack.waitForEnd('fabrikam', 'from-queue');
    expect(status).toMatchObject({ runtimeStatus: 'Completed' });
    expect(
      (status.result as { ipConfigurations: { privateIPAddress: string }[] }).ipConfigurations.map(
        (c) => c.privateIPAddress,
      ),
    ).toEqual(['192.168.1.2', '192.168.1.3', '192.168.1.4']);

    await stack.sendToQueue('attach-requests', { tenantId: '../etc', virtualNetworkId: 'VNet1' });
    const deadline = Date.now() + 10_000;
    let poisoned: string[] = [];
    while (Date.now() < deadline && poisoned.length === 0) {
      poisoned = await stack.peekQueue('attach-requests-poison');
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(poisoned.map((m) => JSON.parse(m) as unknown)).toEqual([{ tenantId: '../etc', virtualNetworkId: 'VNet1' }]);
  });
});
