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
