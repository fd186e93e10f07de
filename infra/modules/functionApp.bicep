// The Function App on the Flex Consumption plan (Node.js 20, Linux), its app settings and App Service Authentication.
// Every app setting below is one the app's configuration (shared/config.ts) or the Functions host reads;
// test/infra/appSettings.test.ts compares them with the app's own list on every `npm test`.

@description('Name of the Function App.')
param name string

@description('Name of the Flex Consumption plan.')
param planName string

@description('Azure region.')
param location string

@description('Tags for every resource.')
param tags object

@description('Resource id of the user-assigned managed identity.')
param identityId string

@description('Client id of that identity.')
param identityClientId string

@description('Name of the storage account (the host and the app reach it by identity).')
param storageAccountName string

@description('Blob endpoint of the storage account, for the deployment package.')
param storageBlobEndpoint string

@description('Blob container of the deployment package.')
param deploymentContainerName string

@description('Application Insights connection string (ingestion only; local auth is off).')
param applicationInsightsConnectionString string

@description('Name of the Key Vault that holds the Network Controller certificate and the guest credentials.')
param keyVaultName string

@description('URI of that vault.')
param keyVaultUri string

@description('Subnet for VNet integration; empty for none.')
param appSubnetId string

@description('Largest number of instances Flex Consumption scales out to.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int

@description('Memory of one instance.')
@allowed([512, 2048, 4096])
param instanceMemoryMB int

@description('Northbound REST URL of the default Network Controller, https, ending in /networking/v1.')
param networkControllerUrl string

@description('How the app authenticates to the Network Controller.')
@allowed(['x509', 'none'])
param networkControllerAuthMode string

@description('Key Vault certificate (PFX) that is the app\'s client certificate for the Network Controller.')
param networkControllerCertificateName string

@description('Key Vault secret holding the PEM of the CA that signed the controller\'s server certificate; empty for the system CAs.')
param networkControllerCaSecretName string

@description('Subscription of the Arc machines that a machine reference does not name.')
param arcDefaultSubscriptionId string

@description('Resource group of the Arc machines that a machine reference does not name.')
param arcDefaultResourceGroup string

@description('Client id of the Entra ID app registration that App Service Authentication validates tokens for.')
param authClientId string

@description('Entra ID tenant of that app registration.')
param authTenantId string

@description('App role value of the operator.')
param operatorRole string

@description('App role value of a tenant\'s principals.')
param tenantRole string

// Key Vault references are resolved by the platform with keyVaultReferenceIdentity (the app's identity). Versionless,
// so a renewed certificate reaches the app within a day, or at once on a restart.
var ncClientPfx = networkControllerAuthMode == 'x509'
  ? '@Microsoft.KeyVault(VaultName=${keyVaultName};SecretName=${networkControllerCertificateName})'
  : ''
var ncCaPem = empty(networkControllerCaSecretName)
  ? ''
  : '@Microsoft.KeyVault(VaultName=${keyVaultName};SecretName=${networkControllerCaSecretName})'

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource app 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identityId}': {} }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    keyVaultReferenceIdentity: identityId
    virtualNetworkSubnetId: empty(appSubnetId) ? null : appSubnetId
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storageBlobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'node'
        version: '20'
      }
    }
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      appSettings: [
        // The Functions host's storage (triggers, output bindings, locks, keys) and the app's own clients, by identity.
        { name: 'AzureWebJobsStorage__accountName', value: storageAccountName }
        { name: 'AzureWebJobsStorage__credential', value: 'managedidentity' }
        { name: 'AzureWebJobsStorage__clientId', value: identityClientId }
        // Telemetry with an Entra ID token (the component refuses its instrumentation key).
        { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: applicationInsightsConnectionString }
        { name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', value: 'Authorization=AAD;ClientId=${identityClientId}' }
        { name: 'APP_ENVIRONMENT', value: 'Production' }
        // Controller `default`: requests that name no controller use it.
        { name: 'NC_DEFAULT_URL', value: networkControllerUrl }
        { name: 'NC_DEFAULT_AUTH_MODE', value: networkControllerAuthMode }
        { name: 'NC_DEFAULT_CLIENT_PFX_BASE64', value: ncClientPfx }
        { name: 'NC_DEFAULT_CA_PEM', value: ncCaPem }
        // Arc Run Command and Key Vault with the same user-assigned identity.
        { name: 'ARM_AUTH_MODE', value: 'managedIdentity' }
        { name: 'ARM_MANAGED_IDENTITY_CLIENT_ID', value: identityClientId }
        { name: 'ARC_DEFAULT_SUBSCRIPTION_ID', value: arcDefaultSubscriptionId }
        { name: 'ARC_DEFAULT_RESOURCE_GROUP', value: arcDefaultResourceGroup }
        { name: 'KEY_VAULT_URL', value: keyVaultUri }
        // The tenant boundary's roles, as defined on the app registration (docs/identity.md).
        { name: 'AUTH_OPERATOR_ROLE', value: operatorRole }
        { name: 'AUTH_TENANT_ROLE', value: tenantRole }
      ]
    }
  }
}

// Deployments sign in with Entra ID (azd does); no publishing user names and passwords.
resource ftpCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: app
  name: 'ftp'
  properties: { allow: false }
}

resource scmCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: app
  name: 'scm'
  properties: { allow: false }
}

// App Service Authentication with Entra ID: every request needs a token for the app registration (401 otherwise),
// and the platform then passes x-ms-client-principal and sets WEBSITE_AUTH_ENABLED, which the app requires outside
// Development. Function keys stay (authLevel 'function'). Callers send bearer tokens, so no token store: on Flex
// Consumption it would need a blob SAS URL, and shared keys are off.
resource auth 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: app
  name: 'authsettingsV2'
  properties: {
    platform: { enabled: true }
    globalValidation: {
      requireAuthentication: true
      unauthenticatedClientAction: 'Return401'
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        registration: {
          clientId: authClientId
          openIdIssuer: '${environment().authentication.loginEndpoint}${authTenantId}/v2.0'
        }
        validation: {
          allowedAudiences: [
            authClientId
            'api://${authClientId}'
          ]
        }
      }
    }
    login: { tokenStore: { enabled: false } }
  }
}

output name string = app.name
output defaultHostName string = app.properties.defaultHostName
