import { randomUUID } from 'node:crypto';

import { z } from 'zod';

/** An injected failure for ARM routes (never `/_emulator`), in the same shape as the Network Controller emulator's. */
export const faultRuleSchema = z.strictObject({
  method: z.string().min(1).optional(),
  /** Regex tested case-insensitively against the request path (no query). */
  path: z.string().refine((source) => {
    try {
      new RegExp(source, 'i');
      return true;
    } catch {
      return false;
    }
  }, 'path must be a valid regular expression'),
  /** How many matching requests it hits; every one when absent. */
  times: z.int().positive().optional(),
  status: z.int().min(400).max(599).optional(),
  error: z.strictObject({ code: z.string().min(1), message: z.string() }).optional(),
  retryAfterInSeconds: z.int().min(0).optional(),
  /** Delay before answering (with the fault, or normally when there is no `status`). */
  latencyInMs: z.int().min(0).max(600_000).optional(),
});

export type FaultRule = z.infer<typeof faultRuleSchema>;

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

interface StoredFault {
  id: string;
  rule: FaultRule;
  pattern: RegExp;
  remaining: number | undefined;
  hits: number;
}

/** Injected failures, matched in the order they were added; the first that applies wins. */
export class FaultRegistry {
  #faults: StoredFault[] = [];

  add(rule: FaultRule): string {
    const id = randomUUID();
    this.#faults.push({ id, rule, pattern: new RegExp(rule.path, 'i'), remaining: rule.times, hits: 0 });
    return id;
  }

  list(): (FaultRule & { id: string; remaining?: number; hits: number })[] {
    return this.#faults.map(({ id, rule, remaining, hits }) => ({ id, ...rule, remaining, hits }));
  }

  remove(id: string): boolean {
    const before = this.#faults.length;
    this.#faults = this.#faults.filter((fault) => fault.id !== id);
    return this.#faults.length !== before;
  }

  clear(): void {
    this.#faults = [];
  }

  /** The rule for this request, if any; uses up one of its `times`. */
  take(method: string, path: string): FaultRule | undefined {
    for (const fault of this.#faults) {
      if (fault.rule.method !== undefined && fault.rule.method.toUpperCase() !== method.toUpperCase()) continue;
      if (fault.remaining === 0 || !fault.pattern.test(path)) continue;
      if (fault.remaining !== undefined) fault.remaining--;
      fault.hits++;
      return fault.rule;
    }
    return undefined;
  }
}
