import type { HttpResponseInit } from '@azure/functions';

import { type FieldIssue, formatIssues } from '../errors';

/** Every error answer has the same shape: `{"error":{"code","message","details"?}}`. */
export function errorResponse(
  status: number,
  code: string,
  message: string,
  issues?: readonly FieldIssue[],
  headers: Record<string, string> = {},
  detailCode = 'InvalidField',
): HttpResponseInit {
  return {
    status,
    headers,
    jsonBody: {
      error: {
        code,
        message,
        ...(issues && issues.length > 0
          ? { details: issues.map((i) => ({ code: detailCode, target: i.field, message: i.reason })) }
          : {}),
      },
    },
  };
}

export function badRequest(issues: readonly FieldIssue[], code = 'InvalidRequest'): HttpResponseInit {
  const message = `The request is invalid: ${formatIssues(issues)}`;
  return errorResponse(400, code, message, issues);
}

export function notFound(what: string): HttpResponseInit {
  return errorResponse(404, 'NotFound', `${what} was not found.`);
}

/** A request the tenant may not make (403), each refusal naming its field; `code` also names each detail. */
export function forbidden(code: string, issues: readonly FieldIssue[]): HttpResponseInit {
  return errorResponse(403, code, `The tenant may not make this request: ${formatIssues(issues)}`, issues, {}, code);
}
