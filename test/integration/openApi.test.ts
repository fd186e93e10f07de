import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runCliProcess } from '../support/cliProcess';
import { committedOpenApi, documentedOperations, OPENAPI_PATH, openApiChecker } from '../support/openApi';
import { seedRequest } from '../support/seed';
import { type ApiResponse, type Stack, startStack } from '../support/stack';
import { exampleTenant } from '../support/tenants';

const FUNCTION_KEY = `fk-${randomBytes(24).toString('base64url')}`;
const KEYED = { 'x-functions-key': FUNCTION_KEY };

/**
 * Real answers of the running app (runner, Azurite, emulators) against docs/openapi.json: every documented operation
 * is called, and every answer's status, headers and JSON body must be what the document says.
 */
describe('the running app answers as docs/openapi.json says', () => {
  let stack: Stack;
  const doc = committedOpenApi();
  const checker = openApiChecker(doc);

  /** Calls the API and checks the answer against the operation at `route` (the document's path template). */
  async function call(
    method: string,
    route: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = KEYED,
  ) {
    const answer: ApiResponse = await stack.api(method, path, body, headers);
    checker.check(route, method, answer);
    return answer;
  }
  const ATTACHMENTS = '/tenants/{tenantId}/attachments';
  const ATTACHMENT = `${ATTACHMENTS}/{id}`;

  async function waitForStatus(tenantId: string, id: string, done: (status: string) => boolean) {
    const value = await stack.eventually(
      () => call('GET', ATTACHMENT, `/tenants/${tenantId}/attachments/${id}?showHistory=true`),
      (answer) => done(String(answer.body.runtimeStatus)),
      40_000,
    );
    expect(done(String(value.body.runtimeStatus)), value.text).toBe(true);
    return value;
  }

  beforeAll(async () => {
    stack = await startStack({
      runnerArgs: ['--function-key', FUNCTION_KEY],
      defaultHeaders: KEYED,
      labTenants: false,
      waitForEndTimeoutInMs: 40_000,
    });
  });
  afterAll(() => stack.stop());

  it('serves the committed document and the status page without a key', async () => {
    const served = await call('GET', '/openapi.json', '/openapi.json', undefined, {});
    expect(served.status).toBe(200);
    expect(served.text).toBe(readFileSync(OPENAPI_PATH, 'utf8'));
    expect(served.headers.get('content-type')).toMatch(/^application\/json/);
    const page = await call('GET', '/ui', '/ui', undefined, {});
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
  });

  it('the tenant registry', async () => {
    const created = await call('PUT', '/admin/tenants/{tenantId}', '/admin/tenants/contoso', exampleTenant('contoso'));
    expect(created.status).toBe(201);
    const etag = created.headers.get('etag') ?? '';
    const replaced = await call(
      'PUT',
      '/admin/tenants/{tenantId}',
      '/admin/tenants/contoso',
      exampleTenant('contoso'),
      {
        ...KEYED,
        'if-match': etag,
      },
    );
    expect(replaced.status).toBe(200);
    const stale = await call('PUT', '/admin/tenants/{tenantId}', '/admin/tenants/contoso', exampleTenant('contoso'), {
      ...KEYED,
      'if-match': etag,
    });
    expect(stale.status).toBe(412);
    expect((await call('PUT', '/admin/tenants/{tenantId}', '/admin/tenants/bad', { machines: 1 })).status).toBe(400);
    expect(
      (await call('PUT', '/admin/tenants/{tenantId}', '/admin/tenants/fabrikam', exampleTenant('fabrikam'))).status,
    ).toBe(201);
    const shown = await call('GET', '/admin/tenants/{tenantId}', '/admin/tenants/contoso?showHistory=true');
    expect(shown.body.changes).toHaveLength(2);
    expect((await call('GET', '/admin/tenants/{tenantId}', '/admin/tenants/nobody')).status).toBe(404);
    const listed = await call('GET', '/admin/tenants', '/admin/tenants?top=1');
    expect(listed.body.nextLink).toEqual(expect.stringContaining('continuationToken='));
    expect((await call('GET', '/admin/tenants', '/admin/tenants?top=0')).status).toBe(400);
    expect((await call('DELETE', '/admin/tenants/{tenantId}', '/admin/tenants/fabrikam')).status).toBe(204);
    expect((await call('DELETE', '/admin/tenants/{tenantId}', '/admin/tenants/fabrikam')).status).toBe(404);
  });

  it('the CLI’s --json output of the seed example validates against the document', async () => {
    const env = { SDN_ATTACH_API: stack.apiUrl, SDN_ATTACH_KEY: FUNCTION_KEY };
    const submitted = await runCliProcess(
      ['submit', 'examples/seed-attach.json', '--tenant', 'contoso', '--wait', '--json'],
      { env, timeoutInMs: 60_000 },
    );
    expect(submitted.code, submitted.stderr).toBe(0);
    const documents = submitted.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { id: string; runtimeStatus: string });
    for (const document of documents) checker.matches('AttachmentDocument', document);
    const last = documents.at(-1);
    expect(last?.runtimeStatus).toBe('Completed');
    // Gives the seed's addresses back for the tests below.
    const detached = await runCliProcess(['detach', 'contoso', last?.id ?? '', '--wait', '--json'], { env });
    expect(detached.code, detached.stderr).toBe(0);
    const final = JSON.parse(detached.stdout.trim().split('\n').at(-1) ?? '{}') as unknown;
    checker.matches('AttachmentDocument', final);
    expect(final).toMatchObject({ runtimeStatus: 'Detached' });
  });

  it('submit, status, list, verify, repair, detach: the seed example', async () => {
    const seed = JSON.parse(
      readFileSync(path.join(__dirname, '..', '..', 'examples', 'seed-attach.json'), 'utf8'),
    ) as Record<string, unknown>;
    const body = { ...seed, attachmentId: 'oa-seed' };
    expect((await call('POST', ATTACHMENTS, '/tenants/contoso/attachments', body, {})).status).toBe(401);
    const submitted = await call('POST', ATTACHMENTS, '/tenants/contoso/attachments', body);
    expect(submitted.status).toBe(202);
    await call('GET', ATTACHMENT, '/tenants/contoso/attachments/oa-seed');
    const done = await waitForStatus('contoso', 'oa-seed', (s) => s === 'Completed');
    expect(done.status).toBe(200);
    expect((await call('POST', ATTACHMENTS, '/tenants/contoso/attachments', body)).body.created).toBe(false);
    const other = { ...body, containerIps: { count: 1 } };
    expect((await call('POST', ATTACHMENTS, '/tenants/contoso/attachments', other)).status).toBe(409);
    expect((await call('POST', ATTACHMENTS, '/tenants/contoso/attachments', { ...body, nic: {} })).status).toBe(400);
    const elsewhere = { ...seedRequest(), attachmentId: 'oa-hv02', hyperVHost: { machineName: 'HV02' } };
    expect((await call('POST', ATTACHMENTS, '/tenants/contoso/attachments', elsewhere)).status).toBe(403);
    expect((await call('GET', ATTACHMENT, '/tenants/contoso/attachments/nope')).status).toBe(404);

    const listed = await call('GET', ATTACHMENTS, '/tenants/contoso/attachments?runtimeStatus=Completed,Failed');
    expect(listed.body.value).toEqual([expect.objectContaining({ id: 'oa-seed' })]);
    expect((await call('GET', ATTACHMENTS, '/tenants/contoso/attachments?runtimeStatus=Done')).status).toBe(400);

    expect((await call('POST', `${ATTACHMENT}/cancel`, '/tenants/contoso/attachments/oa-seed/cancel')).status).toBe(
      409,
    );
    expect((await call('POST', `${ATTACHMENT}/retry`, '/tenants/contoso/attachments/oa-seed/retry')).status).toBe(409);
    const verified = await call(
      'GET',
      `${ATTACHMENT}/verification`,
      '/tenants/contoso/attachments/oa-seed/verification',
    );
    expect(verified.body.verification).toMatchObject({ intact: true });
    expect((await call('POST', `${ATTACHMENT}/repair`, '/tenants/contoso/attachments/oa-seed/repair')).status).toBe(
      200,
    );

    const removal = '/admin/machines/{machineName}/private-cloud-plugin/remove';
    const inUse = await call('POST', removal, '/admin/machines/ContainerHostVM1/private-cloud-plugin/remove');
    expect(inUse.body).toMatchObject({ error: { code: 'MachineInUse' } });

    expect((await call('DELETE', ATTACHMENT, '/tenants/contoso/attachments/oa-seed')).status).toBe(202);
    await waitForStatus('contoso', 'oa-seed', (s) => s === 'Detached');
    expect((await call('DELETE', ATTACHMENT, '/tenants/contoso/attachments/oa-seed')).status).toBe(200);
    const removed = await call('POST', removal, '/admin/machines/ContainerHostVM1/private-cloud-plugin/remove');
    expect(removed.status).toBe(200);
  });

  it('a failed attachment, its retry, and a cancel', async () => {
    await stack.nc.admin('POST', '/_emulator/faults', {
      method: 'PUT',
      path: '^/networkInterfaces/',
      status: 400,
      error: { code: 'ReferencedResourceNotProvisioned', message: 'The ACL is still Updating.' },
    });
    await call('POST', ATTACHMENTS, '/tenants/contoso/attachments', { ...seedRequest(), attachmentId: 'oa-failed' });
    const failed = await waitForStatus('contoso', 'oa-failed', (s) => s === 'Failed');
    expect(failed.body.lastError).toMatchObject({ code: 'ReferencedResourceNotProvisioned' });
    await stack.nc.admin('DELETE', '/_emulator/faults');
    expect((await call('POST', `${ATTACHMENT}/retry`, '/tenants/contoso/attachments/oa-failed/retry')).status).toBe(
      202,
    );
    await waitForStatus('contoso', 'oa-failed', (s) => s === 'Completed');

    const next = { ...seedRequest(), attachmentId: 'oa-cancel', containerIps: { count: 1 } };
    await call('POST', ATTACHMENTS, '/tenants/contoso/attachments', next);
    expect((await call('POST', `${ATTACHMENT}/cancel`, '/tenants/contoso/attachments/oa-cancel/cancel')).status).toBe(
      202,
    );
    await waitForStatus('contoso', 'oa-cancel', (s) => s === 'Canceled' || s === 'Completed');
  });

  it('called every operation the document describes', () => {
    const called = new Set(checker.checked.map((c) => c.operation));
    expect(documentedOperations(doc).filter((operation) => !called.has(operation))).toEqual([]);
  });
});
