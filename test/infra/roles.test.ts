import path from 'node:path';

import { beforeAll, describe, expect, inject, it } from 'vitest';

import { type ArmResource, armResources, buildArmTemplate, reportMissingBicep } from '../support/bicep';
import { REPO_ROOT } from '../support/powerShell';

/**
 * Least privilege in the compiled template (infra/main.bicep): each role assignment is a narrow data or publishing
 * role on one resource, the Arc machines get a custom role with exactly what steps 2-4 call, and no broad built-in
 * role appears anywhere.
 */

// Built-in role definition ids (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles).
const ROLES: Readonly<Record<string, string>> = {
  '974c5e8b-45b9-4653-ba55-5f855dd0fb88': 'Storage Queue Data Contributor',
  '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3': 'Storage Table Data Contributor',
  'ba92f5b4-2d11-453d-a403-e96b0029c9fe': 'Storage Blob Data Contributor',
  '3913510d-42f4-4e42-8a64-420c390055eb': 'Monitoring Metrics Publisher',
  '4633458b-17de-408a-b874-0445c86b69e6': 'Key Vault Secrets User',
  'a4417e6f-fecd-4de8-b567-7b0420556985': 'Key Vault Certificates Officer',
  'b86a8fe4-44ce-4948-aee5-eccb2c155cd7': 'Key Vault Secrets Officer',
};

const BROAD_ROLES: Readonly<Record<string, string>> = {
  '8e3af657-a8ff-443c-a75c-2fe8c4bcb635': 'Owner',
  'b24988ac-6180-42a0-ab88-20f7382dd24c': 'Contributor',
  '18d7d88d-d35e-4fb5-a5c3-7773c20a72d9': 'User Access Administrator',
  '17d1049b-9a84-46fb-8f53-869881c3d3ab': 'Storage Account Contributor',
  'b7e6dc6d-f1e8-4753-8033-0f276bb0955b': 'Storage Blob Data Owner',
  '00482a5a-887f-4fb3-b363-3b7fe8e74483': 'Key Vault Administrator',
  'cd570a14-e51a-42ad-bac8-bafd67325302': 'Azure Connected Machine Resource Administrator',
  'de139f84-1756-47ae-9be6-808fbbe84772': 'Website Contributor',
};

/** `[subscriptionResourceId('...roleDefinitions', variables('x'))]` → the role's name, or the expression itself. */
function roleName(assignment: ArmResource): string {
  const expression = String(assignment.properties.roleDefinitionId);
  const variable = /variables\('([^']+)'\)/.exec(expression)?.[1];
  const variables = (assignment.template.variables ?? {}) as Record<string, unknown>;
  const id = variable === undefined ? expression : String(variables[variable]);
  return ROLES[id] ?? expression;
}

/** The resource type an assignment's `scope` names (`[resourceId('Microsoft.X/y', ...)]`), or the deployment's. */
function scopeType(assignment: ArmResource): string {
  const scope = assignment.resource.scope;
  if (scope === undefined) return 'resourceGroup';
  const text = typeof scope === 'string' ? scope : JSON.stringify(scope);
  return /resourceId\('([^']+)'/.exec(text)?.[1] ?? text;
}

const bicep = inject('bicep');
reportMissingBicep(bicep);

describe.skipIf(!bicep.available)('infra/main.bicep roles', () => {
  let resources: ArmResource[];
  let templateText: string;

  beforeAll(() => {
    const template = buildArmTemplate(path.join(REPO_ROOT, 'infra', 'main.bicep'));
    templateText = JSON.stringify(template);
    resources = armResources(template);
  });

  it('grants only narrow roles, each on the one resource that needs it', () => {
    const granted = resources
      .filter((resource) => resource.type.toLowerCase() === 'microsoft.authorization/roleassignments')
      .map((assignment) => `${roleName(assignment)} on ${scopeType(assignment)}`)
      .sort();
    expect(granted).toEqual(
      [
        'Storage Queue Data Contributor on Microsoft.Storage/storageAccounts',
        'Storage Table Data Contributor on Microsoft.Storage/storageAccounts',
        // Only the deployment package, host lock and function key containers, not the whole account.
        'Storage Blob Data Contributor on Microsoft.Storage/storageAccounts/blobServices/containers',
        'Monitoring Metrics Publisher on Microsoft.Insights/components',
        'Key Vault Secrets User on Microsoft.KeyVault/vaults',
        // The operator's, to import the controller certificate and set guest credentials.
        'Key Vault Certificates Officer on Microsoft.KeyVault/vaults',
        'Key Vault Secrets Officer on Microsoft.KeyVault/vaults',
        // The custom Arc role, deployed into each Arc resource group.
        "[parameters('roleDefinitionId')] on resourceGroup",
      ].sort(),
    );
  });

  it('gives the Arc machines a custom role with only machine read and run commands', () => {
    const definitions = resources.filter(
      (resource) => resource.type.toLowerCase() === 'microsoft.authorization/roledefinitions',
    );
    expect(definitions).toHaveLength(1);
    expect(definitions[0]?.properties.permissions).toEqual([
      {
        actions: ['Microsoft.HybridCompute/machines/read', 'Microsoft.HybridCompute/machines/runCommands/*'],
        notActions: [],
        dataActions: [],
        notDataActions: [],
      },
    ]);
  });

  it('names no broad built-in role anywhere', () => {
    const found = Object.entries(BROAD_ROLES)
      .filter(([id]) => templateText.includes(id))
      .map(([, name]) => name);
    expect(found).toEqual([]);
  });
});
