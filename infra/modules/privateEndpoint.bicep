// One private endpoint for one sub-resource (blob, queue, table, vault) with its private DNS zone linked to the VNet,
// so the app resolves the service's usual host name to the private address.

@description('Name of the private endpoint.')
param name string

@description('Azure region.')
param location string

@description('Tags for every resource.')
param tags object

@description('Resource id of the storage account or vault.')
param targetId string

@description('Sub-resource: blob, queue, table or vault.')
@allowed(['blob', 'queue', 'table', 'vault'])
param groupId string

@description('Private DNS zone of that sub-resource, e.g. privatelink.queue.core.windows.net.')
param dnsZoneName string

@description('Subnet of the private endpoint.')
param subnetId string

@description('Virtual network the DNS zone is linked to.')
param vnetId string

resource zone 'Microsoft.Network/privateDnsZones@2020-06-01' = {
  name: dnsZoneName
  location: 'global'
  tags: tags
}

resource link 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2020-06-01' = {
  parent: zone
  name: '${name}-link'
  location: 'global'
  tags: tags
  properties: {
    registrationEnabled: false
    virtualNetwork: { id: vnetId }
  }
}

resource endpoint 'Microsoft.Network/privateEndpoints@2024-05-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    subnet: { id: subnetId }
    privateLinkServiceConnections: [
      {
        name: name
        properties: {
          privateLinkServiceId: targetId
          groupIds: [groupId]
        }
      }
    ]
  }
}

resource zoneGroup 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2024-05-01' = {
  parent: endpoint
  name: 'default'
  properties: {
    privateDnsZoneConfigs: [
      {
        name: replace(dnsZoneName, '.', '-')
        properties: { privateDnsZoneId: zone.id }
      }
    ]
  }
}
