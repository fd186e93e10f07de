import { randomUUID } from 'node:crypto';

import { z } from 'zod';

/**
 * What every emulator's injected failure has in common: which requests it hits (method, path regex, how many, how
 * often) and what the answer becomes (status, error, Retry-After, added latency). Each emulator extends it with
 * what only it can fail (a controller operation, a configuration state).
 */
export const baseFaultRuleShape = {
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
  /** The chance that a matching request is hit; every one when absent. */
  probability: z.number().min(0).max(1).optional(),
  /** Delay before answering (with the fault, or normally when there is no `status`). */
  latencyInMs: z.int().min(0).max(600_000).optional(),
  status: z.int().min(400).max(599).optional(),
  error: z.strictObject({ code: z.string().min(1), message: z.string() }).optional(),
  retryAfterInSeconds: z.int().min(0).optional(),
};

export type BaseFaultRule = z.infer<z.ZodObject<typeof baseFaultRuleShape>>;

interface StoredFault<R extends BaseFaultRule> {
  id: string;
  rule: R;
  pattern: RegExp;
  remaining: number | undefined;
  hits: number;
}

/** Injected failures, matched in the order they were added; the first that applies wins. */
export class FaultRegistry<R extends BaseFaultRule> {
  #faults: StoredFault<R>[] = [];

  constructor(private readonly random: () => number = Math.random) {}

  add(rule: R): string {
    const id = randomUUID();
    this.#faults.push({ id, rule, pattern: new RegExp(rule.path, 'i'), remaining: rule.times, hits: 0 });
    return id;
  }

  list(): (R & { id: string; remaining?: number; hits: number })[] {
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

  /** The rule that applies to this request, if any; uses up one of its `times`. */
  take(method: string, path: string): R | undefined {
    for (const fault of this.#faults) {
      const { rule } = fault;
      if (rule.method !== undefined && rule.method.toUpperCase() !== method.toUpperCase()) continue;
      if (fault.remaining === 0 || !fault.pattern.test(path)) continue;
      if (rule.probability !== undefined && this.random() >= rule.probability) continue;
      if (fault.remaining !== undefined) fault.remaining--;
      fault.hits++;
      return rule;
    }
    return undefined;
  }
}
