import { usageError } from '../errors.js';
import { URL_PARAMETERS, UNSUPPORTED_LIBPQ, type SslMode, SSL_MODES, readServiceFile, unknownParameter } from './params.js';

/**
 * Connection URLs: parsing (once, into a ConnectionTarget), redaction, and the libpq
 * environment fallback. A password is never printed: every URL that reaches output
 * goes through redactUrl, and every line of output through redactSecrets.
 */

const SCHEME = /\b[a-z][a-z0-9+.-]*:\/\//gi;
/** Userinfo made only of characters a well-formed URL may carry there (RFC 3986). */
const CLEAN_USERINFO = /^([A-Za-z0-9._~%!$&'()*+,;=-]*)(:[A-Za-z0-9._~%!$&'()*+,;=:-]*)?$/;
const REDACTED_USERINFO = /^(\*\*\*|[A-Za-z0-9._~%-]*:\*\*\*)$/;

/**
 * Hides the userinfo of every `scheme://...@` in a line of text. It does not trust
 * any URL parser: the userinfo is everything from `scheme://` to the LAST `@` on the
 * same line (a password may hold `@`, `/`, spaces and quotes). When that span looks
 * like a well-formed `user:password`, the user is kept (`user:***`); otherwise none of
 * it is (`***`). The price is over-redaction of a line that holds two URLs, or a URL
 * and a later `@`: we prefer losing a host name to leaking a password's tail.
 */
function redactUserinfo(line: string): string {
  let out = '';
  let from = 0;
  SCHEME.lastIndex = 0;
  for (let m = SCHEME.exec(line); m; m = SCHEME.exec(line)) {
    const start = m.index + m[0].length;
    const at = line.lastIndexOf('@');
    if (at < start) break; // no userinfo after this scheme, nor after any later one
    const userinfo = line.slice(start, at);
    out += line.slice(from, start);
    if (REDACTED_USERINFO.test(userinfo)) out += userinfo;
    else {
      const clean = CLEAN_USERINFO.exec(userinfo);
      out += clean ? (clean[2] === undefined ? clean[1] : `${clean[1]}:***`) : '***';
    }
    from = at;
    SCHEME.lastIndex = at;
  }
  return out + line.slice(from);
}

/** Removes passwords from any text: URL userinfo, ?password=, password=..., PASSWORD '...'. */
export function redactSecrets(text: string): string {
  return text
    .split('\n')
    .map(redactUserinfo)
    .join('\n')
    .replace(/([?&](?:ssl)?password=)[^&#\n]*/gi, '$1***')
    .replace(/(?<![?&])(\b(?:ssl)?password\s*=\s*)('[^'\n]*'|"[^"\n]*"|[^\s'"]+)/gi, '$1***')
    .replace(/(\bpassword\s+)('(?:[^']|'')*')/gi, "$1'***'");
}

/** Redacts every string in a JSON-able value (for --json documents: keeps them valid JSON). */
export function redactDeep(value: unknown): unknown {
  if (typeof value === 'string') return redactSecrets(value);
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return value.map(redactDeep);
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [redactSecrets(k), redactDeep(v)]));
  }
  return value;
}

/**
 * postgres://user:secret@host/db -> postgres://user:***@host:5432/db. A URL that does
 * not parse shows no part of its userinfo: postgres://***@host/db.
 */
export function redactUrl(url: string): string {
  let parsed: ConnectionTarget | undefined;
  try {
    parsed = parseDatabaseUrl(url, process.env, { service: false });
  } catch {
    parsed = undefined;
  }
  return parsed ? formatDatabaseUrl(parsed, { redact: true }) : redactUnparsed(url);
}

/** A URL that did not parse: scheme, `***` for the whole userinfo, then what follows the last `@`. */
function redactUnparsed(url: string): string {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url);
  const at = url.lastIndexOf('@');
  return redactSecrets(scheme && at >= scheme[0].length ? `${scheme[0]}***${url.slice(at)}` : url);
}

/**
 * Where and how to connect, decoded once: host (a name, an address, or a Unix socket
 * directory), port, user, password, database, TLS mode, and the libpq parameters that
 * were given (validated). Every layer passes this (or the URL it formats to) down;
 * nothing decodes a path twice.
 */
export interface ConnectionTarget {
  host: string;
  port: number;
  user: string;
  password?: string;
  database: string;
  sslmode: SslMode;
  /** The validated libpq parameters from the URL's query string and the service file. */
  params: Record<string, string>;
}

/** Kept for callers that only need the parts. */
export type ParsedUrl = ConnectionTarget;

function malformed(url: string, why?: string): never {
  throw usageError(
    `malformed database URL${why ? ` (${why})` : ''}: ${redactUnparsed(url)}`,
    'use postgres://user:password@host:5432/dbname, percent-encoding special characters in the password (e.g. @ as %40, / as %2F)',
  );
}

function decode(url: string, part: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return malformed(url, `bad percent-encoding in the ${what}`);
  }
}

/**
 * Parses a postgres:// URL into a ConnectionTarget, with libpq's defaults: values in
 * the URL, then the service file (?service= or PGSERVICE), then the PG* variables.
 * A malformed URL, an unknown parameter or a bad value is a usage error (exit 2).
 */
export function parseDatabaseUrl(url: string, env: NodeJS.ProcessEnv = process.env, options: { service?: boolean } = {}): ConnectionTarget {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return malformed(url);
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw usageError(`unsupported database URL scheme "${parsed.protocol}" in ${redactUnparsed(url)}`, 'use postgres://user:password@host:5432/dbname');
  }
  if (parsed.hash) malformed(url, 'it has a #fragment; percent-encode # in a password as %23');
  // An @ after the authority means a password with a raw / ? or # in it was split
  // into host and path: the "database name" would hold the password's tail.
  const authorityEnd = url.slice(parsed.protocol.length + 2).search(/[/?#]/);
  if (authorityEnd >= 0 && url.lastIndexOf('@') > parsed.protocol.length + 2 + authorityEnd) {
    malformed(url, 'an @ after the host; percent-encode @ / ? # in a password as %40 %2F %3F %23');
  }
  const params: Record<string, string> = {};
  parsed.searchParams.forEach((value, key) => {
    params[key] = value;
  });
  for (const key of Object.keys(params)) {
    const spec = URL_PARAMETERS[key];
    if (!spec) {
      if (UNSUPPORTED_LIBPQ.has(key)) throw unknownParameter(key, redactUnparsed(url));
      throw usageError(`unknown database URL parameter "${key}" in ${redactUnparsed(url)}`, `accepted: ${Object.keys(URL_PARAMETERS).join(', ')}`);
    }
    spec.validate?.(params[key], `database URL parameter "${key}"`);
  }
  const service = params.service ?? env.PGSERVICE;
  const fromService = service && options.service !== false ? readServiceFile(service, env) : {};
  // libpq's order: the query string (read after the authority, so it wins), the
  // URL's own parts, the service file, then the PG* variables.
  const pick = (urlPart: string, key: string, envName: string): string | undefined =>
    (params[key] || urlPart || fromService[key] || env[envName]) || undefined;

  const host = pick(parsed.hostname === '' ? '' : decode(url, parsed.hostname.replace(/^\[|\]$/g, ''), 'host'), 'host', 'PGHOST') ?? 'localhost';
  if (host.includes(',')) throw usageError(`several hosts in one database URL are not supported: ${redactUnparsed(url)}`, 'give one host');
  const portText = pick(parsed.port, 'port', 'PGPORT') ?? '5432';
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (!(port >= 1 && port <= 65535)) throw usageError(`invalid port "${portText}" in database URL ${redactUnparsed(url)}`, 'a port is a whole number from 1 to 65535');
  const user = pick(decode(url, parsed.username, 'user name'), 'user', 'PGUSER') ?? env.USER ?? 'postgres';
  const password = pick(decode(url, parsed.password, 'password'), 'password', 'PGPASSWORD');
  const database = pick(decode(url, parsed.pathname.replace(/^\//, ''), 'database name'), 'dbname', 'PGDATABASE') ?? user;
  const sslmode = (params.sslmode ?? fromService.sslmode ?? env.PGSSLMODE ?? 'prefer') as SslMode;
  if (!SSL_MODES.includes(sslmode)) {
    throw usageError(`invalid sslmode "${sslmode}"${params.sslmode ? '' : env.PGSSLMODE ? ' in PGSSLMODE' : ` in service "${service}"`}`, `use one of ${SSL_MODES.join(', ')}`);
  }
  const merged = { ...fromService, ...params };
  for (const k of ['host', 'port', 'user', 'password', 'dbname', 'service']) delete merged[k];
  return { host, port, user, password, database, sslmode, params: merged };
}

/** Formats a target as a URL; pass `redact` to replace the password. */
export function formatDatabaseUrl(p: Omit<ConnectionTarget, 'sslmode'> & { sslmode?: SslMode }, options: { redact?: boolean } = {}): string {
  const auth =
    encodeURIComponent(p.user) +
    (p.password === undefined || p.password === '' ? '' : `:${options.redact ? '***' : encodeURIComponent(p.password)}`);
  const socket = p.host.startsWith('/');
  const host = socket ? 'localhost' : p.host.includes(':') ? `[${p.host}]` : p.host;
  const params: Record<string, string> = { ...p.params };
  if (socket) params.host = p.host;
  const query = Object.entries(params)
    .filter(([k]) => k !== 'password' && !(options.redact && k === 'sslpassword'))
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
  // parseDatabaseUrl fills in everything from the PG* variables and the service file.
  return formatDatabaseUrl(parseDatabaseUrl('postgres://', env));
}

/** True for 127.0.0.0/8, ::1, localhost and Unix sockets: TLS is not expected there. */
export function isLocalHost(host: string): boolean {
  return host === 'localhost' || host.startsWith('127.') || host === '::1' || host.startsWith('/');
}
