/** Retry settings, named as in the Azure SDK's retry policies. */
export interface RetrySettings {
  maxRetries: number;
  retryDelayInMs: number;
  maxRetryDelayInMs: number;
}

export const defaultRetrySettings: RetrySettings = { maxRetries: 3, retryDelayInMs: 500, maxRetryDelayInMs: 8_000 };

/** Statuses worth another try within the same call: timeouts, throttling and server faults that may pass. */
export function isTransientStatus(status: number): boolean {
  if (status === 408 || status === 429) return true;
  // 501 (not implemented) and 505 (HTTP version) will not change on a retry.
  return status >= 500 && status <= 599 && status !== 501 && status !== 505;
}

/**
 * Whether a later queue delivery could succeed after this status: transient ones, plus 409 (another operation on
 * the machine, e.g. a run command still running) and 423 (locked).
 */
export function isRetryableStatus(status: number): boolean {
  return isTransientStatus(status) || status === 409 || status === 423;
}

/**
 * The server's requested wait, from `retry-after-ms`, `x-ms-retry-after-ms` or `Retry-After` (seconds or an HTTP
 * date). Header names must be lower-case.
 */
export function parseRetryAfterInMs(
  headers: Readonly<Record<string, string>>,
  nowInMs = Date.now(),
): number | undefined {
  for (const name of ['retry-after-ms', 'x-ms-retry-after-ms']) {
    const value = Number(headers[name]);
    if (headers[name] !== undefined && Number.isFinite(value) && value >= 0) return value;
  }
  const retryAfter = headers['retry-after']?.trim();
  if (!retryAfter) return undefined;
  if (/^\d+(\.\d+)?$/.test(retryAfter)) return Number(retryAfter) * 1000;
  const date = Date.parse(retryAfter);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowInMs);
}

/** Exponential backoff for attempt 0, 1, 2… with ±20 % jitter, clamped to `maxRetryDelayInMs`. */
export function backoffDelayInMs(attempt: number, settings: RetrySettings, random: () => number = Math.random): number {
  const exponential = settings.retryDelayInMs * 2 ** attempt;
  const jittered = exponential * (0.8 + 0.4 * random());
  return Math.min(settings.maxRetryDelayInMs, Math.round(jittered));
}
