import { randomBytes } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadConfig } from '../../shared/config';
import { seedRequest } from '../support/seed';
import { type Stack, startStack } from '../support/stack';
import { testCa } from '../support/tls';
import { leaks, pemBodyFragments, slices } from './support/secrets';

const ca = testCa();
const pemClient = ca.issueClientCertificate('sdn-attach-pem');
const pfxClient = ca.issueClientCertificate('sdn-attach-pfx');
const unlistedClient = ca.issueClientCertificate('sdn-attach-unlisted');
const PASSPHRASE = `pfx-pass-${randomBytes(12).toString('hex')}`;
const WRONG_PASSPHRASE = `wrong-pass-${randomBytes(12).toString('hex')}`;
const PFX_BASE64 = pfxClient.pfxBase64(PASSPHRASE);
// Guest accounts of a VM reached through its Hyper-V host (PowerShell Direct), read from the Key Vault emulator.
const GUEST_PASSWORD = `guest-pass-${randomBytes(12).toString('hex')}`;
const STALE_GUEST_PASSWORD = `stale-pass-${randomBytes(12).toString('hex')}`;
const base64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

const SECRETS: Record<string, string[]> = {
  'PEM client key': pemBodyFragments(pemClient.keyPem),
  'unlisted client key': pemBodyFragments(unlistedClient.keyPem),
  'PFX client key': pemBodyFragments(pfxClient.keyPem),
  'PFX passphrase': [PASSPHRASE],
  'wrong PFX passphrase': [WRONG_PASSPHRASE],
  'PFX base64': slices(PFX_BASE64, 24),
  'private key marker': ['PRIVATE KEY'],
  'guest password': [GUEST_PASSWORD, base64(GUEST_PASSWORD)],
  'stale guest password': [STALE_GUEST_PASSWORD, base64(STALE_GUEST_PASSWORD)],
};

interface Run {
  tenant: string;
  id: string;
  controller: string;
  fault?: Record<string, unknown>;
  containerIps?: unknown;
  expected: 'Completed' | 'Failed';
  code?: string;
}

const RUNS: Run[] = [
  { tenant: 'x509', id: 'pem-ok', controller: 'default', expected: 'Completed' },
  { tenant: 'x509', id: 'pfx-ok', controller: 'lab2', expected: 'Completed' },
  {
    tenant: 'x509',
    id: 'pem-put-refused',
    controller: 'default',
    fault: {
      method: 'PUT',
      path: '^/networkInterfaces/',
      status: 500,
      error: { code: 'InvalidResourceReference', message: 'The ACL reference is not valid.' },
    },
    expected: 'Failed',
    code: 'InvalidResourceReference',
  },
  {
    tenant: 'x509',
    id: 'pfx-op-failed',
    controller: 'lab2',
    fault: {
      method: 'PUT',
      path: '^/networkInterfaces/',
      operation: { status: 'Failed', error: { code: 'InternalServerError', message: 'Host unreachable.' } },
    },
    expected: 'Failed',
    code: 'InternalServerError',
  },
  {
    tenant: 'x509',
    id: 'pem-host-failure',
    controller: 'default',
    fault: {
      method: 'PUT',
      path: '^/networkInterfaces/',
      configurationState: {
        status: 'Failure',
        detailedInfo: [{ source: 'VirtualSwitch', message: 'vSwitch port blocked.', code: 'PortBlocked' }],
      },
    },
    expected: 'Failed',
    code: 'PortBlocked',
  },
  {
    tenant: 'x509',
    id: 'pem-503',
    controller: 'default',
    fault: { method: 'GET', path: '^/virtualNetworks/', status: 503, times: 50 },
    expected: 'Failed',
    code: 'ServiceUnavailable',
  },
  {
    tenant: 'x509',
    id: 'pfx-outside',
    controller: 'lab2',
    containerIps: { addresses: ['10.1.2.3'] },
    expected: 'Failed',
    code: 'PrivateIPAddressNotInSubnet',
  },
  { tenant: 'x509', id: 'unlisted-cert', controller: 'unlisted', expected: 'Failed', code: 'Forbidden' },
];

describe('secrets stay secret: NC x509 credentials never reach logs, status, lists or rows', () => {
  let stack: Stack;
  const documents: string[] = [];

  beforeAll(async () => {
    stack = await startStack({
      waitForEndTimeoutInMs: 40_000,
      clientCertificateThumbprints: [pemClient.thumbprint, pfxClient.thumbprint],
      env: (nc) => ({
        NC_DEFAULT_AUTH_MODE: 'x509',
        NC_DEFAULT_CLIENT_CERT_PEM: pemClient.certPem,
        NC_DEFAULT_CLIENT_KEY_PEM: pemClient.keyPem,
        NC_LAB2_URL: nc.baseUrl,
        NC_LAB2_CA_PEM: nc.caCertPem,
        NC_LAB2_AUTH_MODE: 'x509',
        NC_LAB2_CLIENT_PFX_BASE64: PFX_BASE64,
        NC_LAB2_CLIENT_PFX_PASSPHRASE: PASSPHRASE,
        NC_UNLISTED_URL: nc.baseUrl,
        NC_UNLISTED_CA_PEM: nc.caCertPem,
        NC_UNLISTED_AUTH_MODE: 'x509',
        NC_UNLISTED_CLIENT_CERT_PEM: unlistedClient.certPem,
        NC_UNLISTED_CLIENT_KEY_PEM: unlistedClient.keyPem,
        // Two deliveries: a retryable failure is thrown once (the runner logs it), then recorded as Failed.
        AzureFunctionsJobHost__extensions__queues__maxDequeueCount: '2',
        NETWORK_CONTROLLER_MAX_RETRIES: '1',
        NETWORK_READ_MAX_AGE_MS: '0',
      }),
    });
  });
  afterAll(() => stack.stop());

  it('the secrets under test are real, distinctive strings', () => {
    expect(SECRETS['PEM client key']?.length).toBeGreaterThan(40);
    expect(SECRETS['PFX base64']?.length).toBeGreaterThan(40);
    expect(pemClient.keyPem).toContain('PRIVATE KEY');
    // The search finds a fragment wherever it sits, so an empty result means something.
    const planted = `prefix ${SECRETS['PFX base64']?.[3] ?? ''} suffix`;
    expect(leaks(planted, SECRETS)).toHaveLength(1);
  });

  it('runs attachments through x509 controllers to success and to failure', async () => {
    for (const run of RUNS) {
      await stack.nc.admin('DELETE', '/_emulator/faults');
      if (run.fault) await stack.nc.admin('POST', '/_emulator/faults', run.fault);
      const submitted = await stack.api('POST', `/tenants/${run.tenant}/attachments`, {
        ...seedRequest(),
        attachmentId: run.id,
        networkController: run.controller,
        containerIps: run.containerIps ?? { count: 1 },
      });
      expect(submitted.status, submitted.text).toBe(202);
      const status = await stack.waitForEnd(run.tenant, run.id, 60_000);
      expect(status.runtimeStatus, `${run.id}: ${JSON.stringify(status.lastError)}`).toBe(run.expected);
      if (run.code) expect((status.lastError as { code: string }).code).toBe(run.code);
    }
    await stack.nc.admin('DELETE', '/_emulator/faults');
  });

  it('runs steps 3-4 in a VM through its Hyper-V host with a guest password from Key Vault, to success and to failure', async () => {
    const account = (password: string) => JSON.stringify({ userName: '.\\sdnattach', password });
    await stack.vaultAdmin('PUT', '/_emulator/secrets/x509-guest', { value: account(GUEST_PASSWORD) });
    await stack.vaultAdmin('PUT', '/_emulator/secrets/x509-stale', { value: account(STALE_GUEST_PASSWORD) });
    await stack.armAdmin('PUT', '/_emulator/machines/HV01', {
      hostedVms: { ContainerHostVM2: { account: { userName: '.\\sdnattach', password: GUEST_PASSWORD } } },
    });
    const guestRuns = [
      { id: 'guest-ok', secretName: 'x509-guest', expected: 'Completed' },
      { id: 'guest-stale', secretName: 'x509-stale', expected: 'Failed', code: 'GuestCredentialRejected' },
    ];
    for (const run of guestRuns) {
      const submitted = await stack.api('POST', '/tenants/x509/attachments', {
        ...seedRequest(),
        attachmentId: run.id,
        containerIps: { count: 1 },
        containerHost: {
          vmName: 'ContainerHostVM2',
          through: 'hyperVHost',
          credential: { secretName: run.secretName },
        },
        network: { name: `Net-${run.id}`, driver: 'l2bridge' },
      });
      expect(submitted.status, submitted.text).toBe(202);
      const status = await stack.waitForEnd('x509', run.id, 60_000);
      expect(status.runtimeStatus, `${run.id}: ${JSON.stringify(status.lastError)}`).toBe(run.expected);
      if (run.code) expect(status.lastError).toMatchObject({ code: run.code, retryable: false });
      documents.push(submitted.text, JSON.stringify(status));
    }
    const host = await stack.armAdmin('GET', '/_emulator/machines/HV01');
    expect(JSON.stringify(host)).toContain('invoke-in-vm');
    expect(leaks(JSON.stringify(host), SECRETS)).toEqual([]);
  });

  it('the controller really demanded the client certificates (the failures are authentication failures)', async () => {
    const unlisted = await stack.api('GET', '/tenants/x509/attachments/unlisted-cert');
    expect(unlisted.body.lastError).toMatchObject({ source: 'NetworkController', code: 'Forbidden', statusCode: 403 });
  });

  it('detaches them again (DELETE) through the same x509 controllers, answers and logs carrying no secret', async () => {
    const answers: string[] = [];
    for (const run of RUNS) {
      const accepted = await stack.api('DELETE', `/tenants/${run.tenant}/attachments/${run.id}`);
      expect(accepted.status, accepted.text).toBe(202);
      answers.push(accepted.text, accepted.headers.get('location') ?? '');
    }
    for (const run of RUNS) {
      const status = await stack.waitForEnd(run.tenant, run.id, 60_000);
      answers.push(JSON.stringify(status));
      // The controller that refuses the unlisted certificate refuses its detach too, and says so.
      if (run.id === 'unlisted-cert') {
        expect(status).toMatchObject({ runtimeStatus: 'Failed', lastError: { code: 'Forbidden' } });
      } else {
        expect(status.runtimeStatus, `${run.id}: ${JSON.stringify(status.lastError)}`).toBe('Detached');
      }
      if (status.runtimeStatus !== 'Detached') continue;
      const again = await stack.api('DELETE', `/tenants/${run.tenant}/attachments/${run.id}`);
      expect(again.status).toBe(200);
      answers.push(again.text);
    }
    expect(leaks([...answers, stack.output.join('\n')].join('\n'), SECRETS)).toEqual([]);
  });

  it('refuses a wrong PFX passphrase at start-up, naming the setting and not the passphrase', () => {
    const env = {
      AzureWebJobsStorage: 'UseDevelopmentStorage=true',
      WEBSITE_AUTH_ENABLED: 'true',
      NC_BADPASS_URL: 'https://nc.contoso.local/networking/v1',
      NC_BADPASS_AUTH_MODE: 'x509',
      NC_BADPASS_CLIENT_PFX_BASE64: PFX_BASE64,
      NC_BADPASS_CLIENT_PFX_PASSPHRASE: WRONG_PASSPHRASE,
    };
    let message = '';
    try {
      loadConfig(env);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('NC_BADPASS_CLIENT_PFX_BASE64: wrong passphrase or damaged PFX');
    expect(leaks(message, SECRETS)).toEqual([]);
  });

  it('no secret appears in any status document with history, in the list, or in the raw table rows', async () => {
    for (const run of RUNS) {
      const status = await stack.api('GET', `/tenants/${run.tenant}/attachments/${run.id}?showHistory=true`);
      expect(status.status).toBe(200);
      documents.push(status.text);
    }
    let next: string | null = `${stack.apiUrl}/tenants/x509/attachments?top=3`;
    while (next) {
      const page: Response = await fetch(next);
      const text = await page.text();
      documents.push(text);
      next = (JSON.parse(text) as { nextLink: string | null }).nextLink;
    }
    const failedList = await stack.api('GET', '/tenants/x509/attachments?runtimeStatus=Failed');
    documents.push(failedList.text);
    for (const table of ['attachments', 'machinetasks']) {
      const rows = await stack.tableRows(table);
      if (table === 'attachments') expect(rows.length).toBeGreaterThan(RUNS.length);
      documents.push(JSON.stringify(rows));
    }
    expect(leaks(documents.join('\n'), SECRETS)).toEqual([]);
  });

  it('no secret appears in any queue message left behind', async () => {
    const texts: string[] = [];
    for await (const queue of stack.queues.listQueues()) {
      for (const raw of await stack.peekRaw(queue.name)) texts.push(raw, Buffer.from(raw, 'base64').toString('utf8'));
    }
    expect(leaks(texts.join('\n'), SECRETS)).toEqual([]);
  });

  it('no secret appears in the runner’s stdout or stderr, though failures were logged', () => {
    const log = stack.output.join('\n');
    expect(log).toMatch(/\[error\]|failed/i);
    expect(log).toContain('InvalidResourceReference');
    expect(leaks(log, SECRETS)).toEqual([]);
  });

  it('no secret or setting value appears in the anonymous OpenAPI document or status page', async () => {
    const served = await Promise.all([
      stack.api('GET', '/openapi.json', undefined, {}),
      stack.api('GET', '/ui', undefined, {}),
    ]);
    expect(served.map((answer) => answer.status)).toEqual([200, 200]);
    const text = served.map((answer) => answer.text).join('\n');
    expect(leaks(text, SECRETS)).toEqual([]);
    expect(text).not.toMatch(/AccountKey=|127\.0\.0\.1:\d+\/networking|KEY_VAULT_URL/);
  });
});
