import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { usageError } from '../errors.js';
import { parseInteger } from '../validate.js';

/**
 * The libpq connection parameters bookingdb accepts in a database URL's query string
 * and in pg_service.conf. Anything else is exit 2 naming the parameter: a typo such as
 * `?sslmdoe=require` must not silently connect without TLS.
 */
export const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;
export type SslMode = (typeof SSL_MODES)[number];

export const TARGET_SESSION_ATTRS = ['any', 'read-write', 'read-only', 'primary', 'standby', 'prefer-standby'] as const;

interface ParamSpec {
  /** Throws a usage error naming `source` when the value is invalid. */
  validate?: (value: string, source: string) => void;
}

const oneOf = (allowed: readonly string[]) => (value: string, source: string) => {
  if (!allowed.includes(value)) throw usageError(`${source} must be one of ${allowed.join(', ')}, got "${value}"`, 'fix the database URL (or the service file)');
};
const nonEmpty = (value: string, source: string) => {
  if (value === '') throw usageError(`${source} is empty`, 'give it a value or leave it out');
};

export const URL_PARAMETERS: Record<string, ParamSpec> = {
  host: { validate: nonEmpty },
  port: {},
  dbname: { validate: nonEmpty },
  user: { validate: nonEmpty },
  password: {},
  passfile: { validate: nonEmpty },
  service: { validate: nonEmpty },
  sslmode: { validate: oneOf(SSL_MODES) },
  sslrootcert: { validate: nonEmpty },
  sslcert: { validate: nonEmpty },
  sslkey: { validate: nonEmpty },
  sslpassword: {},
  application_name: {},
  fallback_application_name: {},
  connect_timeout: { validate: (v, s) => void parseInteger(s, v, { min: 1, max: 3600, unit: 'seconds' }) },
  options: {},
  target_session_attrs: { validate: oneOf(TARGET_SESSION_ATTRS) },
};

/** libpq parameters bookingdb knows but cannot honour (postgres.js has no equivalent). */
export const UNSUPPORTED_LIBPQ = new Set([
  'hostaddr', 'client_encoding', 'keepalives', 'keepalives_idle', 'keepalives_interval', 'keepalives_count', 'tcp_user_timeout',
  'replication', 'gssencmode', 'gsslib', 'gssdelegation', 'krbsrvname', 'channel_binding', 'require_auth', 'sslnegotiation',
  'sslcompression', 'sslcrl', 'sslcrldir', 'sslsni', 'ssl_min_protocol_version', 'ssl_max_protocol_version', 'requirepeer',
  'load_balance_hosts', 'sslcertmode',
]);

/** The usage error for a parameter that is not in URL_PARAMETERS. */
export function unknownParameter(key: string, where: string): Error {
  return UNSUPPORTED_LIBPQ.has(key)
    ? usageError(`${where}: the libpq parameter "${key}" is not supported by bookingdb`, `remove it; supported: ${Object.keys(URL_PARAMETERS).join(', ')}`)
    : usageError(`${where}: unknown parameter "${key}"`, `accepted: ${Object.keys(URL_PARAMETERS).join(', ')}`);
}

/**
 * Reads one service from the connection service file, as libpq does: PGSERVICEFILE,
 * else ~/.pg_service.conf, then PGSYSCONFDIR/pg_service.conf; the first file that has
 * the section wins. Keys are checked against URL_PARAMETERS (exit 2 naming file and line).
 */
export function readServiceFile(service: string, env: NodeJS.ProcessEnv): Record<string, string> {
  const home = env.HOME || homedir();
  const files = [env.PGSERVICEFILE ?? join(home, '.pg_service.conf')];
  if (env.PGSYSCONFDIR) files.push(join(env.PGSYSCONFDIR, 'pg_service.conf'));
  for (const file of files) {
    if (!existsSync(file)) continue;
    const found = parseServiceFile(readFileSync(file, 'utf8'), file, service);
    if (found) return found;
  }
  throw usageError(`service "${service}" not found in ${files.join(' or ')}`, 'check PGSERVICE (or ?service=) and the service file');
}

/** The key=value pairs of section [service], or undefined when the file has none. */
export function parseServiceFile(text: string, file: string, service: string): Record<string, string> | undefined {
  let current: string | undefined;
  let found: Record<string, string> | undefined;
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const section = /^\[(.*)\]$/.exec(line);
    if (section) {
      current = section[1];
      if (current === service && !found) found = {};
      return;
    }
    const eq = line.indexOf('=');
    if (eq < 0) throw usageError(`syntax error in service file ${file}, line ${i + 1}`, 'each line is [service] or key=value');
    if (current !== service || found === undefined) return;
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    if (!URL_PARAMETERS[key] || key === 'service') {
      if (UNSUPPORTED_LIBPQ.has(key)) throw unknownParameter(key, `service file ${file}, line ${i + 1}`);
      throw usageError(`unknown parameter "${key}" in service file ${file}, line ${i + 1}`, `accepted: ${Object.keys(URL_PARAMETERS).filter((k) => k !== 'service').join(', ')}`);
    }
    URL_PARAMETERS[key].validate?.(value, `"${key}" in service file ${file}, line ${i + 1}`);
    if (!(key in found)) found[key] = value;
  });
  return found;
}
