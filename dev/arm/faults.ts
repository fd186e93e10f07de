import { z } from 'zod';

import { baseFaultRuleShape, FaultRegistry as BaseFaultRegistry } from '../faults';

/** An injected failure for ARM routes (never `/_emulator`): the common rule of dev/faults.ts. */
export const faultRuleSchema = z.strictObject(baseFaultRuleShape);

export type FaultRule = z.infer<typeof faultRuleSchema>;

export class FaultRegistry extends BaseFaultRegistry<FaultRule> {}

const DEFAULT_CODES: Readonly<Record<number, string>> = {
  400: 'BadRequest',
  401: 'AuthenticationFailed',
  403: 'AuthorizationFailed',
  404: 'ResourceNotFound',
  408: 'RequestTimeout',
  409: 'Conflict',
  429: 'TooManyRequests',
  500: 'InternalServerError',
  502: 'BadGateway',
  503: 'ServiceUnavailable',
  504: 'GatewayTimeout',
};

export function defaultErrorCode(status: number): string {
  return DEFAULT_CODES[status] ?? (status >= 500 ? 'InternalServerError' : 'BadRequest');
}
