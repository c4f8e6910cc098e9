import { usageError } from '../errors.js';

/**
 * Connection URLs: parsing, redaction and the libpq environment fallback. A password
 * is never printed: every URL that reaches output goes through redactUrl, and error
 * messages go through redactSecrets.
 */

const URL_PATTERN = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/@:]*)(?::([^\s/@]*))?@/gi;

/** postgres://user:secret@host/db -> postgres://user:***@host/db (also ?password=...). */
export function redactUrl(url: string): string {
  return redactSecrets(url);
}

/** Removes passwords from any text: URLs with credentials and password=... pairs. */
export function redactSecrets(text: string): string {
  return text
    .replace(URL_PATTERN, (_m, scheme: string, user: string, pass: string | undefined) =>
      pass === undefined ? `${scheme}${user}@` : `${scheme}${user}:***@`,
    )
    .replace(/([?&]password=)[^&\s]*/gi, '$1***')
    .replace(/(\bpassword\s*=\s*)('[^']*'|"[^"]*"|\S+)/gi, '$1***')
    .replace(/(\bpassword\s+)('(?:[^']|'')*')/gi, "$1'***'");
}

export interface ParsedUrl {
  host: string;
  port: number;
  user: string;
  password?: string;
  database: string;
  params: Record<string, string>;
}

/** Parses a postgres:// URL; a malformed one is a usage error (exit 2). */
export function parseDatabaseUrl(url: string): ParsedUrl {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw usageError(`malformed database URL: ${redactUrl(url)}`, 'use postgres://user:password@host:5432/dbname');
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw usageError(
      `unsupported database URL scheme "${parsed.protocol}" in ${redactUrl(url)}`,
      'use postgres://user:password@host:5432/dbname',
    );
  }
  const port = parsed.port === '' ? 5432 : Number(parsed.port);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) {
    throw usageError(`invalid port in database URL: ${redactUrl(url)}`);
  }
  const params: Record<string, string> = {};
  parsed.searchParams.forEach((value, key) => {
    params[key] = value;
  });
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  const user = decodeURIComponent(parsed.username) || params.user || process.env.USER || 'postgres';
  return {
    host: decodeURIComponent(parsed.hostname) || params.host || 'localhost',
    port,
    user,
    password: parsed.password === '' ? params.password : decodeURIComponent(parsed.password),
    database: database || params.dbname || user,
    params,
  };
}

/** Formats a URL; pass `redact` to replace the password. */
export function formatDatabaseUrl(p: ParsedUrl, options: { redact?: boolean } = {}): string {
  const auth =
    encodeURIComponent(p.user) +
    (p.password === undefined || p.password === '' ? '' : `:${options.redact ? '***' : encodeURIComponent(p.password)}`);
  const host = p.host.includes(':') ? `[${p.host}]` : p.host;
  const query = Object.entries(p.params)
    .filter(([k]) => k !== 'password')
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join('&');
  return `postgres://${auth}@${host}:${p.port}/${encodeURIComponent(p.database)}${query ? `?${query}` : ''}`;
}

/** The same server, another database (for CREATE DATABASE and scratch databases). */
export function withDatabase(url: string, database: string): string {
  const p = parseDatabaseUrl(url);
  return formatDatabaseUrl({ ...p, database });
}

/** Builds a URL from the libpq variables, or undefined when none names a server. */
export function urlFromLibpqEnv(env: NodeJS.ProcessEnv): string | undefined {
  if (!env.PGHOST && !env.PGDATABASE && !env.PGUSER && !env.PGPORT && !env.PGSERVICE) return undefined;
  const params: Record<string, string> = {};
  if (env.PGSSLMODE) params.sslmode = env.PGSSLMODE;
  const host = env.PGHOST ?? 'localhost';
  if (host.startsWith('/')) params.host = host;
  return formatDatabaseUrl({
    host: host.startsWith('/') ? 'localhost' : host,
    port: env.PGPORT ? Number(env.PGPORT) : 5432,
    user: env.PGUSER ?? env.USER ?? 'postgres',
    password: env.PGPASSWORD,
    database: env.PGDATABASE ?? env.PGUSER ?? 'postgres',
    params,
  });
}

/** True for 127.0.0.0/8, ::1, localhost and Unix sockets: TLS is not expected there. */
export function isLocalHost(host: string): boolean {
  return host === 'localhost' || host.startsWith('127.') || host === '::1' || host.startsWith('/');
}
