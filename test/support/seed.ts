import type { AcceptedAttachRequest, AttachRequestInput } from '../../shared/model/attachRequest';

/** The seed scenario of Microsoft's walkthrough, as one attach request. */
export function seedRequest(overrides: Partial<AttachRequestInput> = {}): AttachRequestInput {
  return {
    attachmentId: 'seed-1',
    networkController: 'default',
    virtualNetworkId: 'VNet1',
    subnetId: 'Subnet1',
    nic: { privateIpAddress: '192.168.1.9' },
    accessControlListId: 'AllowAll',
    containerIps: { range: { first: '192.168.1.101', last: '192.168.1.110' } },
    hyperVHost: { machineName: 'HV01' },
    containerHost: { machineName: 'ContainerHostVM1' },
    network: { name: 'MyContainerOverlayNetwork', driver: 'l2bridge' },
    ...overrides,
  };
}

export function acceptedSeedRequest(overrides: Partial<AttachRequestInput> = {}): AcceptedAttachRequest {
  return { networkController: 'default', ...seedRequest(overrides) } as AcceptedAttachRequest;
}
