import { createHash } from 'node:crypto';

import { ValidationError } from '../errors';

const MAX_LENGTH = 64;

function slug(value: string): string {
  return value
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

/**
 * The run command's name for one attempt of one step of one attachment: deterministic (a redelivered start PUTs the
 * same resource), lower-case (ARM names are case-insensitive), ARM-safe and at most 64 characters. A hash of the raw
 * parts keeps names distinct when the readable part had to be shortened or cleaned.
 */
export function runCommandName(parts: { attachmentId: string; step: string; attempt: number }): string {
  const issues = [];
  if (parts.attachmentId.length === 0) issues.push({ field: 'attachmentId', reason: 'must not be empty' });
  if (slug(parts.step).length === 0) issues.push({ field: 'step', reason: 'must contain a letter or digit' });
  if (!Number.isSafeInteger(parts.attempt) || parts.attempt < 0) {
    issues.push({ field: 'attempt', reason: 'must be a whole number, 0 or more' });
  }
  if (issues.length > 0) throw new ValidationError(issues, { code: 'InvalidRunCommandName' });

  const hash = createHash('sha256')
    .update(`${parts.attachmentId}\u0000${parts.step}\u0000${parts.attempt}`)
    .digest('hex')
    .slice(0, 10);
  const head = `sdnattach-${slug(parts.step).slice(0, 24).replace(/-+$/, '')}-a${parts.attempt}`;
  const room = MAX_LENGTH - head.length - hash.length - 2;
  const id = slug(parts.attachmentId).slice(0, Math.max(0, room)).replace(/-+$/, '');
  return [head, id, hash].filter((part) => part.length > 0).join('-');
}
