import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type RunningAzurite, startAzurite } from '../../../dev/azurite';
import { type RunningLocalRunner, startLocalRunner } from '../../../dev/runner';
import { applyPlatformAuth, platformAuthSettingsFrom } from '../../../dev/runner/platformAuth';
import { callerFrom, type IdentitySettings } from '../../../shared/functionsHost/callerIdentity';
import { assertBuilt, FIXTURE_ROOT, REGISTRY_MODULE_PATH, REPO_ROOT } from './helpers';

const IDENTITY: IdentitySettings = {
  platformAuthEnabled: true,
  operatorRole: 'SdnAttach.Operator',
  tenantRole: 'SdnAttach.Tenant',
};
const OID = '3f2504e0-4f89-41d3-9a0c-0305e82c3301';
const GROUP = 'b8e0c5a2-7d14-4b6e-9f31-2a6c0d9e8f10';
const TEST_HEADER = 'x-test-principal';
const SPOOFED = {
  'x-ms-client-principal': Buffer.from(
    JSON.stringify({
      auth_typ: 'aad',
      claims: [
        { typ: 'oid', val: OID },
        { typ: 'roles', val: 'SdnAttach.Operator' },
      ],
    }),
  ).toString('base64'),
  'x-ms-client-principal-id': OID,
  'x-ms-client-principal-name': 'mallory@contoso.com',
  'x-ms-client-principal-idp': 'aad',
};
const PLATFORM_HEADERS = Object.keys(SPOOFED);

describe('platformAuthSettingsFrom', () => {
  it.each([{}, { LOCAL_AUTH_PRINCIPAL_HEADER: '' }])('leaves test principals off for %j', (env) => {
    expect(platformAuthSettingsFrom(env)).toEqual({ testPrincipalHeader: undefined });
  });

  it('reads the header name in lower case, in Development', () => {
    expect(
      platformAuthSettingsFrom({ APP_ENVIRONMENT: 'Development', LOCAL_AUTH_PRINCIPAL_HEADER: 'X-Test-Principal' }),
    ).toEqual({ testPrincipalHeader: 'x-test-principal' });
    expect(
      platformAuthSettingsFrom({
        APP_ENVIRONMENT: 'Development',
        LOCAL_AUTH_PRINCIPAL_HEADER: TEST_HEADER,
        WEBSITE_AUTH_ENABLED: 'True',
      }),
    ).toEqual({ testPrincipalHeader: TEST_HEADER });
  });

  it.each<[string, NodeJS.ProcessEnv, RegExp]>([
    ['in Production', { APP_ENVIRONMENT: 'Production' }, /only for APP_ENVIRONMENT=Development/],
    ['with APP_ENVIRONMENT unset (Production)', { APP_ENVIRONMENT: undefined }, /only for APP_ENVIRONMENT=Development/],
    ['with a misspelt Development', { APP_ENVIRONMENT: 'development' }, /only for APP_ENVIRONMENT=Development/],
    ['for a name that is not a header name', { LOCAL_AUTH_PRINCIPAL_HEADER: 'x test' }, /must be an HTTP header name/],
    ['for a platform header', { LOCAL_AUTH_PRINCIPAL_HEADER: 'X-MS-CLIENT-PRINCIPAL' }, /a header of its own/],
    [
      'with WEBSITE_AUTH_ENABLED=false',
      { WEBSITE_AUTH_ENABLED: 'false' },
      /WEBSITE_AUTH_ENABLED must be unset or true/,
    ],
  ])('refuses test principals %s', (_name, extra, message) => {
    const env = { APP_ENVIRONMENT: 'Development', LOCAL_AUTH_PRINCIPAL_HEADER: TEST_HEADER, ...extra };
    expect(() => platformAuthSettingsFrom(env)).toThrow(/^LOCAL_AUTH_PRINCIPAL_HEADER: /);
    expect(() => platformAuthSettingsFrom(env)).toThrow(message);
  });
});

describe('applyPlatformAuth', () => {
  const on = { testPrincipalHeader: TEST_HEADER };
  const off = { testPrincipalHeader: undefined };

  it('always removes the caller headers a client sent', () => {
    for (const settings of [on, off]) {
      expect(applyPlatformAuth({ ...SPOOFED, accept: '*/*' }, settings)).toEqual({
        ok: true,
        headers: { accept: '*/*' },
      });
    }
  });

  it('turns the test header into the platform headers, replacing spoofed ones', () => {
    const outcome = applyPlatformAuth(
      { ...SPOOFED, [TEST_HEADER]: JSON.stringify({ id: OID, roles: ['SdnAttach.Tenant'], groups: [GROUP] }) },
      on,
    );
    expect(outcome.ok).toBe(true);
    const headers = outcome.ok ? outcome.headers : {};
    expect(Object.keys(headers).sort()).toEqual([
      'x-ms-client-principal',
      'x-ms-client-principal-id',
      'x-ms-client-principal-idp',
    ]);
    expect(headers['x-ms-client-principal-id']).toBe(OID);
    expect(JSON.parse(Buffer.from(headers['x-ms-client-principal'] ?? '', 'base64').toString('utf8'))).toEqual({
      auth_typ: 'aad',
      name_typ: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name',
      role_typ: 'roles',
      claims: [
        { typ: 'http://schemas.microsoft.com/identity/claims/objectidentifier', val: OID },
        { typ: 'roles', val: 'SdnAttach.Tenant' },
        { typ: 'groups', val: GROUP },
      ],
    });
  });

  it.each([
    ['not JSON', 'operator please'],
    ['no id', JSON.stringify({ roles: ['SdnAttach.Operator'] })],
    ['an id that is not a GUID', JSON.stringify({ id: 'alice' })],
    ['a group that is not a GUID', JSON.stringify({ id: OID, groups: ['Network Admins'] })],
    ['roles that are not a list', JSON.stringify({ id: OID, roles: 'SdnAttach.Operator' })],
    ['an unknown field', JSON.stringify({ id: OID, role: ['SdnAttach.Operator'] })],
  ])('refuses a test header with %s, without repeating it', (_name, value) => {
    const outcome = applyPlatformAuth({ [TEST_HEADER]: value }, on);
    expect(outcome).toEqual({
      ok: false,
      message: expect.stringMatching(/^x-test-principal: must be JSON/) as unknown,
    });
    expect(outcome.ok ? '' : outcome.message).not.toContain(value);
  });
});

describe('the runner as App Service Authentication', () => {
  const saved = { ...process.env };
  let azurite: RunningAzurite;
  let runner: RunningLocalRunner | undefined;

  async function start(env: NodeJS.ProcessEnv): Promise<RunningLocalRunner> {
    await runner?.stop();
    process.env = { ...saved, AzureWebJobsStorage: azurite.connectionString, ...env };
    runner = await startLocalRunner({
      appRoot: FIXTURE_ROOT,
      httpPort: 0,
      registryModulePath: REGISTRY_MODULE_PATH,
      log: () => undefined,
    });
    return runner;
  }

  async function headersSeen(headers: Record<string, string>): Promise<Record<string, string>> {
    const response = await fetch(`${runner?.httpUrl}/echo-headers`, { headers });
    expect(response.status).toBe(200);
    return (await response.json()) as Record<string, string>;
  }

  beforeAll(async () => {
    assertBuilt();
    azurite = await startAzurite({ blobPort: 0, queuePort: 0, tablePort: 0 });
  });

  afterAll(async () => {
    await runner?.stop();
    await azurite?.stop();
    process.env = saved;
  });

  describe('with LOCAL_AUTH_PRINCIPAL_HEADER', () => {
    beforeAll(async () => {
      await start({ APP_ENVIRONMENT: 'Development', LOCAL_AUTH_PRINCIPAL_HEADER: TEST_HEADER });
    });

    it('sets WEBSITE_AUTH_ENABLED, as App Service does when its authentication is on', () => {
      expect(process.env.WEBSITE_AUTH_ENABLED).toBe('true');
    });

    it('never lets a spoofed x-ms-client-principal reach the function', async () => {
      const seen = await headersSeen(SPOOFED);
      for (const name of PLATFORM_HEADERS) expect(seen).not.toHaveProperty(name);
      expect(callerFrom(new Headers(seen), IDENTITY)).toMatchObject({ kind: 'anonymous' });
    });

    it.each([
      [
        { id: OID, roles: ['SdnAttach.Tenant'], groups: [GROUP] },
        { kind: 'principal', id: OID, groups: [GROUP] },
      ],
      [
        { id: OID, roles: [], groups: [] },
        { kind: 'principal', id: OID, groups: [], roles: [] },
      ],
      [
        { id: OID, roles: ['SdnAttach.Operator'] },
        { kind: 'operator', id: OID },
      ],
    ])('turns test principal %j into a client principal callerFrom reads back', async (principal, expected) => {
      const seen = await headersSeen({ ...SPOOFED, [TEST_HEADER]: JSON.stringify(principal) });
      expect(seen).not.toHaveProperty(TEST_HEADER);
      expect(seen['x-ms-client-principal']).not.toBe(SPOOFED['x-ms-client-principal']);
      expect(seen['x-ms-client-principal-id']).toBe(OID);
      expect(seen).not.toHaveProperty('x-ms-client-principal-name');
      const caller = callerFrom(new Headers(seen), IDENTITY);
      expect(caller).toEqual(expected.kind === 'operator' ? expected : { roles: principal.roles, ...expected });
    });

    it('answers 401 for a malformed test header, as the platform does for a bad token', async () => {
      const response = await fetch(`${runner?.httpUrl}/echo-headers`, { headers: { [TEST_HEADER]: '{"id":"me"}' } });
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({
        error: { code: 'Unauthorized', message: expect.stringMatching(/^x-test-principal: must be JSON/) as unknown },
      });
    });
  });

  describe('without LOCAL_AUTH_PRINCIPAL_HEADER', () => {
    beforeAll(async () => {
      await start({ APP_ENVIRONMENT: 'Development', LOCAL_AUTH_PRINCIPAL_HEADER: undefined });
    });

    it('passes the test header through untouched and injects no principal', async () => {
      const value = JSON.stringify({ id: OID, roles: ['SdnAttach.Operator'] });
      const seen = await headersSeen({ [TEST_HEADER]: value });
      expect(seen[TEST_HEADER]).toBe(value);
      for (const name of PLATFORM_HEADERS) expect(seen).not.toHaveProperty(name);
    });

    it('still removes a spoofed x-ms-client-principal', async () => {
      const seen = await headersSeen(SPOOFED);
      for (const name of PLATFORM_HEADERS) expect(seen).not.toHaveProperty(name);
    });
  });

  it('refuses to start with LOCAL_AUTH_PRINCIPAL_HEADER in Production', async () => {
    await runner?.stop();
    runner = undefined;
    process.env = { ...saved, AzureWebJobsStorage: azurite.connectionString, LOCAL_AUTH_PRINCIPAL_HEADER: TEST_HEADER };
    delete process.env.APP_ENVIRONMENT;
    await expect(
      startLocalRunner({ appRoot: FIXTURE_ROOT, httpPort: 0, registryModulePath: REGISTRY_MODULE_PATH }),
    ).rejects.toThrow(/^LOCAL_AUTH_PRINCIPAL_HEADER: test principals are only for APP_ENVIRONMENT=Development/);
  });

  it('the CLI exits 1 with that reason', async () => {
    const mainJs = path.join(REPO_ROOT, 'dist', 'dev', 'runner', 'main.js');
    assertBuilt(mainJs);
    const child = spawn(
      process.execPath,
      [mainJs, '--app-root', FIXTURE_ROOT, '--port', '0', '--registry-module', REGISTRY_MODULE_PATH],
      {
        env: {
          ...saved,
          AzureWebJobsStorage: azurite.connectionString,
          APP_ENVIRONMENT: 'Production',
          LOCAL_AUTH_PRINCIPAL_HEADER: TEST_HEADER,
        },
        stdio: 'pipe',
      },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(1);
    expect(stderr).toContain('LOCAL_AUTH_PRINCIPAL_HEADER: test principals are only for APP_ENVIRONMENT=Development');
  });
});
