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

/**
 * Errors that are not BookingDbErrors but are not bugs either: the server refused a
 * statement (it has a SQLSTATE), the connection dropped, a file could not be opened,
 * the user left a prompt. Each becomes one clear line with a documented exit code;
 * only what is left is "a bug in bookingdb".
 */
const ERRNO_TEXT: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOENT: 'no such file or directory',
  EEXIST: 'it already exists',
  EISDIR: 'it is a directory',
  ENOTDIR: 'a part of the path is not a directory',
  ENOSPC: 'no space left on the device',
  EROFS: 'read-only file system',
  EMFILE: 'too many open files',
  ELOOP: 'too many symbolic links (or a symbolic link where none is allowed)',
  EBUSY: 'resource busy',
  EXDEV: 'not on the same file system',
};

/** SQLSTATE classes that mean the connection, not the statement, failed. */
const CONNECTION_CLASSES = ['08', '57P01', '57P02', '57P03', '28'];
const POSTGRES_JS_CONNECTION = new Set(['CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED', 'CONNECT_TIMEOUT']);

export function describeUnexpected(error: unknown): BookingDbError | undefined {
  if (!(error instanceof Error)) return undefined;
  const e = error as NodeJS.ErrnoException & { detail?: string; hint?: string; dest?: string };
  if (isPgError(error)) {
    const code = String(e.code);
    const connection = CONNECTION_CLASSES.some((c) => code.startsWith(c));
    const hint = [e.detail, e.hint].filter(Boolean).join('; ') || (connection ? 'check the server and run again' : code === '42501' ? 'connect as a role with the privileges this needs (e.g. the owner or a superuser)' : 'nothing was committed by the failed statement; fix the cause and run again');
    return new BookingDbError(connection ? 'connection_lost' : 'server_error', `the server refused: ${e.message} (SQLSTATE ${code})`, {
      hint,
      exitCode: connection ? ExitCode.connection : ExitCode.failed,
      cause: error,
      details: { sqlstate: code },
    });
  }
  if (e.code && POSTGRES_JS_CONNECTION.has(e.code)) {
    return new BookingDbError('connection_lost', `lost the connection to the server (${e.code})`, {
      hint: 'the server may have restarted or the network dropped; run again', exitCode: ExitCode.connection, cause: error,
    });
  }
  if (e.code && e.syscall && ERRNO_TEXT[e.code]) {
    const where = e.path ? ` ${e.path}${e.dest ? ` -> ${e.dest}` : ''}` : '';
    return new BookingDbError('file_error', `cannot ${e.syscall}${where}: ${ERRNO_TEXT[e.code]} (${e.code})`, {
      hint: 'check the path and its permissions, then run again', exitCode: ExitCode.failed, cause: error,
    });
  }
  if (e.name === 'ExitPromptError' || e.name === 'AbortPromptError') {
    return new BookingDbError('aborted', 'aborted at the prompt', { hint: 'run again, or pass --yes to skip prompts', exitCode: ExitCode.failed, cause: error });
  }
  return undefined;
}
