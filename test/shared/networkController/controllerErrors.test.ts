import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { isPermanentErrorCode, isRetryableResponse } from '../../../shared/networkController/controllerErrors';

describe('isRetryableResponse', () => {
  it.each<[number | undefined, string | undefined, boolean]>([
    [undefined, undefined, true],
    [undefined, 'ECONNRESET', true],
    [400, undefined, false],
    [400, 'InvalidResourceReference', false],
    [400, 'RetryableError', true],
    [401, undefined, false],
    [403, undefined, false],
    [404, 'NotFound', false],
    [404, 'RetryableError', true],
    [408, undefined, true],
    [409, undefined, false],
    [409, 'AnotherOperationInProgress', false],
    [412, 'PreconditionFailed', false],
    [429, undefined, true],
    [500, undefined, true],
    [500, 'InternalServerError', true],
    [500, 'PrivateIPAddressInUse', false],
    [500, 'InvalidResourceReference', false],
    [500, 'SubnetIsFull', false],
    [500, 'PrivateMacAddressInUse', false],
    [500, 'DuplicateResourceId', false],
    [500, 'invalidresourcereference', false],
    [500, 'ServiceUnavailable', true],
    [500, 'UpgradeInProgress', true],
    [501, undefined, false],
    [502, undefined, true],
    [503, undefined, true],
    [503, 'InvalidResourceReference', true],
    [504, undefined, true],
    [505, undefined, false],
    [200, undefined, false],
  ])('status %s with code %s is retryable: %s', (status, code, expected) => {
    expect(isRetryableResponse(status, code)).toBe(expected);
  });

  it('retries every RetryableError, whatever the status (property)', () => {
    fc.assert(
      fc.property(fc.option(fc.integer({ min: 100, max: 599 }), { nil: undefined }), (status) => {
        expect(isRetryableResponse(status, 'RetryableError')).toBe(true);
      }),
    );
  });
});

describe('isPermanentErrorCode', () => {
  it.each<[string | undefined, boolean]>([
    [undefined, false],
    ['', false],
    ['PrivateIPAddressInUse', true],
    ['PrivateIpAddressNotInSubnet', true],
    ['InvalidResourceReference', true],
    ['SubnetIsFull', true],
    ['NotFound', true],
    ['Forbidden', true],
    ['InternalServerError', false],
    ['RetryableError', false],
    ['Timeout', false],
  ])('%s is permanent: %s', (code, expected) => {
    expect(isPermanentErrorCode(code)).toBe(expected);
  });
});
