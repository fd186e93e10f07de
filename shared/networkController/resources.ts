import { z } from 'zod';

/**
 * Network Controller resource shapes (MS-NCNBI, camelCase on the wire). Objects are loose so a NIC read and written
 * back keeps every field this product does not know about.
 */
const ResourceRefSchema = z.looseObject({ resourceRef: z.string() });

export const IpConfigurationSchema = z.looseObject({
  resourceId: z.string(),
  resourceRef: z.string().optional(),
  etag: z.string().optional(),
  instanceId: z.string().optional(),
  tags: z.record(z.string(), z.unknown()).optional(),
  properties: z.looseObject({
    provisioningState: z.string().optional(),
    privateIPAddress: z.string().optional(),
    privateIPAllocationMethod: z.string().optional(),
    subnet: ResourceRefSchema.optional(),
    accessControlList: ResourceRefSchema.optional(),
  }),
});
export type IpConfiguration = z.infer<typeof IpConfigurationSchema>;

export const ConfigurationStateSchema = z.looseObject({
  status: z.string(),
  detailedInfo: z
    .array(
      z.looseObject({ source: z.string().optional(), message: z.string().optional(), code: z.string().optional() }),
    )
    .optional(),
  lastUpdatedTime: z.string().optional(),
});
export type ConfigurationState = z.infer<typeof ConfigurationStateSchema>;

export const NetworkInterfaceSchema = z.looseObject({
  resourceId: z.string(),
  resourceRef: z.string().optional(),
  etag: z.string().optional(),
  instanceId: z.string().optional(),
  properties: z.looseObject({
    provisioningState: z.string().optional(),
    ipConfigurations: z.array(IpConfigurationSchema).default([]),
    configurationState: ConfigurationStateSchema.optional(),
    /** Read-only: the Hyper-V host (`/servers/{id}`) the NIC is placed on, when the controller has placed it. */
    server: ResourceRefSchema.optional(),
  }),
});
export type NetworkInterface = z.infer<typeof NetworkInterfaceSchema>;

/** A Hyper-V host the controller manages; its management addresses name the machine. */
export const ServerSchema = z.looseObject({
  resourceId: z.string(),
  resourceRef: z.string().optional(),
  properties: z.looseObject({
    connections: z.array(z.looseObject({ managementAddresses: z.array(z.string()).optional() })).optional(),
  }),
});
export type Server = z.infer<typeof ServerSchema>;

export const VirtualSubnetSchema = z.looseObject({
  resourceId: z.string(),
  resourceRef: z.string().optional(),
  etag: z.string().optional(),
  properties: z.looseObject({
    provisioningState: z.string().optional(),
    addressPrefix: z.string(),
    accessControlList: ResourceRefSchema.optional(),
    ipConfigurations: z.array(ResourceRefSchema).optional(),
  }),
});
export type VirtualSubnet = z.infer<typeof VirtualSubnetSchema>;

export const AccessControlListSchema = z.looseObject({
  resourceId: z.string(),
  resourceRef: z.string().optional(),
  etag: z.string().optional(),
  properties: z.looseObject({ provisioningState: z.string().optional() }),
});
export type AccessControlList = z.infer<typeof AccessControlListSchema>;

export const OperationStatusSchema = z.looseObject({
  status: z.enum(['InProgress', 'Succeeded', 'Failed', 'Canceled']),
  error: z
    .looseObject({
      code: z.string().optional(),
      message: z.string().optional(),
      details: z.array(z.looseObject({ code: z.string().optional(), message: z.string().optional() })).optional(),
    })
    .optional(),
});
export type OperationStatus = z.infer<typeof OperationStatusSchema>;

export function listSchema<T extends z.ZodType>(item: T) {
  return z.looseObject({ value: z.array(item), nextLink: z.string().optional().nullable() });
}

export const nicPath = (nicId: string) => `/networkInterfaces/${encodeURIComponent(nicId)}`;
export const subnetPath = (vnetId: string, subnetId: string) =>
  `/virtualNetworks/${encodeURIComponent(vnetId)}/subnets/${encodeURIComponent(subnetId)}`;
export const subnetsPath = (vnetId: string) => `/virtualNetworks/${encodeURIComponent(vnetId)}/subnets`;
export const aclPath = (aclId: string) => `/accessControlLists/${encodeURIComponent(aclId)}`;

/** resourceRefs are echoed as clients sent them, so compare them without regard to case. */
export function sameResourceRef(a: string | undefined, b: string | undefined): boolean {
  return a !== undefined && b !== undefined && a.toLowerCase() === b.toLowerCase();
}
