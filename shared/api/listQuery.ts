import { z } from 'zod';

import { RUNTIME_STATUSES, type RuntimeStatus } from '../model/records';

/** Continuation tokens are ours (base64 of the table's own): anything else is refused before it reaches storage. */
const CONTINUATION_TOKEN_PATTERN = /^[A-Za-z0-9+/=_-]{1,2048}$/;

/**
 * The list route's query string (`runtimeStatus=Failed,Running&top=20&continuationToken=...`), parsed from
 * `URLSearchParams` entries. `top` defaults to 50, capped by the configured page size.
 */
export function listQuerySchema(pageSizeMax: number) {
  return z.object({
    runtimeStatus: z
      .string()
      .optional()
      .transform((text) =>
        (text ?? '')
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      )
      .superRefine((statuses, ctx) => {
        const unknown = statuses.filter((s) => !RUNTIME_STATUSES.includes(s as RuntimeStatus));
        if (unknown.length > 0)
          ctx.addIssue({
            code: 'custom',
            message: `unknown value(s) ${unknown.join(', ')}; use ${RUNTIME_STATUSES.join(', ')}`,
          });
      })
      .transform((statuses) => statuses as RuntimeStatus[]),
    top: z
      .string()
      .optional()
      .transform((text) => (text === undefined ? Math.min(50, pageSizeMax) : Number(text)))
      .refine((top) => Number.isInteger(top) && top >= 1 && top <= pageSizeMax, {
        error: `must be a whole number from 1 to ${pageSizeMax}`,
      }),
    continuationToken: z
      .string()
      .regex(CONTINUATION_TOKEN_PATTERN, { error: 'is not a token this API returned' })
      .optional(),
  });
}

export type ListQuery = z.infer<ReturnType<typeof listQuerySchema>>;
