/**
 * The product's small error taxonomy. Each type is one thing a caller acts on differently; every error carries
 * `retryable` (decided where it is thrown), the remote system's own code and message where there is one, and the
 * attachment context it happened in.
 */

export interface ErrorContext {
  tenantId?: string;
  attachmentId?: string;
  step?: string;
}

/** Where an error came from: our own checks, or one of the systems we call. */
export type ErrorSource = 'App' | 'NetworkController' | 'AzureResourceManager' | 'RunCommand' | 'KeyVault' | 'Storage';

/** The serialisable form stored in the state table and shown by the status API. */
export interface ErrorInfo {
  source: ErrorSource;
  code: string;
  message: string;
  retryable: boolean;
  statusCode?: number;
  requestId?: string;
  target?: string;
  details?: { code: string; message: string; target?: string }[];
}

interface AttachErrorInit {
  code: string;
  retryable: boolean;
  context?: ErrorContext;
  cause?: unknown;
}

abstract class AttachError extends Error {
  readonly code: string;
  readonly retryable: boolean;
  context: ErrorContext;

  protected constructor(message: string, init: AttachErrorInit) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.code = init.code;
    this.retryable = init.retryable;
    this.context = { ...init.context };
  }

  abstract toErrorInfo(): ErrorInfo;
}

/** A setting is missing or invalid; lists every problem at once. Never retryable. */
export class ConfigError extends AttachError {
  override readonly name = 'ConfigError';
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`, { code: 'InvalidConfiguration', retryable: false });
    this.problems = problems;
  }

  toErrorInfo(): ErrorInfo {
    return { source: 'App', code: this.code, message: this.message, retryable: false };
  }
}

/** One invalid field: the dotted path and the reason. */
export interface FieldIssue {
  field: string;
  reason: string;
}

/** A request or message does not match its schema, or asks for something impossible. Never retryable. */
export class ValidationError extends AttachError {
  override readonly name = 'ValidationError';
  readonly issues: readonly FieldIssue[];

  constructor(issues: readonly FieldIssue[], init: { code?: string; context?: ErrorContext; cause?: unknown } = {}) {
    super(formatIssues(issues), {
      code: init.code ?? 'InvalidRequest',
      retryable: false,
      context: init.context,
      cause: init.cause,
    });
    this.issues = issues;
  }

  toErrorInfo(): ErrorInfo {
    return {
      source: 'App',
      code: this.code,
      message: this.message,
      retryable: false,
      details: this.issues.map((i) => ({ code: 'InvalidField', message: i.reason, target: i.field })),
    };
  }
}

interface RemoteErrorInit extends AttachErrorInit {
  source: Exclude<ErrorSource, 'App'>;
  statusCode?: number;
  requestId?: string;
  target?: string;
  details?: { code: string; message: string; target?: string }[];
  retryAfterInMs?: number;
  method?: string;
  /** Path only: never a query string, which may carry secrets. */
  path?: string;
}

/**
 * A remote system refused or failed: keeps that system's own `code` and `message` whatever the HTTP status, plus
 * what is needed to find the call in its logs.
 */
export class RemoteServiceError extends AttachError {
  override readonly name = 'RemoteServiceError';
  readonly source: Exclude<ErrorSource, 'App'>;
  readonly statusCode?: number;
  readonly requestId?: string;
  readonly target?: string;
  readonly details?: { code: string; message: string; target?: string }[];
  readonly retryAfterInMs?: number;
  readonly method?: string;
  readonly path?: string;

  constructor(message: string, init: RemoteErrorInit) {
    super(message, init);
    this.source = init.source;
    this.statusCode = init.statusCode;
    this.requestId = init.requestId;
    this.target = init.target;
    this.details = init.details;
    this.retryAfterInMs = init.retryAfterInMs;
    this.method = init.method;
    this.path = init.path;
  }

  toErrorInfo(): ErrorInfo {
    return dropUndefined({
      source: this.source,
      code: this.code,
      message: this.message,
      retryable: this.retryable,
      statusCode: this.statusCode,
      requestId: this.requestId,
      target: this.target,
      details: this.details,
    });
  }
}

/**
 * The step's own logic decided the attachment cannot go on as asked (an address held by another NIC, a network
 * that exists with other settings). `code` reuses the remote system's code where one exists.
 */
export class StepError extends AttachError {
  override readonly name = 'StepError';
  readonly source: ErrorSource;

  constructor(message: string, init: AttachErrorInit & { source?: ErrorSource }) {
    super(message, init);
    this.source = init.source ?? 'App';
  }

  toErrorInfo(): ErrorInfo {
    return { source: this.source, code: this.code, message: this.message, retryable: this.retryable };
  }
}

/** An etag-guarded write lost the race too many times in a row. Retryable: the next delivery re-reads. */
export class StateConflictError extends AttachError {
  override readonly name = 'StateConflictError';

  constructor(message: string, init: { context?: ErrorContext; cause?: unknown } = {}) {
    super(message, { code: 'StateConflict', retryable: true, ...init });
  }

  toErrorInfo(): ErrorInfo {
    return { source: 'Storage', code: this.code, message: this.message, retryable: true };
  }
}

export type KnownError = ConfigError | ValidationError | RemoteServiceError | StepError | StateConflictError;

const knownNames = new Set(['ConfigError', 'ValidationError', 'RemoteServiceError', 'StepError', 'StateConflictError']);

/** Checks by `name`, not `instanceof`, so errors survive being loaded twice (runner and tests). */
export function isKnownError(error: unknown): error is KnownError {
  return error instanceof Error && knownNames.has(error.name) && 'toErrorInfo' in error;
}

export function isRemoteServiceError(error: unknown): error is RemoteServiceError {
  return error instanceof Error && error.name === 'RemoteServiceError';
}

export function isValidationError(error: unknown): error is ValidationError {
  return error instanceof Error && error.name === 'ValidationError';
}

/** Turns anything thrown into an Error without losing it. */
export function ensureError(value: unknown): Error {
  if (value instanceof Error) return value;
  let text: string;
  try {
    text = typeof value === 'string' ? value : JSON.stringify(value);
  } catch {
    text = String(value);
  }
  return new Error(`Non-error thrown: ${text}`);
}

/** Whether another delivery of the same message could succeed. Unknown errors are assumed transient. */
export function isRetryable(error: unknown): boolean {
  return isKnownError(error) ? error.retryable : true;
}

/** The stored form of any error; unknown errors become `InternalError` with their message. */
export function toErrorInfo(error: unknown): ErrorInfo {
  if (isKnownError(error)) return error.toErrorInfo();
  return { source: 'App', code: 'InternalError', message: ensureError(error).message, retryable: true };
}

/** Adds attachment context to an error on its way out of a step, without replacing what is already known. */
export function withContext<E>(error: E, context: ErrorContext): E {
  if (isKnownError(error)) error.context = { ...context, ...error.context };
  return error;
}

function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** One line naming every bad field: `field: reason; field: reason`. */
export function formatIssues(issues: readonly FieldIssue[]): string {
  return issues.map((issue) => `${issue.field}: ${issue.reason}`).join('; ');
}
