// The one identity the app uses for everything: storage, App Insights ingestion, Key Vault, ARM (Arc Run Command).
// User-assigned, so its roles exist before the app starts and survive a re-created app.

@description('Name of the user-assigned managed identity.')
param name string

@description('Azure region.')
param location string

@description('Tags for every resource.')
param tags object

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output clientId string = identity.properties.clientId
output principalId string = identity.properties.principalId
