import postgres from 'postgres';
import { BookingDbError, ExitCode, isPgError } from '../errors.js';
import { parseDatabaseUrl, redactSecrets, redactUrl } from './url.js';

export type Sql = postgres.Sql;

export interface ConnectOptions {
  connectTimeoutSeconds?: number;
  /** Pool size; the CLI mostly needs one or two connections. */
  max?: number;
  /** Receives server NOTICEs (postgres.js would print them to stdout by default). */
  onNotice?: (message: string) => void;
}

/**
 * Opens a postgres.js pool and proves it can connect, so every failure to reach or
 * log in to the server surfaces here as one clear line with exit 3. The pool is
 * tagged application_name=bookingdb so DBAs can see it in pg_stat_activity.
 */
export async function connect(url: string, options: ConnectOptions = {}): Promise<Sql> {
  const parsed = parseDatabaseUrl(url); // exit 2 on a malformed URL
  const sql = postgres(url, {
    max: options.max ?? 2,
    connect_timeout: options.connectTimeoutSeconds ?? 10,
    idle_timeout: 30,
    onnotice: (notice) => options.onNotice?.(String(notice.message)),
    // pg_catalog first and nothing writable by others: a function planted in `public`
    // (where PUBLIC may still CREATE on old or pg_upgrade'd clusters) can never be
    // picked up by an unqualified name in a session that runs as superuser.
    connection: { application_name: 'bookingdb', search_path: 'pg_catalog, pg_temp' },
    // The CLI never relies on prepared statements; keeps it PgBouncer-friendly.
    prepare: false,
  });
  try {
    await sql`select 1`;
    return sql;
  } catch (error) {
    await sql.end({ timeout: 0 }).catch(() => undefined);
    throw describeConnectionError(error, url, parsed.params.sslmode ?? process.env.PGSSLMODE);
  }
}

/** Maps a failed connection attempt to a BookingDbError with exit 3 (never a password). */
export function describeConnectionError(error: unknown, url: string, sslmode?: string): BookingDbError {
  const target = redactUrl(url);
  const p = parseDatabaseUrl(url);
  const where = `${p.host}:${p.port}`;
  const e = error as { code?: string; message?: string };
  const make = (code: string, message: string, hint?: string) =>
    new BookingDbError(code, message, { hint, exitCode: ExitCode.connection, cause: error });

  if (isPgError(error)) {
    switch (error.code) {
      case '28P01':
        return make('auth_failed', `authentication failed for user "${p.user}" at ${where}`, 'check the password in the URL or PGPASSWORD');
      case '3D000':
        return make('database_missing', `database "${p.database}" does not exist on ${where}`, 'create it, or run `bookingdb deploy`, which creates it');
      case '28000': {
        const msg = error.message ?? '';
        if (/no encryption|SSL off/i.test(msg)) {
          return make('tls_required', `server at ${where} requires TLS for user "${p.user}"`, 'add ?sslmode=require to the database URL');
        }
        return make('auth_rejected', `server at ${where} rejected user "${p.user}": ${redactSecrets(msg)}`, 'check pg_hba.conf and the role name');
      }
      case '57P03':
        return make('server_starting', `server at ${where} is starting up or shutting down`, 'retry in a few seconds');
      case '53300':
        return make('too_many_connections', `server at ${where} has no free connection slots`, 'retry later or raise max_connections');
      default:
        return make('connect_failed', `cannot connect to ${target}: ${redactSecrets(error.message)} (${error.code})`);
    }
  }
  const code = e.code ?? '';
  const message = redactSecrets(e.message ?? String(error));
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return make('host_not_found', `host not found: ${p.host}`, 'check the host name in the database URL');
  }
  if (code === 'ECONNREFUSED') {
    return make('connection_refused', `connection refused at ${where}`, 'is PostgreSQL running and listening on that address and port?');
  }
  if (code === 'CONNECT_TIMEOUT' || code === 'ETIMEDOUT') {
    return make('connect_timeout', `timed out connecting to ${where}`, 'check the network path or raise --connect-timeout');
  }
  if (/^(require|verify-ca|verify-full)$/.test(sslmode ?? '') && (/SSL|TLS|EPROTO|ECONNRESET/i.test(code) || /SSL|TLS|secure/i.test(message))) {
    return make('tls_unavailable', `server at ${where} does not offer TLS (sslmode=${sslmode})`, 'enable ssl on the server or connect with sslmode=disable on a trusted network');
  }
  if (code === 'SASL_SIGNATURE_MISMATCH' || /password/i.test(message)) {
    return make('auth_failed', `authentication failed for user "${p.user}" at ${where}`, 'check the password in the URL or PGPASSWORD');
  }
  return make('connect_failed', `cannot connect to ${target}: ${message}${code ? ` (${code})` : ''}`);
}
