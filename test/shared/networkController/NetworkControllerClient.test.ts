import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { isRemoteServiceError, type RemoteServiceError } from '../../../shared/errors';
import { NetworkControllerClient } from '../../../shared/networkController/NetworkControllerClient';
import { startTestNetworkController } from '../../support/ncEmulator';
import { rejectionOf } from '../../support/rejection';
import { testCa } from '../../support/tls';

type Emulator = Awaited<ReturnType<typeof startTestNetworkController>>;

const NIC = 'ContainerHostVM1_Net0';

async function caught(promise: Promise<unknown>): Promise<RemoteServiceError> {
  const error = await rejectionOf(promise);
  if (isRemoteServiceError(error)) return error;
  throw error;
}

describe('NetworkControllerClient against the emulator', () => {
  let nc: Emulator;
  let client: NetworkControllerClient;
  const retries: string[] = [];

  beforeAll(async () => {
    nc = await startTestNetworkController();
  });
  afterAll(() => nc.close());
  beforeEach(async () => {
    await nc.admin('POST', '/_emulator/reset');
    await nc.admin('PUT', '/_emulator/settings', { provisioningDelayInMs: 50 });
    retries.length = 0;
    client = new NetworkControllerClient(nc.baseUrl, {
      tls: { caCertPem: nc.ca.caCertPem },
      retryDelayInMs: 10,
      maxRetryDelayInMs: 2_000,
      onRetry: (r) => retries.push(r.reason),
    });
  });

  it('reads the seed NIC, subnet and ACL with their weak etags', async () => {
    const nic = await client.getNetworkInterface(NIC);
    expect(nic.etag).toMatch(/^W\/"/);
    expect(nic.value.properties.ipConfigurations[0]?.properties.privateIPAddress).toBe('192.168.1.9');
    const subnet = await client.getVirtualSubnet('VNet1', 'Subnet1');
    expect(subnet.value.properties.addressPrefix).toBe('192.168.1.0/24');
    const acl = await client.getAccessControlList('AllowAll');
    expect(acl.value.resourceRef).toBe('/accessControlLists/AllowAll');
    const subnets = await client.listVirtualSubnets('VNet1');
    expect(subnets.map((s) => [s.resourceId, s.properties.ipConfigurations?.length])).toEqual([
      ['Subnet1', 2],
      ['Subnet2', 1],
    ]);
  });

  it('keeps the controller code and message of a 404', async () => {
    const error = await caught(client.getNetworkInterface('nope'));
    expect(error).toMatchObject({ source: 'NetworkController', statusCode: 404, code: 'NotFound', retryable: false });
    expect(error.requestId).toBeTruthy();
  });

  it('answers a stale If-Match with a non-retried 412', async () => {
    const { value } = await client.getNetworkInterface(NIC);
    const error = await caught(client.putNetworkInterface(NIC, value, { ifMatch: 'W/"stale"' }));
    expect(error).toMatchObject({ statusCode: 412, retryable: false });
    expect(retries).toEqual([]);
  });

  it('follows Azure-AsyncOperation on a PUT to Succeeded', async () => {
    const { value, etag } = await client.getNetworkInterface(NIC);
    const put = await client.putNetworkInterface(NIC, value, {
      ifMatch: etag,
      clientRequestId: 'b1b6c3a8-0000-4000-8000-000000000001',
    });
    expect(put.statusCode).toBe(200);
    expect(put.operationUrl).toContain('/networking/v1/operations/');
    let status = await client.getOperation(put.operationUrl ?? '');
    for (let i = 0; i < 100 && status.status === 'InProgress'; i++) {
      await new Promise((r) => setTimeout(r, 20));
      status = await client.getOperation(put.operationUrl ?? '');
    }
    expect(status.status).toBe('Succeeded');
  });

  it('reports 409 AnotherOperationInProgress without retrying it', async () => {
    await nc.admin('PUT', '/_emulator/settings', { provisioningDelayInMs: 2_000 });
    const { value, etag } = await client.getNetworkInterface(NIC);
    await client.putNetworkInterface(NIC, value, { ifMatch: etag });
    const again = await client.getNetworkInterface(NIC);
    const error = await caught(client.putNetworkInterface(NIC, again.value, { ifMatch: again.etag }));
    expect(error).toMatchObject({ statusCode: 409, code: 'AnotherOperationInProgress', retryable: false });
  });

  it('retries 5xx and 429 with Retry-After, then succeeds', async () => {
    await nc.admin('POST', '/_emulator/faults', {
      method: 'GET',
      path: '^/networkInterfaces/[^/]+$',
      times: 1,
      status: 500,
    });
    await nc.admin('POST', '/_emulator/faults', {
      method: 'GET',
      path: '^/networkInterfaces/[^/]+$',
      times: 1,
      status: 429,
      retryAfterInSeconds: 1,
    });
    const started = Date.now();
    await client.getNetworkInterface(NIC);
    expect(retries).toEqual(['500 InternalServerError', '429 TooManyRequests']);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it('gives up after maxRetries on a controller that keeps failing', async () => {
    await nc.admin('POST', '/_emulator/faults', { method: 'GET', path: '^/networkInterfaces/[^/]+$', status: 503 });
    const error = await caught(client.getNetworkInterface(NIC));
    expect(error).toMatchObject({ statusCode: 503, retryable: true });
    expect(retries).toHaveLength(3);
  });

  it('does not retry a validation failure reported as 500', async () => {
    await nc.admin('POST', '/_emulator/faults', {
      method: 'PUT',
      path: '^/networkInterfaces/',
      status: 500,
      error: { code: 'PrivateIPAddressInUse', message: 'in use' },
    });
    const { value } = await client.getNetworkInterface(NIC);
    const error = await caught(client.putNetworkInterface(NIC, value));
    expect(error).toMatchObject({
      statusCode: 500,
      code: 'PrivateIPAddressInUse',
      message: 'in use',
      retryable: false,
    });
    expect(retries).toEqual([]);
  });

  it('reports an operation that ends Failed with the controller error', async () => {
    await nc.admin('POST', '/_emulator/faults', {
      method: 'PUT',
      path: '^/networkInterfaces/',
      operation: {
        status: 'Failed',
        error: { code: 'HostNotConnectedToController', message: 'host HV01 unreachable' },
      },
    });
    const { value, etag } = await client.getNetworkInterface(NIC);
    const put = await client.putNetworkInterface(NIC, value, { ifMatch: etag });
    let status = await client.getOperation(put.operationUrl ?? '');
    for (let i = 0; i < 100 && status.status === 'InProgress'; i++) {
      await new Promise((r) => setTimeout(r, 20));
      status = await client.getOperation(put.operationUrl ?? '');
    }
    expect(status).toMatchObject({ status: 'Failed', error: { code: 'HostNotConnectedToController' } });
  });

  it('refuses to follow an operation URL on another host', async () => {
    const error = await caught(client.getOperation('https://evil.example/networking/v1/operations/1'));
    expect(error.code).toBe('UnexpectedResponse');
  });

  it('does not trust a server certificate from an unknown CA', async () => {
    const untrusting = new NetworkControllerClient(nc.baseUrl, { maxRetries: 0 });
    const error = await caught(untrusting.getNetworkInterface(NIC));
    expect(error.retryable).toBe(false);
    expect(error.statusCode).toBeUndefined();
  });
});

describe('NetworkControllerClient in x509 mode', () => {
  let nc: Emulator;
  let allowed: ReturnType<Emulator['ca']['issueClientCertificate']>;

  beforeAll(async () => {
    allowed = testCa().issueClientCertificate('sdn-attach-app');
    nc = await startTestNetworkController({ clientCertificateThumbprints: [allowed.thumbprint] });
  });
  afterAll(() => nc.close());

  it('is let in with the listed certificate, as PEM pair or as PFX', async () => {
    const pem = new NetworkControllerClient(nc.baseUrl, {
      tls: { caCertPem: nc.ca.caCertPem, certPem: allowed.certPem, keyPem: allowed.keyPem },
    });
    expect((await pem.getNetworkInterface(NIC)).value.resourceId).toBe(NIC);
    const pfx = new NetworkControllerClient(nc.baseUrl, {
      tls: { caCertPem: nc.ca.caCertPem, pfxBase64: allowed.pfxBase64('s3cret'), pfxPassphrase: 's3cret' },
    });
    expect((await pfx.getNetworkInterface(NIC)).value.resourceId).toBe(NIC);
  });

  it('is refused without a certificate or with one that is not listed', async () => {
    const none = new NetworkControllerClient(nc.baseUrl, { tls: { caCertPem: nc.ca.caCertPem }, maxRetries: 0 });
    expect(await caught(none.getNetworkInterface(NIC))).toMatchObject({ statusCode: 403, retryable: false });
    const other = nc.ca.issueClientCertificate('someone-else');
    const wrong = new NetworkControllerClient(nc.baseUrl, {
      tls: { caCertPem: nc.ca.caCertPem, certPem: other.certPem, keyPem: other.keyPem },
      maxRetries: 0,
    });
    expect(await caught(wrong.getNetworkInterface(NIC))).toMatchObject({ statusCode: 403, retryable: false });
  });
});
