import { z } from 'zod';

import { newGuid } from './http';

const errorSchema = z.object({ code: z.string().min(1), message: z.string() });

export const faultRuleSchema = z.object({
  method: z.string().min(1).optional(),
  /** Regex tested case-insensitively against the path after /networking/v1. */
  path: z.string().refine((source) => {
    try {
      new RegExp(source, 'i');
      return true;
    } catch {
      return false;
    }
  }, 'path must be a valid regular expression'),
  times: z.number().int().positive().optional(),
  probability: z.number().min(0).max(1).optional(),
  latencyInMs: z.number().int().min(0).max(600_000).optional(),
  status: z.number().int().min(400).max(599).optional(),
  error: errorSchema.optional(),
  retryAfterInSeconds: z.number().int().min(0).optional(),
  operation: z.object({ status: z.enum(['Failed', 'Canceled']), error: errorSchema }).optional(),
  configurationState: z
    .object({
      status: z.enum(['Uninitialized', 'InProgress', 'Success', 'Warning', 'Failure']),
      detailedInfo: z.array(z.object({ source: z.string(), message: z.string(), code: z.string() })),
    })
    .optional(),
});

export type FaultRule = z.infer<typeof faultRuleSchema>;

interface StoredFault {
  id: string;
  rule: FaultRule;
  pattern: RegExp;
  remaining: number | undefined;
  hits: number;
}

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

/** Injected failures, matched in the order they were added; the first rule that fires wins. */
export class FaultRegistry {
  private faults: StoredFault[] = [];

  add(rule: FaultRule): string {
    const id = newGuid();
    this.faults.push({ id, rule, pattern: new RegExp(rule.path, 'i'), remaining: rule.times, hits: 0 });
    return id;
  }

  list(): (FaultRule & { id: string; remaining?: number; hits: number })[] {
    return this.faults.map(({ id, rule, remaining, hits }) => ({ id, ...rule, remaining, hits }));
  }

  remove(id: string): boolean {
    const before = this.faults.length;
    this.faults = this.faults.filter((fault) => fault.id !== id);
    return this.faults.length !== before;
  }

  clear(): void {
    this.faults = [];
  }

  /** The rule that applies to this request, if any; consumes one of its `times`. */
  take(method: string, path: string): FaultRule | undefined {
    for (const fault of this.faults) {
      const { rule } = fault;
      if (rule.method !== undefined && rule.method.toUpperCase() !== method.toUpperCase()) continue;
      if (fault.remaining === 0 || !fault.pattern.test(path)) continue;
      if (rule.probability !== undefined && Math.random() >= rule.probability) continue;
      if (fault.remaining !== undefined) fault.remaining--;
      fault.hits++;
      return rule;
    }
    return undefined;
  }
}
