import type { HttpRequest } from '@azure/functions';

import type { FieldIssue } from '../errors';

/** Largest request body accepted; 256 addresses and every field fit in a fraction of it. */
export const MAX_REQUEST_BODY_BYTES = 64 * 1024;

export type JsonBody = { ok: true; value: unknown } | { ok: false; issues: FieldIssue[]; code: string };

/**
 * Reads a JSON body within the size limit; every failure names the body and the reason. `optional`: an empty body
 * is `undefined`, not an error.
 */
export async function readJsonBody(request: HttpRequest, options: { optional?: boolean } = {}): Promise<JsonBody> {
  const contentType = request.headers.get('content-type') ?? '';
  if (contentType && !/^application\/([\w.+-]+\+)?json\b/i.test(contentType)) {
    return {
      ok: false,
      code: 'UnsupportedMediaType',
      issues: [{ field: '(body)', reason: `content-type must be application/json, not ${contentType}` }],
    };
  }
  const text = await request.text();
  const size = Buffer.byteLength(text, 'utf8');
  if (size > MAX_REQUEST_BODY_BYTES) {
    return {
      ok: false,
      code: 'RequestTooLarge',
      issues: [{ field: '(body)', reason: `is ${size} bytes; at most ${MAX_REQUEST_BODY_BYTES}` }],
    };
  }
  if (text.trim() === '' && options.optional) return { ok: true, value: undefined };
  if (text.trim() === '')
    return {
      ok: false,
      code: 'InvalidJson',
      issues: [{ field: '(body)', reason: 'is empty; send the attach request as JSON' }],
    };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    return {
      ok: false,
      code: 'InvalidJson',
      issues: [{ field: '(body)', reason: `is not valid JSON (${(error as Error).message})` }],
    };
  }
}
