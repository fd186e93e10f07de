// The app's virtual network: one subnet delegated to Flex Consumption's VNet integration (all outbound traffic then
// leaves through it, so the app reaches a Network Controller inside the private cloud once this VNet is peered with
// the network that routes there), and one for private endpoints.

@description('Name of the virtual network.')
param name string

@description('Azure region.')
param location string

@description('Tags for every resource.')
param tags object

@description('Address space of the virtual network; must not overlap the private cloud\'s management network.')
param addressPrefix string

@description('Subnet for the app\'s VNet integration (at least /28).')
param appSubnetPrefix string

@description('Subnet for the private endpoints of storage and Key Vault.')
param privateEndpointSubnetPrefix string

@description('DNS servers that resolve the Network Controller\'s REST name; empty for Azure DNS.')
param dnsServers array

resource vnet 'Microsoft.Network/virtualNetworks@2024-05-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    addressSpace: { addressPrefixes: [addressPrefix] }
    dhcpOptions: { dnsServers: dnsServers }
    subnets: [
      {
        name: 'app'
        properties: {
          addressPrefix: appSubnetPrefix
          delegations: [
            {
              name: 'flex-consumption'
              properties: { serviceName: 'Microsoft.App/environments' }
            }
          ]
        }
      }
      {
        name: 'private-endpoints'
        properties: {
          addressPrefix: privateEndpointSubnetPrefix
          privateEndpointNetworkPolicies: 'Disabled'
        }
      }
    ]
  }
}

output id string = vnet.id
output appSubnetId string = resourceId('Microsoft.Network/virtualNetworks/subnets', vnet.name, 'app')
output privateEndpointSubnetId string = resourceId('Microsoft.Network/virtualNetworks/subnets', vnet.name, 'private-endpoints')
