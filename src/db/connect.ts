import { connect as netConnect, type Socket } from 'node:net';
import postgres from 'postgres';
import { BookingDbError, ExitCode, isPgError } from '../errors.js';
import { parseDatabaseUrl, redactSecrets, redactUrl, formatDatabaseUrl, type ConnectionTarget } from './url.js';
import { lookupPgpass, pgpassPath } from './pgpass.js';
import { tlsOptions } from './tls.js';
import { warnOnce } from './connect-warnings.js';

export { setConnectionWarnings } from './connect-warnings.js';

export type Sql = postgres.Sql;

export interface ConnectOptions {
  /** Bounds the whole handshake: TCP, TLS, startup, authentication (default 10). */
  connectTimeoutSeconds?: number;
  /** Pool size; the CLI mostly needs one or two connections. */
  max?: number;
  /** Receives server NOTICEs (postgres.js would print them to stdout by default). */
  onNotice?: (message: string) => void;
}

/** First bytes a PostgreSQL server may send: S/N (answer to SSLRequest), R (auth), E (error), v (protocol), N (notice). */
const FIRST_BYTES = new Set([0x53, 0x4e, 0x52, 0x45, 0x76]);

interface Handshake {
  connected: boolean;
  failure?: Error;
  fail(error: Error): void;
}

function failure(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

/** The peer's first bytes, printable only, to show what answered instead of PostgreSQL. */
function snippet(chunk: Buffer): string {
  return chunk.subarray(0, 40).toString('latin1').replace(/[^\x20-\x7e]+/g, ' ').trim();
}

/**
 * Our own sockets for postgres.js, so a peer that is not PostgreSQL is recognised at
 * its first byte (or its silent close) instead of postgres.js reconnecting forever.
 */
function socketFactory(t: ConnectionTarget, timeoutMs: number, tlsFirst: boolean, hs: Handshake) {
  return () => new Promise<Socket>((resolve, reject) => {
    if (hs.failure) return reject(hs.failure);
    const s = t.host.startsWith('/') ? netConnect({ path: `${t.host}/.s.PGSQL.${t.port}` }) : netConnect({ host: t.host, port: t.port });
    (s as Socket & { host?: string }).host = t.host; // postgres.js takes the TLS server name from here
    const early = (error: Error) => { s.destroy(); reject(error); };
    s.once('error', early);
    s.setTimeout(timeoutMs, () => s.destroy(failure('CONNECT_TIMEOUT', 'connect timeout')));
    s.once('connect', () => {
      s.off('error', early);
      s.setTimeout(0);
      let received = 0;
      s.on('data', (chunk: Buffer) => {
        if (received === 0) {
          const b = chunk[0];
          if (tlsFirst && b === 0x4e && /^(require|verify-ca|verify-full)$/.test(t.sslmode)) {
            hs.fail(failure('TLS_UNAVAILABLE', 'server does not offer TLS'));
            s.destroy(hs.failure);
          } else if (!FIRST_BYTES.has(b)) {
            hs.fail(failure('NOT_POSTGRES', `it answered "${snippet(chunk)}"`));
            s.destroy(hs.failure);
          }
        }
        received += chunk.length;
      });
      s.once('close', () => {
        if (received === 0 && !hs.connected) hs.fail(failure('NOT_POSTGRES', 'it closed the connection without answering'));
      });
      resolve(s);
    });
  });
}

/**
 * Opens a postgres.js pool and proves it can connect, so every failure to reach or
 * log in to the server surfaces here as one clear line with exit 3, within the
 * connect timeout whatever the peer does. The target is parsed once and handed to
 * postgres.js as explicit options (postgres.js would not decode an escaped database
 * name). Every session runs with application_name=bookingdb (unless the URL names
 * another) and search_path = pg_catalog, pg_temp. Without a password in the URL,
 * service file or PGPASSWORD, the password file is read as libpq does.
 */
export async function connect(url: string | ConnectionTarget, options: ConnectOptions = {}): Promise<Sql> {
  const t = typeof url === 'string' ? parseDatabaseUrl(url) : url; // exit 2 on a malformed URL
  const timeoutSeconds = t.params.connect_timeout ? Number(t.params.connect_timeout) : (options.connectTimeoutSeconds ?? 10);
  let password = t.password;
  let passwordSource = password === undefined ? 'none' : 'url';
  if (password === undefined) {
    password = lookupPgpass({ host: t.host, port: t.port, database: t.database, user: t.user }, process.env, warnOnce, t.params.passfile);
    if (password !== undefined) passwordSource = 'pgpass';
  }
  let asked = false;
  const ssl = tlsOptions(t);
  const hs: Handshake = { connected: false, fail: () => undefined };
  const failed = new Promise<never>((_, reject) => {
    hs.fail = (error) => {
      if (hs.failure || hs.connected) return;
      hs.failure = error;
      reject(error);
    };
  });
  failed.catch(() => undefined);
  const tsa = t.params.target_session_attrs;
  const sql = postgres({
    host: t.host,
    port: t.port,
    database: t.database,
    user: t.user,
    pass: () => { asked = true; return password ?? ''; },
    ssl: ssl as never,
    max: options.max ?? 2,
    connect_timeout: timeoutSeconds,
    idle_timeout: 30,
    onnotice: (notice) => options.onNotice?.(String(notice.message)),
    // pg_catalog first and nothing writable by others: a function planted in `public`
    // (where PUBLIC may still CREATE on old or pg_upgrade'd clusters) can never be
    // picked up by an unqualified name in a session that runs as superuser.
    connection: {
      ...(t.params.options ? { options: t.params.options } : {}),
      application_name: t.params.application_name || 'bookingdb',
      search_path: 'pg_catalog, pg_temp',
    },
    target_session_attrs: tsa && tsa !== 'any' ? (tsa as never) : undefined,
    socket: socketFactory(t, timeoutSeconds * 1000, ssl !== false, hs) as never,
    // The CLI never relies on prepared statements; keeps it PgBouncer-friendly.
    prepare: false,
  } as postgres.Options<{}>);
  const deadline = setTimeout(() => hs.fail(failure('CONNECT_TIMEOUT', 'connect timeout')), timeoutSeconds * 1000);
  try {
    const probe = sql`select 1`;
    probe.catch(() => undefined);
    await Promise.race([probe, failed]);
    hs.connected = true;
    return sql;
  } catch (error) {
    hs.fail(error as Error); // stops postgres.js from reconnecting
    await sql.end({ timeout: 0 }).catch(() => undefined);
    throw describeConnectionError(error, t, { passwordSource: asked ? passwordSource : 'not asked', timeoutSeconds });
  } finally {
    clearTimeout(deadline);
  }
}

export interface DescribeContext {
  sslmode?: string;
  passwordSource?: string;
  timeoutSeconds?: number;
}

function passwordHint(t: ConnectionTarget, source?: string): string {
  if (source === 'none') return `no password was given: put it in the URL, PGPASSWORD, or ${pgpassPath(process.env, t.params.passfile)} (mode 0600)`;
  if (source === 'pgpass') return `the password came from ${pgpassPath(process.env, t.params.passfile)}: check that line`;
  return 'check the password in the URL or PGPASSWORD';
}

/** Maps a failed connection attempt to a BookingDbError with exit 3 (never a password). */
export function describeConnectionError(error: unknown, url: string | ConnectionTarget, context: DescribeContext | string = {}): BookingDbError {
  const ctx: DescribeContext = typeof context === 'string' ? { sslmode: context } : context;
  const p = typeof url === 'string' ? parseDatabaseUrl(url) : url;
  const sslmode = ctx.sslmode ?? p.sslmode;
  const target = typeof url === 'string' ? redactUrl(url) : formatDatabaseUrl(p, { redact: true });
  const where = p.host.startsWith('/') ? `${p.host}/.s.PGSQL.${p.port}` : `${p.host}:${p.port}`;
  const e = error as { code?: string; message?: string };
  const make = (code: string, message: string, hint?: string) =>
    new BookingDbError(code, message, { hint, exitCode: ExitCode.connection, cause: error });

  if (isPgError(error)) {
    switch (error.code) {
      case '28P01':
        return make('auth_failed', `authentication failed for user "${p.user}" at ${where}`, passwordHint(p, ctx.passwordSource));
      case '3D000':
        return make('database_missing', `database "${p.database}" does not exist on ${where}`, 'create it, or run `bookingdb deploy`, which creates it');
      case '28000': {
        const msg = error.message ?? '';
        if (/no encryption|SSL off/i.test(msg)) {
          return make('tls_required', `server at ${where} requires TLS for user "${p.user}"`, 'add ?sslmode=require to the database URL');
        }
        return make('auth_rejected', `server at ${where} rejected user "${p.user}": ${redactSecrets(msg)}`, 'check pg_hba.conf and the role name');
      }
      case '08P01':
        if (/unsupported startup parameter/i.test(error.message ?? '')) {
          // PgBouncer refuses startup parameters it does not know, and bookingdb sends search_path
          return make('pooler_startup_parameter', `${where} refused a startup parameter bookingdb sends (${redactSecrets(error.message)}): it is a connection pooler such as PgBouncer`,
            'connect deploy, migrate and maintain directly to PostgreSQL; for read-only commands through PgBouncer add search_path to its ignore_startup_parameters');
        }
        return make('connect_failed', `cannot connect to ${target}: ${redactSecrets(error.message)} (${error.code})`);
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
  if (code === 'NOT_POSTGRES') {
    return make('not_postgres', `${where} is not a PostgreSQL server: ${message}`, 'check the host and port in the database URL (PostgreSQL listens on 5432 by default)');
  }
  if (code === 'TLS_UNAVAILABLE') {
    return make('tls_unavailable', `server at ${where} does not offer TLS (sslmode=${sslmode})`, 'enable ssl on the server or connect with sslmode=disable on a trusted network');
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return make('host_not_found', `host not found: ${p.host}`, 'check the host name in the database URL');
  }
  if (code === 'ECONNREFUSED' || (code === 'ENOENT' && p.host.startsWith('/'))) {
    return make('connection_refused', `connection refused at ${where}`, 'is PostgreSQL running and listening on that address and port?');
  }
  if (code === 'CONNECT_TIMEOUT' || code === 'ETIMEDOUT') {
    const after = ctx.timeoutSeconds ? ` after ${ctx.timeoutSeconds} s` : '';
    return make('connect_timeout', `timed out connecting to ${where}${after}`, 'check the network path or raise --connect-timeout');
  }
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME/.test(code)) {
    return make('tls_verify_failed', `cannot verify the TLS certificate of ${where}: ${message} (sslmode=${sslmode})`, 'check sslrootcert, or the host name the certificate was issued for');
  }
  if (/^(require|verify-ca|verify-full)$/.test(sslmode ?? '') && (/SSL|TLS|EPROTO|ECONNRESET/i.test(code) || /SSL|TLS|secure/i.test(message))) {
    return make('tls_unavailable', `server at ${where} does not offer TLS (sslmode=${sslmode})`, 'enable ssl on the server or connect with sslmode=disable on a trusted network');
  }
  if (code === 'SASL_SIGNATURE_MISMATCH' || /password/i.test(message)) {
    return make('auth_failed', `authentication failed for user "${p.user}" at ${where}`, passwordHint(p, ctx.passwordSource));
  }
  if (code === 'CONNECTION_CLOSED' || code === 'ECONNRESET' || code === 'EPIPE') {
    return make('connection_closed', `${where} closed the connection during the handshake`, 'check that a PostgreSQL server listens on that address and port');
  }
  return make('connect_failed', `cannot connect to ${target}: ${message}${code ? ` (${code})` : ''}`);
}
