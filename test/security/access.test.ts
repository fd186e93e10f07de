import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { newAttachmentId } from '../../shared/ids';
import { ATTACHMENT_ID_PATTERN, TENANT_ID_PATTERN } from '../../shared/model/attachRequest';
import { attachmentRequest, listRequest, postRequest, recordingContext } from '../support/functionsHost';
import { seedRequest } from '../support/seed';
import { errorOf, handlerSet, targetsOf } from './support/handlers';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

type Handlers = ReturnType<typeof handlerSet>;

async function submit(h: Handlers, tenantId: string, body: unknown) {
  const { context, outputs } = recordingContext('submitAttachment');
  const response = await h.submit(postRequest(tenantId, JSON.stringify(body)), context);
  return { response, outputs };
}

function ids(jsonBody: unknown): string[] {
  return (jsonBody as { value: { id: string }[] }).value.map((v) => v.id);
}

describe('tenant isolation (handlers)', () => {
  async function twoTenants() {
    const h = handlerSet();
    for (const id of ['a0', 'a1', 'a2']) {
      expect((await submit(h, 'contoso', { ...seedRequest(), attachmentId: id })).response.status).toBe(202);
    }
    await h.store.updateAttachment('contoso', 'a1', (r) => ({
      record: { ...r, runtimeStatus: 'Failed', currentStep: 'addIpConfigurations' },
    }));
    expect((await submit(h, 'fabrikam', { ...seedRequest(), attachmentId: 'f0' })).response.status).toBe(202);
    return h;
  }

  it('GET of another tenant’s attachment is 404, worded exactly like an id that does not exist', async () => {
    const h = await twoTenants();
    const foreign = await h.get(attachmentRequest('GET', 'fabrikam', 'a0', '', '?showHistory=true'));
    const missing = await h.get(attachmentRequest('GET', 'fabrikam', 'zz', '', '?showHistory=true'));
    expect(foreign.status).toBe(404);
    expect(missing.status).toBe(404);
    expect(JSON.stringify(foreign.jsonBody).replaceAll('a0', 'ID')).toBe(
      JSON.stringify(missing.jsonBody).replaceAll('zz', 'ID'),
    );
    expect(JSON.stringify(foreign.jsonBody)).not.toMatch(/contoso|runtimeStatus|192\.168/);
  });

  it('a tenant’s list never shows another tenant’s attachments, with any filter or page size', async () => {
    const h = await twoTenants();
    for (const query of [
      '',
      '?top=1',
      '?runtimeStatus=Failed',
      '?runtimeStatus=Pending,Failed,Running,Completed,Canceled&top=100',
    ]) {
      const response = await h.list(listRequest('fabrikam', query));
      expect(response.status).toBe(200);
      expect(ids(response.jsonBody).every((id) => id === 'f0')).toBe(true);
    }
    const contoso = await h.list(listRequest('contoso'));
    expect(ids(contoso.jsonBody)).toEqual(['a0', 'a1', 'a2']);
  });

  it('cancel, retry and detach (DELETE) of another tenant’s attachment are 404 and change nothing', async () => {
    const h = await twoTenants();
    const writes = h.store.writes;
    const before = await h.store.getAttachment('contoso', 'a1');
    for (const [handler, method, suffix] of [
      [h.cancel, 'POST', '/cancel'],
      [h.retry, 'POST', '/retry'],
      [h.detach, 'DELETE', ''],
    ] as const) {
      for (const id of ['a0', 'a1']) {
        const { context, outputs } = recordingContext('control');
        const response = await handler(attachmentRequest(method, 'fabrikam', id, suffix), context);
        expect(response.status).toBe(404);
        expect(outputs).toEqual([]);
      }
    }
    expect(h.store.writes).toBe(writes);
    expect(await h.store.getAttachment('contoso', 'a1')).toEqual(before);
  });

  it('DELETE of another tenant’s attachment is worded exactly like an id that does not exist', async () => {
    const h = await twoTenants();
    const reads = h.tenants.reads;
    const foreign = await h.detach(attachmentRequest('DELETE', 'fabrikam', 'a0'), recordingContext('d').context);
    const missing = await h.detach(attachmentRequest('DELETE', 'fabrikam', 'zz'), recordingContext('d').context);
    expect(foreign.status).toBe(404);
    expect(JSON.stringify(foreign.jsonBody).replaceAll('a0', 'ID')).toBe(
      JSON.stringify(missing.jsonBody).replaceAll('zz', 'ID'),
    );
    expect(JSON.stringify(foreign.jsonBody)).not.toMatch(/contoso|runtimeStatus|192\.168/);
    // Not even the registry was asked: nothing distinguishes the two.
    expect(h.tenants.reads).toBe(reads);
  });

  it.each(['fabrikam', 'contoso', "' or PartitionKey ne '", '../fabrikam'])(
    'a tenantId of %j in the body is refused, not obeyed',
    async (tenantId) => {
      const h = handlerSet();
      const { response, outputs } = await submit(h, 'contoso', { ...seedRequest(), tenantId });
      expect(response.status).toBe(400);
      expect(targetsOf(response.jsonBody)).toEqual(['(body)']);
      expect(errorOf(response.jsonBody).details?.[0]?.message).toContain('tenantId');
      expect(h.store.writes).toBe(0);
      expect(outputs).toEqual([]);
    },
  );

  it('property: the same attachmentId in two tenants is two attachments, and neither reveals the other', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.stringMatching(TENANT_ID_PATTERN),
        fc.stringMatching(TENANT_ID_PATTERN),
        fc.stringMatching(ATTACHMENT_ID_PATTERN),
        async (tenantA, tenantB, id) => {
          fc.pre(tenantA !== tenantB);
          const h = handlerSet();
          const first = await submit(h, tenantA, { ...seedRequest(), attachmentId: id });
          expect(first.response.status).toBe(202);
          // A different request under the same id in another tenant: created, not 409 (a 409 would leak that it exists).
          const second = await submit(h, tenantB, { ...seedRequest({ subnetId: 'Subnet2' }), attachmentId: id });
          expect(second.response.status).toBe(202);
          expect(second.response.jsonBody).toMatchObject({ id, tenantId: tenantB, created: true });
          expect((await h.store.getAttachment(tenantA, id))?.request.subnetId).toBe('Subnet1');
          expect((await h.store.getAttachment(tenantB, id))?.request.subnetId).toBe('Subnet2');
          expect(ids((await h.list(listRequest(tenantB))).jsonBody)).toEqual([id]);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('the answer to a submit only points at the route’s tenant', async () => {
    const h = handlerSet();
    const { response } = await submit(h, 'contoso', { ...seedRequest(), attachmentId: 'loc-1' });
    const headers = response.headers as Record<string, string>;
    expect(headers.Location).toBe('http://127.0.0.1:7071/api/tenants/contoso/attachments/loc-1');
    expect(response.jsonBody).toMatchObject({ tenantId: 'contoso', statusQueryGetUri: headers.Location });
  });
});

describe('generated attachment ids', () => {
  it('are random version-4 UUIDs: well-formed, distinct, and not sequential', () => {
    const generated = Array.from({ length: 2000 }, () => newAttachmentId());
    for (const id of generated) expect(id).toMatch(UUID_V4);
    expect(new Set(generated).size).toBe(generated.length);
    // No shared prefix beyond what chance gives: ids must not be derived from a counter or a clock.
    const prefixes = new Set(generated.map((id) => id.slice(0, 4)));
    expect(prefixes.size).toBeGreaterThan(1500);
    expect(generated.every((id) => ATTACHMENT_ID_PATTERN.test(id))).toBe(true);
  });

  it('are what submit uses when the request has no attachmentId', async () => {
    const h = handlerSet({ newAttachmentId });
    const { attachmentId: _omit, ...withoutId } = seedRequest();
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const { response, outputs } = await submit(h, 'contoso', withoutId);
      expect(response.status).toBe(202);
      const id = (response.jsonBody as { id: string }).id;
      expect(id).toMatch(UUID_V4);
      expect((response.headers as Record<string, string>).Location).toMatch(
        new RegExp(`/tenants/contoso/attachments/${id}$`),
      );
      expect(outputs).toHaveLength(1);
      seen.add(id);
    }
    expect(seen.size).toBe(20);
  });
});
