// Assigns the Arc run-command role to the app's identity on one resource group of Arc machines (deployed with that
// resource group as its scope).

@description('Resource id of the custom role.')
param roleDefinitionId string

@description('Resource id of the app\'s user-assigned managed identity (names the assignment).')
param appIdentityId string

@description('Principal id of that identity.')
param appPrincipalId string

resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(resourceGroup().id, appIdentityId, roleDefinitionId)
  properties: {
    roleDefinitionId: roleDefinitionId
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}
