import { describe, expect, it } from 'vitest';

import {
  ConfigError,
  ensureError,
  type ErrorInfo,
  isKnownError,
  isRemoteServiceError,
  isRetryable,
  isValidationError,
  RemoteServiceError,
  StateConflictError,
  StepError,
  toErrorInfo,
  ValidationError,
  withContext,
} from '../../shared/errors';

const remote = () =>
  new RemoteServiceError('The IP address 192.168.1.10 is already in use.', {
    source: 'NetworkController',
    code: 'PrivateIPAddressInUse',
    retryable: false,
    statusCode: 400,
    requestId: '3f1c2b7a-0000-4000-8000-000000000001',
    target: 'ContainerHostVM1_Net0',
    details: [{ code: 'InUse', message: 'held by ContainerHostVM2_Net0', target: 'ipConfigurations[1]' }],
    retryAfterInMs: 2_000,
    method: 'PUT',
    path: '/networking/v1/networkInterfaces/ContainerHostVM1_Net0',
  });

describe('toErrorInfo', () => {
  it.each<[string, unknown, ErrorInfo]>([
    [
      'a ConfigError',
      new ConfigError(['A: is required', 'B: must be a number']),
      {
        source: 'App',
        code: 'InvalidConfiguration',
        message: 'Invalid configuration:\n  - A: is required\n  - B: must be a number',
        retryable: false,
      },
    ],
    [
      'a ValidationError, with one detail per field',
      new ValidationError([
        { field: 'subnetId', reason: 'is required' },
        { field: 'containerIps.count', reason: 'must be at least 1' },
      ]),
      {
        source: 'App',
        code: 'InvalidRequest',
        message: 'subnetId: is required; containerIps.count: must be at least 1',
        retryable: false,
        details: [
          { code: 'InvalidField', message: 'is required', target: 'subnetId' },
          { code: 'InvalidField', message: 'must be at least 1', target: 'containerIps.count' },
        ],
      },
    ],
    [
      'a ValidationError with its own code',
      new ValidationError([{ field: 'containerIps.addresses[0]', reason: 'outside' }], {
        code: 'PrivateIPAddressNotInSubnet',
      }),
      {
        source: 'App',
        code: 'PrivateIPAddressNotInSubnet',
        message: 'containerIps.addresses[0]: outside',
        retryable: false,
        details: [{ code: 'InvalidField', message: 'outside', target: 'containerIps.addresses[0]' }],
      },
    ],
    [
      'a RemoteServiceError, keeping the remote code and message but not method, path or Retry-After',
      remote(),
      {
        source: 'NetworkController',
        code: 'PrivateIPAddressInUse',
        message: 'The IP address 192.168.1.10 is already in use.',
        retryable: false,
        statusCode: 400,
        requestId: '3f1c2b7a-0000-4000-8000-000000000001',
        target: 'ContainerHostVM1_Net0',
        details: [{ code: 'InUse', message: 'held by ContainerHostVM2_Net0', target: 'ipConfigurations[1]' }],
      },
    ],
    [
      'a transport RemoteServiceError without status',
      new RemoteServiceError('socket hang up', { source: 'AzureResourceManager', code: 'ECONNRESET', retryable: true }),
      { source: 'AzureResourceManager', code: 'ECONNRESET', message: 'socket hang up', retryable: true },
    ],
    [
      'a StepError from the app',
      new StepError('Subnet Subnet1 has fewer than 3 free addresses.', { code: 'SubnetIsFull', retryable: false }),
      {
        source: 'App',
        code: 'SubnetIsFull',
        message: 'Subnet Subnet1 has fewer than 3 free addresses.',
        retryable: false,
      },
    ],
    [
      'a StepError reusing a remote source',
      new StepError('in use', { code: 'PrivateIPAddressInUse', source: 'NetworkController', retryable: false }),
      { source: 'NetworkController', code: 'PrivateIPAddressInUse', message: 'in use', retryable: false },
    ],
    [
      'a StateConflictError',
      new StateConflictError('etag changed 5 times'),
      { source: 'Storage', code: 'StateConflict', message: 'etag changed 5 times', retryable: true },
    ],
    [
      'a plain Error, as a retryable InternalError',
      new TypeError('Cannot read properties of undefined'),
      { source: 'App', code: 'InternalError', message: 'Cannot read properties of undefined', retryable: true },
    ],
    [
      'a thrown string',
      'boom',
      { source: 'App', code: 'InternalError', message: 'Non-error thrown: boom', retryable: true },
    ],
    [
      'an Error merely named like a known one',
      Object.assign(new Error('fake'), { name: 'StepError' }),
      { source: 'App', code: 'InternalError', message: 'fake', retryable: true },
    ],
  ])('describes %s', (_name, error, expected) => {
    expect(toErrorInfo(error)).toStrictEqual(expected);
  });
});

describe('error classes', () => {
  it.each<[string, Error, string]>([
    ['ConfigError', new ConfigError([]), 'ConfigError'],
    ['ValidationError', new ValidationError([]), 'ValidationError'],
    ['RemoteServiceError', remote(), 'RemoteServiceError'],
    ['StepError', new StepError('x', { code: 'X', retryable: false }), 'StepError'],
    ['StateConflictError', new StateConflictError('x'), 'StateConflictError'],
  ])('%s is an Error with its own name and known', (_name, error, name) => {
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe(name);
    expect(isKnownError(error)).toBe(true);
  });

  it('keeps the cause', () => {
    const cause = new Error('ECONNRESET');
    expect(new StateConflictError('lost', { cause }).cause).toBe(cause);
    expect(new StepError('x', { code: 'X', retryable: true, cause }).cause).toBe(cause);
    expect(new StepError('x', { code: 'X', retryable: true })).not.toHaveProperty('cause');
  });

  it('keeps every problem of a ConfigError', () => {
    expect(new ConfigError(['A', 'B']).problems).toEqual(['A', 'B']);
  });

  it.each<[string, unknown, boolean, boolean]>([
    ['a RemoteServiceError', remote(), true, false],
    ['a ValidationError', new ValidationError([]), false, true],
    ['a StepError', new StepError('x', { code: 'X', retryable: false }), false, false],
    ['a plain Error', new Error('x'), false, false],
    ['a look-alike object', { name: 'RemoteServiceError', message: 'x' }, false, false],
  ])('classifies %s', (_name, error, isRemote, isValidation) => {
    expect(isRemoteServiceError(error)).toBe(isRemote);
    expect(isValidationError(error)).toBe(isValidation);
  });
});

describe('isRetryable', () => {
  it.each<[string, unknown, boolean]>([
    ['ConfigError', new ConfigError(['x']), false],
    ['ValidationError', new ValidationError([{ field: 'a', reason: 'b' }]), false],
    ['a non-retryable RemoteServiceError', remote(), false],
    [
      'a retryable RemoteServiceError',
      new RemoteServiceError('503', { source: 'Storage', code: 'ServerBusy', retryable: true }),
      true,
    ],
    ['a non-retryable StepError', new StepError('x', { code: 'SubnetIsFull', retryable: false }), false],
    ['a retryable StepError', new StepError('x', { code: 'IpConfigurationsMissing', retryable: true }), true],
    ['StateConflictError', new StateConflictError('x'), true],
    ['a plain Error (assumed transient)', new Error('x'), true],
    ['a thrown string', 'x', true],
    ['undefined', undefined, true],
  ])('%s: %s', (_name, error, expected) => {
    expect(isRetryable(error)).toBe(expected);
  });
});

describe('withContext', () => {
  it('adds context to a known error and returns the same error', () => {
    const error = new StepError('x', { code: 'X', retryable: false });
    expect(withContext(error, { tenantId: 'contoso', attachmentId: 'seed-1', step: 'addIpConfigurations' })).toBe(
      error,
    );
    expect(error.context).toEqual({ tenantId: 'contoso', attachmentId: 'seed-1', step: 'addIpConfigurations' });
  });

  it('does not overwrite context that is already known', () => {
    const error = new ValidationError([], { context: { tenantId: 'fabrikam', step: 'submit' } });
    withContext(error, { tenantId: 'contoso', attachmentId: 'seed-1', step: 'addIpConfigurations' });
    expect(error.context).toEqual({ tenantId: 'fabrikam', attachmentId: 'seed-1', step: 'submit' });
  });

  it('does not share the context object given to the constructor', () => {
    const context = { tenantId: 'contoso' };
    const error = new StateConflictError('x', { context });
    withContext(error, { step: 'addIpConfigurations' });
    expect(context).toEqual({ tenantId: 'contoso' });
  });

  it('leaves unknown errors and non-errors alone', () => {
    const plain = new Error('x');
    expect(withContext(plain, { tenantId: 'contoso' })).toBe(plain);
    expect(plain).not.toHaveProperty('context');
    expect(withContext('boom', { tenantId: 'contoso' })).toBe('boom');
  });
});

describe('ensureError', () => {
  it('returns an Error unchanged', () => {
    const error = new RangeError('x');
    expect(ensureError(error)).toBe(error);
  });

  const circular: Record<string, unknown> = { a: 1 };
  circular.self = circular;

  it.each<[string, unknown, string]>([
    ['a string', 'boom', 'Non-error thrown: boom'],
    ['a number', 42, 'Non-error thrown: 42'],
    ['null', null, 'Non-error thrown: null'],
    ['undefined', undefined, 'Non-error thrown: undefined'],
    ['an object', { code: 'E1', message: 'nope' }, 'Non-error thrown: {"code":"E1","message":"nope"}'],
    ['a circular object', circular, 'Non-error thrown: [object Object]'],
    ['a bigint', 10n, 'Non-error thrown: 10'],
  ])('wraps %s', (_name, value, message) => {
    const error = ensureError(value);
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toBe(message);
  });
});
