/**
 * The one retry policy of both remote clients (Network Controller, Azure Resource Manager): which statuses may pass
 * within the same call, how long to wait, and what the server asked for. Pure; the clients own the loop.
 */

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

const IMF_FIXDATE =
  /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;

/**
 * The server's requested wait: `retry-after-ms` or `x-ms-retry-after-ms` (Azure's millisecond headers), else
 * `Retry-After` as delay-seconds or an HTTP date (RFC 9110 §10.2.3; "1.5", "-1" and "1e3" are neither). Header names
 * must be lower-case; undefined when none is present and readable.
 */
export function parseRetryAfterInMs(
  headers: Readonly<Record<string, unknown>>,
  nowInMs = Date.now(),
): number | undefined {
  for (const name of ['retry-after-ms', 'x-ms-retry-after-ms']) {
    const text = headers[name];
    if (typeof text === 'string' && /^\s*\d+\s*$/.test(text)) return Number(text);
  }
  const header = headers['retry-after'];
  const text = typeof header === 'string' ? header.trim() : '';
  if (text === '') return undefined;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // Only the IMF-fixdate form: Date.parse alone reads "1.5" or "-1" as dates in 2001.
  if (!IMF_FIXDATE.test(text)) return undefined;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowInMs);
}

/**
 * How long to wait before retry `attempt` (0, 1, 2…): the server's `Retry-After` when it sent one, else exponential
 * backoff with equal jitter (between half and all of the exponential ceiling), clamped to `maxRetryDelayInMs`.
 */
export function retryDelayInMs(
  attempt: number,
  settings: Pick<RetrySettings, 'retryDelayInMs' | 'maxRetryDelayInMs'> & {
    retryAfterInMs?: number;
    random?: () => number;
  },
): number {
  if (settings.retryAfterInMs !== undefined) return Math.min(settings.retryAfterInMs, settings.maxRetryDelayInMs);
  const ceiling = Math.min(settings.maxRetryDelayInMs, settings.retryDelayInMs * 2 ** attempt);
  return Math.round(ceiling / 2 + ((settings.random ?? Math.random)() * ceiling) / 2);
}

/** A wait the server asked for that is longer than a call may spend: left to the next queue delivery instead. */
export function exceedsCallBudget(
  retryAfterInMs: number | undefined,
  settings: Pick<RetrySettings, 'maxRetryDelayInMs'>,
) {
  return retryAfterInMs !== undefined && retryAfterInMs > settings.maxRetryDelayInMs;
}
