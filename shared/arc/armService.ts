import { type AzureService } from '../http/azurePipeline';
import { isTransientStatus } from '../http/retryPolicy';

/**
 * Whether a later queue delivery could succeed after this ARM status: transient ones, plus 409 (another operation on
 * the machine, e.g. a run command still running) and 423 (locked).
 */
export function isRetryableStatus(status: number): boolean {
  return isTransientStatus(status) || status === 409 || status === 423;
}

/** Azure Resource Manager, for the shared Azure pipeline. */
export const armService: AzureService = {
  source: 'AzureResourceManager',
  displayName: 'Azure Resource Manager',
  isRetryableStatus,
};
