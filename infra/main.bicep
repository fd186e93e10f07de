targetScope = 'subscription'

// `azd up` entry point: one resource group with the Function App (Flex Consumption), its storage, monitoring, Key Vault
// and optional network, plus a least-privilege role on the resource groups of the Arc machines. docs/deploy.md walks
// through every parameter.

@minLength(1)
@maxLength(40)
@description('azd environment name; names and tags every resource.')
param environmentName string

@minLength(1)
@description('Region of every resource (one that offers Flex Consumption).')
@metadata({ azd: { type: 'location' } })
param location string

@description('Resource group to create; empty for rg-<environmentName>.')
param resourceGroupName string = ''

@description('Object id of the operator running azd (may import the certificate and set secrets in the vault); empty for none.')
param operatorPrincipalId string = ''

@description('Northbound REST URL of the default Network Controller: https://<RestName FQDN>/networking/v1.')
param networkControllerUrl string

@description('x509: the app presents the client certificate from Key Vault; none: no client authentication.')
@allowed(['x509', 'none'])
param networkControllerAuthMode string = 'x509'

@description('Name of the Key Vault certificate (imported PFX) the app presents to the Network Controller.')
param networkControllerCertificateName string = 'network-controller-client'

@description('Key Vault secret with the PEM of the controller\'s server CA; empty when a public CA signed it.')
param networkControllerCaSecretName string = ''

@description('Resource groups (in this subscription, comma-separated) that hold the Arc-enabled hosts and VMs; the first is the default.')
@minLength(1)
param arcResourceGroups string

@description('Client id of the Entra ID app registration that carries the app roles (docs/deploy.md).')
param authClientId string

@description('Entra ID tenant of the app registration; empty for this subscription\'s tenant.')
param authTenantId string = ''

@description('App role value of the operator.')
param operatorRole string = 'SdnAttach.Operator'

@description('App role value of a tenant\'s principals.')
param tenantRole string = 'SdnAttach.Tenant'

@description('Integrate the app with a new virtual network (needed to reach a Network Controller in the private cloud).')
param vnetIntegration bool = false

@description('Reach storage and Key Vault only through private endpoints in that network (needs vnetIntegration).')
param privateEndpoints bool = false

@description('Address space of the new virtual network.')
param vnetAddressPrefix string = '10.240.0.0/24'

@description('Subnet of the app\'s VNet integration.')
param appSubnetPrefix string = '10.240.0.0/25'

@description('Subnet of the private endpoints.')
param privateEndpointSubnetPrefix string = '10.240.0.128/27'

@description('DNS servers of the virtual network, comma-separated (they must resolve the controller\'s REST name); empty for Azure DNS.')
param dnsServers string = ''

@description('Largest number of instances Flex Consumption scales out to.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Memory of one instance (MB).')
@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

@description('Days Log Analytics keeps logs.')
@minValue(30)
@maxValue(730)
param logRetentionInDays int = 30

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName }
var functionAppName = 'func-sdnattach-${resourceToken}'
var deploymentContainerName = 'app-package-${resourceToken}'
var usePrivateEndpoints = vnetIntegration && privateEndpoints
// Comma-separated strings rather than arrays, so they come straight from azd environment values.
var arcResourceGroupNames = filter(map(split(arcResourceGroups, ','), name => trim(name)), name => !empty(name))
var dnsServerAddresses = filter(map(split(dnsServers, ','), address => trim(address)), address => !empty(address))
var identityName = 'id-sdnattach-${resourceToken}'
var arcRoleGuid = guid(subscription().id, 'sdn-attach-arc-run-command', environmentName)

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: empty(resourceGroupName) ? 'rg-${environmentName}' : resourceGroupName
  location: location
  tags: tags
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: identityName
    location: location
    tags: tags
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: 'stsdn${resourceToken}'
    location: location
    tags: tags
    deploymentContainerName: deploymentContainerName
    appIdentityName: identityName
    privateOnly: usePrivateEndpoints
  }
  dependsOn: [identity]
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: 'log-sdnattach-${resourceToken}'
    applicationInsightsName: 'appi-sdnattach-${resourceToken}'
    location: location
    tags: tags
    retentionInDays: logRetentionInDays
    appIdentityName: identityName
  }
  dependsOn: [identity]
}

module keyVault 'modules/keyVault.bicep' = {
  name: 'keyVault'
  scope: rg
  params: {
    name: 'kv-sdn-${resourceToken}'
    location: location
    tags: tags
    appIdentityName: identityName
    operatorPrincipalId: operatorPrincipalId
    privateOnly: usePrivateEndpoints
  }
  dependsOn: [identity]
}

module network 'modules/network.bicep' = if (vnetIntegration) {
  name: 'network'
  scope: rg
  params: {
    name: 'vnet-sdnattach-${resourceToken}'
    location: location
    tags: tags
    addressPrefix: vnetAddressPrefix
    appSubnetPrefix: appSubnetPrefix
    privateEndpointSubnetPrefix: privateEndpointSubnetPrefix
    dnsServers: dnsServerAddresses
  }
}

// blob (host and deployment package), queue (steps), table (state), vault (Key Vault references, guest credentials).
var privateEndpointTargets = [
  { groupId: 'blob', zone: 'privatelink.blob.${environment().suffixes.storage}' }
  { groupId: 'queue', zone: 'privatelink.queue.${environment().suffixes.storage}' }
  { groupId: 'table', zone: 'privatelink.table.${environment().suffixes.storage}' }
  { groupId: 'vault', zone: 'privatelink${environment().suffixes.keyvaultDns}' }
]

module endpoints 'modules/privateEndpoint.bicep' = [
  for target in privateEndpointTargets: if (usePrivateEndpoints) {
    name: 'pe-${target.groupId}'
    scope: rg
    params: {
      name: 'pe-${target.groupId}-${resourceToken}'
      location: location
      tags: tags
      targetId: target.groupId == 'vault' ? keyVault.outputs.id : storage.outputs.id
      groupId: target.groupId
      dnsZoneName: target.zone
      subnetId: network.?outputs.privateEndpointSubnetId ?? ''
      vnetId: network.?outputs.id ?? ''
    }
  }
]

module arcRole 'modules/arcRunCommandRole.bicep' = {
  name: 'arcRunCommandRole'
  params: {
    environmentName: environmentName
    roleGuid: arcRoleGuid
    assignableScopes: [for name in arcResourceGroupNames: subscriptionResourceId('Microsoft.Resources/resourceGroups', name)]
  }
}

module arcAccess 'modules/arcRunCommandAssignment.bicep' = [
  for name in arcResourceGroupNames: {
    name: 'arcAccess-${name}'
    scope: resourceGroup(name)
    params: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', arcRoleGuid)
      appIdentityId: resourceId(subscription().subscriptionId, rg.name, 'Microsoft.ManagedIdentity/userAssignedIdentities', identityName)
      appPrincipalId: identity.outputs.principalId
    }
    dependsOn: [arcRole]
  }
]

module functionApp 'modules/functionApp.bicep' = {
  name: 'functionApp'
  scope: rg
  params: {
    name: functionAppName
    planName: 'plan-sdnattach-${resourceToken}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    storageBlobEndpoint: storage.outputs.blobEndpoint
    deploymentContainerName: deploymentContainerName
    applicationInsightsConnectionString: monitoring.outputs.connectionString
    keyVaultName: keyVault.outputs.name
    keyVaultUri: keyVault.outputs.uri
    appSubnetId: network.?outputs.appSubnetId ?? ''
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    networkControllerUrl: networkControllerUrl
    networkControllerAuthMode: networkControllerAuthMode
    networkControllerCertificateName: networkControllerCertificateName
    networkControllerCaSecretName: networkControllerCaSecretName
    arcDefaultSubscriptionId: subscription().subscriptionId
    arcDefaultResourceGroup: arcResourceGroupNames[0]
    authClientId: authClientId
    authTenantId: empty(authTenantId) ? tenant().tenantId : authTenantId
    operatorRole: operatorRole
    tenantRole: tenantRole
  }
  // The app's first start reads storage, Key Vault references and telemetry with these roles.
  dependsOn: [
    endpoints
    arcAccess
  ]
}

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output AZURE_FUNCTION_APP_URL string = 'https://${functionApp.outputs.defaultHostName}'
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output AZURE_KEY_VAULT_URI string = keyVault.outputs.uri
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_MANAGED_IDENTITY_CLIENT_ID string = identity.outputs.clientId
