targetScope = 'subscription'

// A custom role with exactly what steps 2-4 do on Arc-enabled machines: read a machine (agent status and version),
// and create, poll and delete its run commands. Built-in roles that cover it (Azure Connected Machine Resource
// Administrator) also allow changing and deleting the machines themselves.

@description('Name that makes the role unique per environment.')
param environmentName string

@description('GUID of the role definition (main.bicep derives it, so assignments can name it before it exists).')
param roleGuid string

@description('Resource ids of the resource groups that hold the Arc machines; the only scopes the role may be assigned at.')
@minLength(1)
param assignableScopes array

resource role 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: roleGuid
  properties: {
    roleName: 'SDN attach Arc run command (${environmentName})'
    description: 'Read Arc-enabled machines and manage their run commands; nothing else.'
    type: 'CustomRole'
    assignableScopes: assignableScopes
    permissions: [
      {
        actions: [
          'Microsoft.HybridCompute/machines/read'
          'Microsoft.HybridCompute/machines/runCommands/*'
        ]
        notActions: []
        dataActions: []
        notDataActions: []
      }
    ]
  }
}
