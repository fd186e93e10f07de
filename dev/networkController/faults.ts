import { z } from 'zod';

import { baseFaultRuleShape, FaultRegistry as BaseFaultRegistry } from '../faults';

const errorSchema = z.object({ code: z.string().min(1), message: z.string() });

/** The common rule (dev/faults.ts) plus what only a controller can fail: an operation, a configuration state. */
export const faultRuleSchema = z.object({
  ...baseFaultRuleShape,
  operation: z.object({ status: z.enum(['Failed', 'Canceled']), error: errorSchema }).optional(),
  configurationState: z
    .object({
      status: z.enum(['Uninitialized', 'InProgress', 'Success', 'Warning', 'Failure']),
      detailedInfo: z.array(z.object({ source: z.string(), message: z.string(), code: z.string() })),
    })
    .optional(),
});

export type FaultRule = z.infer<typeof faultRuleSchema>;

export class FaultRegistry extends BaseFaultRegistry<FaultRule> {}

const DEFAULT_CODES: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  409: 'AnotherOperationInProgress',
  412: 'PreconditionFailed',
  429: 'TooManyRequests',
  500: 'InternalServerError',
  502: 'BadGateway',
  503: 'ServiceUnavailable',
  504: 'GatewayTimeout',
};

export function defaultErrorCode(status: number): string {
  return DEFAULT_CODES[status] ?? (status >= 500 ? 'InternalServerError' : 'BadRequest');
}
