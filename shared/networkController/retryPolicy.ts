/** Which Network Controller answers can succeed when the same request is sent again; pure. */

/** Codes that mean the request itself is wrong: sending it again gives the same answer, whatever the status. */
const PERMANENT_CODE =
  /^(PrivateIPAddress|PrivateMac|Invalid|Subnet|IsHostVirtualNetworkInterface|PrivateIp|Referenced|NotFound|BadRequest|Duplicate|Nic|InUse|Forbidden|Unauthorized|PreconditionFailed)/i;

export function isPermanentErrorCode(code: string | undefined): boolean {
  return code !== undefined && PERMANENT_CODE.test(code);
}

/**
 * Transport errors (no status), 408, 429 and 503 retry; other 5xx retry unless their code says validation failed
 * (the controller reports validation with 500 as often as 400); `RetryableError` retries whatever the status.
 * 409 and 412 are not retried here: the caller re-reads and merges again.
 */
export function isRetryableResponse(statusCode: number | undefined, code?: string): boolean {
  if (code === 'RetryableError' || code === 'ServiceUnavailable' || code === 'UpgradeInProgress') return true;
  if (statusCode === undefined) return true;
  if (statusCode === 408 || statusCode === 429 || statusCode === 503) return true;
  if (statusCode >= 500 && statusCode !== 501 && statusCode !== 505) return !isPermanentErrorCode(code);
  return false;
}

/** Parses Retry-After (seconds or an HTTP date) into milliseconds; undefined when absent or unreadable. */
export function parseRetryAfterInMs(header: string | undefined, nowInMs = Date.now()): number | undefined {
  if (header === undefined || header.trim() === '') return undefined;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // Only the HTTP-date form (IMF-fixdate); Date.parse alone reads "1.5" or "-1" as dates in 2001.
  if (
    !/^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(
      text,
    )
  ) {
    return undefined;
  }
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowInMs);
}

/** Exponential backoff with full jitter, clamped; `Retry-After` wins when the server sent one. */
export function retryDelayInMs(
  attempt: number,
  options: { retryDelayInMs: number; maxRetryDelayInMs: number; retryAfterInMs?: number; random?: () => number },
): number {
  if (options.retryAfterInMs !== undefined) return Math.min(options.retryAfterInMs, options.maxRetryDelayInMs);
  const ceiling = Math.min(options.maxRetryDelayInMs, options.retryDelayInMs * 2 ** attempt);
  return Math.round(ceiling / 2 + ((options.random ?? Math.random)() * ceiling) / 2);
}
