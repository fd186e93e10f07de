import { readFileSync } from 'node:fs';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { seedRequest } from '../support/seed';
import { type Stack, startStack } from '../support/stack';

/**
 * The tenant boundary through the real HTTP path: the runner injects the caller as App Service Authentication does
 * (from a test header), the registry is filled through the admin API from examples/tenants/, and the emulators hold
 * contoso's VNet1 and fabrikam's VNet2, both on 192.168.1.0/24, each with a VM at 192.168.1.9.
 */
const OPERATOR = { id: 'aaaaaaaa-0000-4000-8000-000000000001', roles: ['SdnAttach.Operator'] };
const CONTOSO_USER = { id: 'bbbbbbbb-0000-4000-8000-000000000002', roles: ['SdnAttach.Tenant'] };
const FABRIKAM_GROUP = 'cccccccc-0000-4000-8000-000000000003';
const FABRIKAM_USER = {
  id: 'dddddddd-0000-4000-8000-000000000004',
  roles: ['SdnAttach.Tenant'],
  groups: [FABRIKAM_GROUP],
};
const as = (caller: object) => ({ 'x-test-principal': JSON.stringify(caller) });

const example = (tenantId: string) =>
  JSON.parse(
    readFileSync(path.join(__dirname, '..', '..', 'examples', 'tenants', `${tenantId}.json`), 'utf8'),
  ) as Record<string, unknown>;

const FABRIKAM_OWN = { virtualNetworkId: 'VNet2', containerHost: { machineName: 'FabrikamVM1' } };

describe('tenant isolation end to end', () => {
  let stack: Stack;
  const nicAddresses = async (nicId: string) => {
    const nic = (await stack.nc.admin('GET', `/networking/v1/networkInterfaces/${nicId}`)) as {
      properties: { ipConfigurations: { properties: { privateIPAddress: string } }[] };
    };
    return nic.properties.ipConfigurations.map((c) => c.properties.privateIPAddress).sort();
  };
  const runCommandsOn = async (machine: string) =>
    ((await stack.armAdmin('GET', `/_emulator/machines/${machine}`)) as { runCommands?: unknown[] }).runCommands
      ?.length ?? 0;

  beforeAll(async () => {
    stack = await startStack({
      labTenants: false,
      defaultHeaders: as(OPERATOR),
      env: { LOCAL_AUTH_PRINCIPAL_HEADER: 'x-test-principal' },
      waitForEndTimeoutInMs: 40_000,
    });
    for (const [tenantId, principals] of [
      ['contoso', [CONTOSO_USER.id]],
      ['fabrikam', [FABRIKAM_GROUP]],
    ] as const) {
      const response = await stack.api(
        'PUT',
        `/admin/tenants/${tenantId}`,
        { ...example(tenantId), principals },
        as(OPERATOR),
      );
      expect(response.status, response.text).toBe(201);
    }
  });
  afterAll(() => stack.stop());

  it('only the operator manages the registry', async () => {
    const entry = { ...example('contoso'), principals: [FABRIKAM_USER.id] };
    expect((await stack.api('PUT', '/admin/tenants/contoso', entry, as(FABRIKAM_USER))).status).toBe(403);
    expect((await stack.api('GET', '/admin/tenants', undefined, as(CONTOSO_USER))).status).toBe(403);
    expect((await stack.api('GET', '/admin/tenants', undefined, {})).status).toBe(401);
    const plugin = '/admin/machines/ContainerHostVM1/private-cloud-plugin/remove';
    const byTenant = await stack.api('POST', plugin, undefined, as(CONTOSO_USER));
    expect(byTenant.status).toBe(403);
    expect(byTenant.body).toMatchObject({ error: { code: 'OperatorOnly' } });
    expect((await stack.api('POST', plugin, undefined, {})).status).toBe(401);
    const listed = await stack.api('GET', '/admin/tenants', undefined, as(OPERATOR));
    expect((listed.body.value as { tenantId: string }[]).map((t) => t.tenantId)).toEqual(['contoso', 'fabrikam']);
  });

  it('contoso attaches the seed example; fabrikam attaches the same addresses in its own address space', async () => {
    const contoso = await stack.api('POST', '/tenants/contoso/attachments', seedRequest(), as(CONTOSO_USER));
    expect(contoso.status, contoso.text).toBe(202);
    expect(await stack.waitForEnd('contoso', 'seed-1')).toMatchObject({ runtimeStatus: 'Completed' });
    const fabrikam = await stack.api(
      'POST',
      '/tenants/fabrikam/attachments',
      seedRequest({ ...FABRIKAM_OWN, attachmentId: 'fab-seed' }),
      as(FABRIKAM_USER),
    );
    expect(fabrikam.status, fabrikam.text).toBe(202);
    const status = await stack.waitForEnd('fabrikam', 'fab-seed');
    expect(status).toMatchObject({
      runtimeStatus: 'Completed',
      result: { networkInterface: { resourceId: 'FabrikamVM1_Net0' } },
    });
    const range = Array.from({ length: 10 }, (_, i) => `192.168.1.${101 + i}`);
    expect(await nicAddresses('FabrikamVM1_Net0')).toEqual(['192.168.1.9', ...range].sort());
    expect(await nicAddresses('ContainerHostVM1_Net0')).toEqual(['192.168.1.9', ...range].sort());
  });

  it('fabrikam cannot reach contoso’s NIC or machines, whatever its request names', async () => {
    const before = await nicAddresses('ContainerHostVM1_Net0');
    const runsBefore = await runCommandsOn('ContainerHostVM1');
    // The attack from the issue: contoso's NIC, contoso's network, free addresses.
    const attack = seedRequest({
      attachmentId: 'attack-1',
      nic: { resourceId: 'ContainerHostVM1_Net0' },
      containerIps: { count: 2 },
    });
    const refused = await stack.api('POST', '/tenants/fabrikam/attachments', attack, as(FABRIKAM_USER));
    expect(refused.status).toBe(403);
    const targets = (refused.body.error as { details: { target: string }[] }).details.map((d) => d.target);
    expect(targets).toEqual(['virtualNetworkId', 'containerHost.machineName']);
    // The same through the entry queue: poisoned with the reason, never run.
    await stack.sendToQueue('attach-requests', {
      schemaVersion: 1,
      tenantId: 'fabrikam',
      ...attack,
      attachmentId: 'attack-q',
    });
    const poisoned = await stack.eventually(
      () => stack.peekQueue('attach-requests-poison'),
      (messages) => messages.length > 0,
    );
    expect(poisoned.map((m) => (JSON.parse(m) as { attachmentId: string }).attachmentId)).toEqual(['attack-q']);
    // Naming its own network and machine but contoso's NIC: accepted, then refused at step 1 before any write.
    const sneaky = await stack.api(
      'POST',
      '/tenants/fabrikam/attachments',
      seedRequest({
        ...FABRIKAM_OWN,
        attachmentId: 'attack-2',
        nic: { resourceId: 'ContainerHostVM1_Net0' },
        containerIps: { count: 2 },
      }),
      as(FABRIKAM_USER),
    );
    expect(sneaky.status).toBe(202);
    expect(await stack.waitForEnd('fabrikam', 'attack-2')).toMatchObject({
      runtimeStatus: 'Failed',
      lastError: { code: 'NicNotInTenantNetwork' },
    });
    // Nor can it take contoso's attachment back off: DELETE answers as for an attachment that does not exist.
    const detach = await stack.api('DELETE', '/tenants/contoso/attachments/seed-1', undefined, as(FABRIKAM_USER));
    const other = await stack.api('GET', '/tenants/contoso/attachments/seed-1', undefined, as(FABRIKAM_USER));
    expect(detach.status).toBe(404);
    expect(detach.text).toBe(other.text);
    expect(
      (await stack.api('DELETE', '/tenants/fabrikam/attachments/seed-1', undefined, as(FABRIKAM_USER))).status,
    ).toBe(404);
    expect(await stack.api('GET', '/tenants/contoso/attachments/seed-1', undefined, as(OPERATOR))).toMatchObject({
      body: { runtimeStatus: 'Completed' },
    });
    expect(await nicAddresses('ContainerHostVM1_Net0')).toEqual(before);
    expect(await runCommandsOn('ContainerHostVM1')).toBe(runsBefore);
    expect(
      (await stack.api('GET', '/tenants/fabrikam/attachments/attack-1', undefined, as(FABRIKAM_USER))).status,
    ).toBe(404);
    expect((await stack.api('GET', '/tenants/fabrikam/attachments/attack-q', undefined, as(OPERATOR))).status).toBe(
      404,
    );
  });

  it('a principal sees only its own tenants’ attachments', async () => {
    expect((await stack.api('GET', '/tenants/contoso/attachments/seed-1', undefined, as(CONTOSO_USER))).status).toBe(
      200,
    );
    expect((await stack.api('GET', '/tenants/contoso/attachments/seed-1', undefined, as(FABRIKAM_USER))).status).toBe(
      404,
    );
    expect((await stack.api('GET', '/tenants/fabrikam/attachments', undefined, as(CONTOSO_USER))).status).toBe(404);
    expect((await stack.api('GET', '/tenants/contoso/attachments/seed-1', undefined, as(OPERATOR))).status).toBe(200);
    // A principal header sent by the client itself is stripped, as the platform does.
    const forged = Buffer.from(JSON.stringify({ claims: [{ typ: 'roles', val: 'SdnAttach.Operator' }] })).toString(
      'base64',
    );
    expect((await stack.api('GET', '/admin/tenants', undefined, { 'x-ms-client-principal': forged })).status).toBe(401);
  });

  it('an operator removes a tenant; its requests are refused from then on', async () => {
    const deleted = await stack.api('DELETE', '/admin/tenants/fabrikam', undefined, as(OPERATOR));
    expect(deleted.status).toBe(204);
    const after = await stack.api(
      'POST',
      '/tenants/fabrikam/attachments',
      seedRequest({ ...FABRIKAM_OWN, attachmentId: 'late' }),
      as(OPERATOR),
    );
    expect(after.status).toBe(403);
    expect((after.body.error as { code: string }).code).toBe('TenantNotAuthorized');
    // Its attachments stay on record, and stay attached: a DELETE is refused the same way, naming the tenant.
    const before = await nicAddresses('FabrikamVM1_Net0');
    const detach = await stack.api('DELETE', '/tenants/fabrikam/attachments/fab-seed', undefined, as(OPERATOR));
    expect(detach.status).toBe(403);
    expect(detach.body.error).toMatchObject({
      code: 'TenantNotAuthorized',
      details: [{ code: 'TenantNotAuthorized', target: 'tenantId' }],
    });
    expect(
      (await stack.api('DELETE', '/tenants/fabrikam/attachments/fab-seed', undefined, as(FABRIKAM_USER))).status,
    ).toBe(404);
    expect(await stack.api('GET', '/tenants/fabrikam/attachments/fab-seed', undefined, as(OPERATOR))).toMatchObject({
      body: { runtimeStatus: 'Completed' },
    });
    expect(await nicAddresses('FabrikamVM1_Net0')).toEqual(before);
  });
});
