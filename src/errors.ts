/**
 * The one error type the CLI knows how to print. Anything else reaching `main` is a
 * bug and shows its stack with --debug. `exitCode` follows DESIGN.md's table.
 */
export const ExitCode = {
  ok: 0,
  failed: 1,
  usage: 2,
  connection: 3,
  precondition: 4,
  busy: 5,
} as const;

export interface BookingDbErrorOptions {
  hint?: string;
  exitCode?: number;
  cause?: unknown;
  /** Extra structured detail for --json output (never secrets). */
  details?: Record<string, unknown>;
}

export class BookingDbError extends Error {
  readonly code: string;
  readonly hint?: string;
  readonly exitCode: number;
  readonly details?: Record<string, unknown>;

  constructor(code: string, message: string, options: BookingDbErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BookingDbError';
    this.code = code;
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? ExitCode.failed;
    this.details = options.details;
  }
}

/** Usage or configuration mistake: exit 2. */
export function usageError(message: string, hint?: string): BookingDbError {
  return new BookingDbError('usage', message, { hint, exitCode: ExitCode.usage });
}

/** A precondition the operator must fix (version, extension, binary): exit 4. */
export function preconditionError(code: string, message: string, hint?: string): BookingDbError {
  return new BookingDbError(code, message, { hint, exitCode: ExitCode.precondition });
}

/** The fields of a PostgreSQL error that postgres.js and pg both expose. */
export interface PgErrorFields {
  code?: string;
  message: string;
  detail?: string;
  hint?: string;
  where?: string;
  position?: string | number;
}

/** True for errors raised by a PostgreSQL server (they carry a five-character SQLSTATE). */
export function isPgError(error: unknown): error is PgErrorFields & Error {
  return (
    error instanceof Error &&
    typeof (error as { code?: unknown }).code === 'string' &&
    /^[0-9A-Z]{5}$/.test((error as unknown as { code: string }).code) &&
    ((error as { severity?: unknown }).severity !== undefined ||
      (error as { name?: string }).name === 'PostgresError' ||
      (error as { routine?: unknown }).routine !== undefined)
  );
}
