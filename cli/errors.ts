import type { FieldDetail } from './documents';

/** The CLI's exit codes (docs/cli.md): scripts branch on them. */
export const ExitCode = {
  /** Completed or Detached, or a command that did what it was asked. */
  Ok: 0,
  /** The attachment ended Failed. */
  Failed: 1,
  /** A usage or input error: bad arguments, an unreadable file, or the API refused the request (4xx). */
  Usage: 2,
  /** The attachment ended Canceled. */
  Canceled: 3,
  /** The API could not be reached, or answered with a server error or something that is not its API. */
  Unreachable: 4,
  /** Ctrl-C while watching: the watch stopped, the attachment goes on. */
  Interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Bad arguments or input, found before anything was sent. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly exitCode = ExitCode.Usage;
}

/** The API answered with an error; keeps its code, message and field details. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly status: number;
  readonly code: string;
  readonly details: readonly FieldDetail[];

  constructor(status: number, code: string, message: string, details: readonly FieldDetail[] = []) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }

  /** A refusal of the request (4xx) is the caller's to fix; a server error means the API is not usable now. */
  get exitCode(): ExitCode {
    return this.status >= 400 && this.status < 500 ? ExitCode.Usage : ExitCode.Unreachable;
  }
}

/** No HTTP answer at all (refused, reset, timed out, name not found), or one that is not this API's. */
export class ApiUnreachableError extends Error {
  override readonly name = 'ApiUnreachableError';
  readonly exitCode = ExitCode.Unreachable;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export function exitCodeOf(error: unknown): ExitCode {
  if (error instanceof UsageError || error instanceof ApiError || error instanceof ApiUnreachableError)
    return error.exitCode;
  return ExitCode.Failed;
}
