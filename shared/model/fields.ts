import { z } from 'zod';

/** Says "is required" for a missing value and `otherwise` for one of the wrong type. */
export const typeError = (otherwise: string) => (issue: { input?: unknown }) =>
  issue.input === undefined ? 'is required' : otherwise;

/** A string that must match `pattern`; the reason names the pattern and what it stands for. */
export const patterned = (pattern: RegExp, what: string) =>
  z
    .string({ error: typeError(`must be a string (${what})`) })
    .regex(pattern, { error: `must match ${pattern.source} (${what})` });

/** An object with exactly these fields: an unknown field is refused by name. */
export const object = <T extends z.core.$ZodLooseShape>(shape: T) =>
  z.strictObject(shape, { error: typeError('must be an object') });
