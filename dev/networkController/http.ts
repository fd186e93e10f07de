import { randomUUID } from 'node:crypto';

/** What a handler hands back; the server adds the headers every response carries. */
export interface ApiResponse {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

/** A failure that becomes an NC error body: `{"error":{"code","message","target"?}}`. */
export class NcError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly target?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  toResponse(): ApiResponse {
    return { status: this.status, headers: this.headers, body: errorBody(this.code, this.message, this.target) };
  }
}

export function errorBody(code: string, message: string, target?: string): { error: Record<string, string> } {
  return { error: target === undefined ? { code, message } : { code, message, target } };
}

export function notFound(what: string): NcError {
  return new NcError(404, 'NotFound', `The resource '${what}' was not found.`);
}

export const newGuid = (): string => randomUUID();

export const newEtag = (): string => `W/"${randomUUID()}"`;

/** Splits an If-Match / If-None-Match value into its entity tags; quotes never contain commas in NC etags. */
export function parseEtagList(header: string | undefined): string[] | undefined {
  if (header === undefined || header.trim() === '') return undefined;
  return header
    .split(',')
    .map((tag) => tag.trim())
    .filter((tag) => tag !== '');
}

export function headerValue(headers: NodeJS.Dict<string | string[]>, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}
