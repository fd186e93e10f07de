import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startArmEmulator } from '../../dev/arm/startArmEmulator';
import type { RunningAzurite } from '../../dev/azurite';
import {
  type RunningManagedIdentityEndpoint,
  startManagedIdentityEndpoint,
} from '../../dev/managedIdentity/startManagedIdentityEndpoint';
import { TenantEntrySchema } from '../../shared/model/tenant';
import { tableClientFor } from '../../shared/state/storageConnection';
import { TableTenantStore } from '../../shared/state/TableTenantStore';
import { startTestNetworkController } from '../support/ncEmulator';
import { callApi, runnerEnvironment, type RunnerProcess, startRunnerProcess } from '../support/runnerProcess';
import { seedRequest } from '../support/seed';
import { startOAuthAzurite, TEST_STORAGE_CLIENT_ID } from '../support/storageIdentity';
import { labTenant } from '../support/tenants';
import { testCa } from '../support/tls';

// The app as it runs in Azure, storage-wise: no connection string, only AzureWebJobsStorage__queueServiceUri and
// __tableServiceUri with credential=managedidentity and a user-assigned client id. Tokens come the way App Service
// hands them to the app (IDENTITY_ENDPOINT / IDENTITY_HEADER, read by @azure/identity), so the runner and the app
// run their production token path; Azurite (HTTPS, --oauth basic) checks every token's audience, issuer and lifetime.
const UNKNOWN_CLIENT_ID = '99999999-9999-4999-8999-999999999999';

let azurite: RunningAzurite;
let identity: RunningManagedIdentityEndpoint;
let nc: Awaited<ReturnType<typeof startTestNetworkController>>;
let arm: Awaited<ReturnType<typeof startArmEmulator>>;
let scratch: string;
const runners: RunnerProcess[] = [];

beforeAll(async () => {
  azurite = await startOAuthAzurite();
  identity = await startManagedIdentityEndpoint({ userAssigned: [{ clientId: TEST_STORAGE_CLIENT_ID }] });
  nc = await startTestNetworkController({ provisioningDelayInMs: 50 });
  arm = await startArmEmulator({ port: 0, tls: testCa().issueServerCertificate(['127.0.0.1']), runDurationInMs: 100 });
  scratch = mkdtempSync(path.join(tmpdir(), 'identity-storage-'));
  writeFileSync(path.join(scratch, 'ca.pem'), testCa().caCertPem);
  // The operator's registry entry, written with the account key (the admin API is not what this test is about).
  const tenants = new TableTenantStore(
    tableClientFor({ mode: 'connectionString', connectionString: azurite.connectionString }, 'tenants', {
      caCertPem: testCa().caCertPem,
    }),
  );
  await tenants.putTenant('contoso', TenantEntrySchema.parse(labTenant(seedRequest())), 'identity-test');
});

afterAll(async () => {
  for (const runner of runners) await runner.kill('SIGTERM');
  await identity?.close();
  await nc?.close();
  await arm?.close();
  await azurite?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

async function startIdentityRunner(clientId: string): Promise<{ runner: RunnerProcess; output: string[] }> {
  const base = runnerEnvironment({
    storageConnectionString: '',
    ncBaseUrl: nc.baseUrl,
    ncCaCertPem: nc.ca.caCertPem,
    armOrigin: arm.origin,
  });
  delete base.AzureWebJobsStorage;
  const output: string[] = [];
  const runner = await startRunnerProcess({
    name: 'identity runner',
    env: {
      ...base,
      AzureWebJobsStorage__queueServiceUri: azurite.serviceUrls.queue,
      AzureWebJobsStorage__tableServiceUri: azurite.serviceUrls.table,
      AzureWebJobsStorage__credential: 'managedidentity',
      AzureWebJobsStorage__clientId: clientId,
      ...identity.environment,
      // Trust for the emulator's test CA, for this child process only (Node's own setting; TLS checks stay on).
      NODE_EXTRA_CA_CERTS: path.join(scratch, 'ca.pem'),
    },
    onLine: (line) => output.push(line),
    outputForErrors: () => output,
  });
  runners.push(runner);
  return { runner, output };
}

describe('the app on identity-based storage (Azurite in OAuth mode, tokens from the managed identity endpoint)', () => {
  it('accepts a submit and runs the seed attachment to Completed', async () => {
    const { runner, output } = await startIdentityRunner(TEST_STORAGE_CLIENT_ID);
    const submitted = await callApi(runner.apiUrl, 'POST', '/tenants/contoso/attachments', {
      ...seedRequest(),
      attachmentId: 'identity-seed',
    });
    expect(submitted.status, submitted.text).toBe(202);

    const deadline = Date.now() + 45_000;
    let status = await callApi(runner.apiUrl, 'GET', '/tenants/contoso/attachments/identity-seed');
    while (status.status === 202 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      status = await callApi(runner.apiUrl, 'GET', '/tenants/contoso/attachments/identity-seed');
    }
    expect(status.status, `${status.text}\n${output.slice(-20).join('\n')}`).toBe(200);
    expect(status.json).toMatchObject({
      runtimeStatus: 'Completed',
      steps: [
        { name: 'addIpConfigurations', status: 'Succeeded' },
        { name: 'enableNetworkProxy', status: 'Succeeded' },
        { name: 'installPrivateCloudPlugin', status: 'Succeeded' },
        { name: 'createContainerNetwork', status: 'Succeeded' },
      ],
    });
    // Every token was for storage and for the configured user-assigned identity, and tokens are cached: hundreds of
    // storage requests above, one or two tokens (the listener's and the app's clients may cache apart).
    expect(identity.issued.length).toBeGreaterThan(0);
    expect(identity.issued.length).toBeLessThanOrEqual(2);
    expect(new Set(identity.issued.map((t) => `${t.resource} ${t.clientId}`))).toEqual(
      new Set([`https://storage.azure.com ${TEST_STORAGE_CLIENT_ID}`]),
    );
    expect(output.join('\n')).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\./);
  });

  it('refuses a submit, storing nothing, when the identity it names is not the app’s', async () => {
    const { runner, output } = await startIdentityRunner(UNKNOWN_CLIENT_ID);
    const submitted = await callApi(runner.apiUrl, 'POST', '/tenants/contoso/attachments', {
      ...seedRequest(),
      attachmentId: 'identity-unknown',
    });
    expect(submitted.status, submitted.text).toBeGreaterThanOrEqual(500);
    expect(identity.issued.some((t) => t.clientId === UNKNOWN_CLIENT_ID)).toBe(false);
    const known = await startIdentityRunner(TEST_STORAGE_CLIENT_ID);
    const lookup = await callApi(known.runner.apiUrl, 'GET', '/tenants/contoso/attachments/identity-unknown');
    expect(lookup.status, output.slice(-20).join('\n')).toBe(404);
  });
});
