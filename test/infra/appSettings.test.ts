import path from 'node:path';

import { beforeAll, describe, expect, inject, it } from 'vitest';

import { CONTROLLER_SETTING_SUFFIXES, GLOBAL_SETTINGS, STORAGE_CONNECTION_SETTING } from '../../shared/config';
import {
  type ArmResource,
  armResources,
  buildArmTemplate,
  reportMissingBicep,
  resolveVariable,
} from '../support/bicep';
import { REPO_ROOT } from '../support/powerShell';

/**
 * The deployment template (infra/main.bicep, compiled by the real Bicep CLI) against the app's own list of settings
 * (shared/config.ts): every app setting the template sets is one the app or the Functions host reads, and every
 * setting the app cannot start without is set.
 */

/** Settings the Functions host or the platform reads, not the app's configuration; each with why it may be set. */
const HOST_SETTINGS: Readonly<Record<string, string>> = {
  [`${STORAGE_CONNECTION_SETTING}__accountName`]:
    "the host's storage connection by identity (queue triggers, output bindings, host locks, function keys)",
  [`${STORAGE_CONNECTION_SETTING}__blobServiceUri`]: 'the same connection by service URI instead of account name',
  [`${STORAGE_CONNECTION_SETTING}__queueServiceUri`]: 'the same connection by service URI instead of account name',
  [`${STORAGE_CONNECTION_SETTING}__tableServiceUri`]: 'the same connection by service URI instead of account name',
  [`${STORAGE_CONNECTION_SETTING}__credential`]:
    'managedidentity: the host signs in to storage with a managed identity',
  [`${STORAGE_CONNECTION_SETTING}__clientId`]: 'which user-assigned identity the host signs in to storage with',
  // Read by the app too (shared/config.ts), for its own traces and logs (docs/telemetry.md).
  APPLICATIONINSIGHTS_CONNECTION_STRING: 'where the host sends its logs, requests and dependencies',
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING:
    'Authorization=AAD;ClientId=...: telemetry sent with an Entra ID token (the component refuses its key)',
  FUNCTIONS_EXTENSION_VERSION:
    'the host major version on other plans (Flex Consumption takes it from functionAppConfig)',
  FUNCTIONS_WORKER_RUNTIME: 'the language worker on other plans (Flex Consumption takes it from functionAppConfig)',
  WEBSITE_AUTH_ENABLED: 'set by the platform when App Service Authentication is on; the app requires it in Production',
};

/** Overrides of host.json (`AzureFunctionsJobHost__<path>`), read by the host. */
const HOST_JSON_OVERRIDE = /^AzureFunctionsJobHost__\w+$/;

/** Settings the Flex Consumption plan refuses or ignores: runtime, version and content come from functionAppConfig. */
const FLEX_CONSUMPTION_REJECTS = [
  'FUNCTIONS_EXTENSION_VERSION',
  'FUNCTIONS_WORKER_RUNTIME',
  'FUNCTIONS_WORKER_RUNTIME_VERSION',
  'WEBSITE_NODE_DEFAULT_VERSION',
  'WEBSITE_RUN_FROM_PACKAGE',
  'WEBSITE_CONTENTSHARE',
  'WEBSITE_CONTENTAZUREFILECONNECTIONSTRING',
  'WEBSITE_VNET_ROUTE_ALL',
  'SCM_DO_BUILD_DURING_DEPLOYMENT',
  'ENABLE_ORYX_BUILD',
];

const CONTROLLER_SETTING = new RegExp(`^NC_[A-Z0-9_]+?_(${CONTROLLER_SETTING_SUFFIXES.join('|')})$`);
const APP_SETTINGS = new Set(GLOBAL_SETTINGS.map((setting) => setting.name));

function isRead(name: string): boolean {
  return (
    APP_SETTINGS.has(name) || CONTROLLER_SETTING.test(name) || name in HOST_SETTINGS || HOST_JSON_OVERRIDE.test(name)
  );
}

const bicep = inject('bicep');
reportMissingBicep(bicep);

describe.skipIf(!bicep.available)('infra/main.bicep app settings against shared/config.ts', () => {
  let site: ArmResource;
  let settings: Map<string, unknown>;
  let templateText: string;

  beforeAll(() => {
    const template = buildArmTemplate(path.join(REPO_ROOT, 'infra', 'main.bicep'));
    templateText = JSON.stringify(template);
    const sites = armResources(template).filter((resource) => resource.type.toLowerCase() === 'microsoft.web/sites');
    expect(sites).toHaveLength(1);
    site = sites[0] as ArmResource;
    const siteConfig = site.properties.siteConfig as { appSettings?: { name: string; value: unknown }[] };
    const appSettings = siteConfig.appSettings ?? [];
    settings = new Map(appSettings.map((setting) => [setting.name, resolveVariable(setting.value, site.template)]));
    // The names must be literal so that this comparison sees them; a computed list would hide a stray setting.
    expect(appSettings.map((setting) => setting.name).filter((name) => name.startsWith('['))).toEqual([]);
    expect(settings.size).toBe(appSettings.length);
  });

  it('sets only settings that the app or the Functions host reads', () => {
    const unread = [...settings.keys()].filter((name) => !isRead(name));
    expect(unread, 'settings nobody reads (add them to shared/config.ts, or to HOST_SETTINGS with why)').toEqual([]);
  });

  it('sets every setting the app cannot start without', () => {
    const missing = GLOBAL_SETTINGS.filter((setting) => setting.required)
      .map((setting) => setting.name)
      // A connection is set by its name or by its identity-based settings (`<name>__accountName`, `__credential`, ...).
      .filter((name) => !settings.has(name) && ![...settings.keys()].some((set) => set.startsWith(`${name}__`)));
    expect(missing).toEqual([]);
    // Requests that name no Network Controller use `default`, and the app needs at least one controller.
    expect(settings.has('NC_DEFAULT_URL'), 'NC_DEFAULT_URL: the controller a request uses when it names none').toBe(
      true,
    );
    for (const name of settings.keys()) {
      const controller = /^NC_([A-Z0-9_]+?)_[A-Z_]+$/.exec(name)?.[1];
      if (controller !== undefined) expect(settings.has(`NC_${controller}_URL`), `${name} without its URL`).toBe(true);
    }
  });

  it('runs in Production behind App Service Authentication, which sets WEBSITE_AUTH_ENABLED', () => {
    expect(settings.get('APP_ENVIRONMENT')).toBe('Production');
    // The app refuses to start in Production unless the platform says its authentication is on.
    expect(settings.has('WEBSITE_AUTH_ENABLED')).toBe(false);
    const auth = armResources(site.template).find(
      (resource) => resource.type.toLowerCase() === 'microsoft.web/sites/config',
    );
    expect(auth?.resource.name).toContain('authsettingsV2');
    expect(auth?.properties).toMatchObject({
      platform: { enabled: true },
      globalValidation: { requireAuthentication: true, unauthenticatedClientAction: 'Return401' },
      identityProviders: { azureActiveDirectory: { enabled: true } },
    });
    expect(settings.has('AUTH_OPERATOR_ROLE')).toBe(true);
    expect(settings.has('AUTH_TENANT_ROLE')).toBe(true);
  });

  it('reaches storage and telemetry by identity, with no key anywhere in the template', () => {
    expect(settings.get(`${STORAGE_CONNECTION_SETTING}__credential`)).toBe('managedidentity');
    expect(settings.has(STORAGE_CONNECTION_SETTING)).toBe(false);
    expect(String(settings.get('APPLICATIONINSIGHTS_AUTHENTICATION_STRING'))).toContain('Authorization=AAD');
    expect(templateText).not.toMatch(/listKeys|AccountKey=|InstrumentationKey=/i);
    expect(templateText).toContain('"allowSharedKeyAccess":false');
  });

  it('reads the Network Controller client certificate through a Key Vault reference with the app identity', () => {
    expect(String(settings.get('NC_DEFAULT_CLIENT_PFX_BASE64'))).toContain('@Microsoft.KeyVault(');
    expect(site.properties.keyVaultReferenceIdentity).toBeTruthy();
    for (const name of [
      'NC_DEFAULT_CLIENT_CERT_PEM',
      'NC_DEFAULT_CLIENT_KEY_PEM',
      'NC_DEFAULT_CLIENT_PFX_PASSPHRASE',
    ]) {
      expect(settings.has(name), `${name}: the PFX from Key Vault carries certificate and key, no passphrase`).toBe(
        false,
      );
    }
  });

  it('sets nothing the Flex Consumption plan rejects', () => {
    expect(FLEX_CONSUMPTION_REJECTS.filter((name) => settings.has(name))).toEqual([]);
    expect(site.properties.functionAppConfig).toMatchObject({ runtime: { name: 'node', version: '20' } });
  });
});
