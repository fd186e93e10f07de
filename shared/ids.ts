import { createHash, randomUUID } from 'node:crypto';

/** A GUID derived from a seed: the same seed always gives the same id (for idempotency keys). */
export function stableUuid(seed: string): string {
  const hex = createHash('sha256').update(seed).digest('hex');
  // Version 8 (custom) and the RFC 4122 variant, so it is a well-formed GUID.
  const variant = ((parseInt(hex.slice(16, 17), 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** A new attachment id: random, so ids cannot be guessed from one another. */
export function newAttachmentId(): string {
  return randomUUID();
}
