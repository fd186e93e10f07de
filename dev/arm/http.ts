import type { IncomingMessage } from 'node:http';

/** A response before it is written: ARM routes and admin routes both return these. */
export interface JsonResponse {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

/** An ARM-style failure: `{ "error": { "code", "message", "target"? } }` with an HTTP status. */
export class ArmHttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly target?: string,
  ) {
    super(message);
  }

  toResponse(): JsonResponse {
    return {
      status: this.status,
      body: { error: { code: this.code, message: this.message, ...(this.target ? { target: this.target } : {}) } },
    };
  }
}

const MAX_BODY_BYTES = 4 * 1024 * 1024;

export async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new ArmHttpError(413, 'RequestEntityTooLarge', 'The request body is too large.');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ArmHttpError(
      400,
      'InvalidRequestContent',
      'The request content was invalid and could not be deserialized.',
    );
  }
}
