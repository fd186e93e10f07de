import { QueueClient } from '@azure/storage-queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { RunningAzurite } from '../../../dev/azurite';
import { QueueSender } from '../../../shared/functionsHost/QueueSender';
import { newAttachmentRecord } from '../../../shared/model/records';
import { TenantEntrySchema } from '../../../shared/model/tenant';
import { queueServiceClientFor, tableClientFor } from '../../../shared/state/storageConnection';
import { TableStateStore } from '../../../shared/state/TableStateStore';
import { TableTenantStore } from '../../../shared/state/TableTenantStore';
import { acceptedSeedRequest } from '../../support/seed';
import { identityConnection, startOAuthAzurite, testTokenCredential } from '../../support/storageIdentity';
import { labTenant } from '../../support/tenants';
import { testCa } from '../../support/tls';

// Azurite over HTTPS with `--oauth basic`: the app's own clients reach it by token, as they reach Azure Storage with
// AzureWebJobsStorage__queueServiceUri / __tableServiceUri and a managed identity.
let azurite: RunningAzurite;
let nameNumber = 0;
const fresh = (prefix: string) => `${prefix}${Date.now() % 100_000}x${++nameNumber}`;
const caCertPem = () => testCa().caCertPem;

beforeAll(async () => {
  azurite = await startOAuthAzurite();
});
afterAll(async () => {
  await azurite?.stop();
});

/** Reads a queue with the account key, to check what the token-authenticated sender wrote. */
function inspectQueue(name: string): QueueClient {
  return queueServiceClientFor(
    { mode: 'connectionString', connectionString: azurite.connectionString },
    { caCertPem: caCertPem() },
  ).getQueueClient(name);
}

interface StorageFailure {
  statusCode?: number;
  code?: string;
  /** The service's reason, e.g. "Lifetime validation failed. The token is expired." */
  detail?: string;
}

async function storageFailure(promise: Promise<unknown>): Promise<StorageFailure> {
  const error = (await promise.then(
    () => undefined,
    (cause: unknown) => cause,
  )) as (StorageFailure & { details?: { authenticationErrorDetail?: string } }) | undefined;
  expect(error, 'the request should have been refused').toBeDefined();
  return { statusCode: error?.statusCode, code: error?.code, detail: error?.details?.authenticationErrorDetail };
}

describe('identity-based storage against Azurite in OAuth mode', () => {
  it('sends a queue message and deletes it again with a bearer token for storage', async () => {
    const credential = testTokenCredential();
    const sender = new QueueSender(identityConnection(azurite), { credential, caCertPem: caCertPem() });
    const name = fresh('identity-q');

    const receipt = await sender.send(name, { step: 'addIpConfigurations', attachmentId: 'a1' });
    const [peeked] = (await inspectQueue(name).peekMessages()).peekedMessageItems;
    expect(JSON.parse(Buffer.from(peeked!.messageText, 'base64').toString('utf8'))).toEqual({
      step: 'addIpConfigurations',
      attachmentId: 'a1',
    });
    expect(await sender.delete(name, receipt)).toBe(true);
    expect((await inspectQueue(name).getProperties()).approximateMessagesCount).toBe(0);
    expect(new Set(credential.scopes)).toEqual(new Set(['https://storage.azure.com/.default']));
  });

  it('writes and reads attachments and tenants in tables with a bearer token', async () => {
    const credential = testTokenCredential();
    const options = { credential, caCertPem: caCertPem() };
    const store = new TableStateStore(tableClientFor(identityConnection(azurite), fresh('identitystate'), options));
    const record = newAttachmentRecord('contoso', acceptedSeedRequest(), '2026-12-06T02:00:00.000Z');
    expect((await store.createAttachment(record, [{ type: 'Submitted' }])).created).toBe(true);
    expect(await store.getAttachment('contoso', record.attachmentId)).toMatchObject({
      tenantId: 'contoso',
      attachmentId: record.attachmentId,
      runtimeStatus: 'Pending',
    });

    const tenants = new TableTenantStore(
      tableClientFor(identityConnection(azurite), fresh('identitytenants'), options),
    );
    const entry = TenantEntrySchema.parse(labTenant());
    await tenants.putTenant('contoso', entry, 'identity-test');
    expect((await tenants.getTenant('contoso'))?.entry).toEqual(entry);
    expect(credential.scopes.length).toBeGreaterThan(0);
  });

  it.each([
    ['an expired token', { lifetimeInSeconds: -600 }, /token is expired/],
    [
      'a token for another audience (Key Vault)',
      { audience: 'https://vault.azure.net/.default' },
      /Invalid token audience/,
    ],
    ['a token from an issuer that is not Entra ID', { issuer: 'https://login.example.com/t/' }, /Invalid token issuer/],
  ])('is refused with %s', async (_name, overrides, reason) => {
    const credential = testTokenCredential(overrides);
    const options = { credential, caCertPem: caCertPem() };
    const queue = fresh('refused-q');
    const sender = new QueueSender(identityConnection(azurite), options);
    const queueFailure = await storageFailure(sender.send(queue, { step: 'x' }));
    expect(queueFailure).toMatchObject({ statusCode: 403, code: 'AuthenticationFailed' });
    expect(queueFailure.detail).toMatch(reason);
    const table = new TableStateStore(tableClientFor(identityConnection(azurite), fresh('refusedtable'), options));
    const tableFailure = await storageFailure(table.getAttachment('contoso', 'nobody'));
    expect(tableFailure.statusCode).toBe(403);
    // Nothing was written: the queue was never created.
    expect(await inspectQueue(queue).exists()).toBe(false);
  });

  it('verifies the emulator certificate: without the test CA nothing is sent', async () => {
    const service = queueServiceClientFor(
      identityConnection(azurite),
      { credential: testTokenCredential() },
      { retryOptions: { maxTries: 1 } },
    );
    const failure = await storageFailure(service.getQueueClient(fresh('untrusted')).create());
    expect(failure.code).toMatch(/SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE/);
  });
});
