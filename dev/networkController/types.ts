/** Wire shapes of the Network Controller resources the emulator stores, in their canonical response casing. */

export type JsonObject = Record<string, unknown>;

export type ProvisioningState = 'Updating' | 'Succeeded' | 'Failed' | 'Deleting';

export interface ResourceReference {
  resourceRef: string;
}

export interface ConfigurationDetail {
  source: string;
  message: string;
  code: string;
}

export interface ConfigurationState {
  status: 'Uninitialized' | 'InProgress' | 'Success' | 'Warning' | 'Failure';
  detailedInfo: ConfigurationDetail[];
  lastUpdatedTime: string;
  id: string;
}

/** The envelope every resource and child resource carries. */
export interface Resource {
  resourceRef: string;
  resourceId: string;
  etag: string;
  instanceId: string;
  tags?: Record<string, unknown>;
  resourceMetadata?: JsonObject;
  properties: JsonObject & { provisioningState: ProvisioningState };
  [extra: string]: unknown;
}

export interface IpConfiguration extends Resource {
  properties: JsonObject & {
    provisioningState: ProvisioningState;
    privateIPAddress?: string;
    privateIPAllocationMethod?: string;
    subnet?: ResourceReference;
    accessControlList?: ResourceReference;
  };
}

export interface NetworkInterface extends Resource {
  properties: JsonObject & {
    provisioningState: ProvisioningState;
    ipConfigurations: IpConfiguration[];
    configurationState?: ConfigurationState;
  };
}

export type OperationStatus = 'InProgress' | 'Succeeded' | 'Failed' | 'Canceled';

export interface ErrorDetail {
  code: string;
  message: string;
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
