import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { usageError } from './errors.js';
import { urlFromLibpqEnv } from './db/url.js';
import { optionalInteger, type IntegerRange } from './validate.js';
import { DURATION_TEXT, RANGES, parseDurationMs, rolePrefixProblem } from './config/ranges.js';
import type { ConfigFile } from './config/schema.js';

export type { ConfigFile } from './config/schema.js';

/**
 * Settings every command shares. Precedence: command-line flags > environment >
 * config file (bookingdb.config.json, or --config PATH) > defaults. Every value is
 * checked where it comes from, and a bad one names its source: the flag, the
 * variable, or the file and key path. The resolution is a pure function so it can be
 * unit tested without a database.
 */
export interface Settings {
  /** Explicit target; undefined means "use the local cluster". */
  databaseUrl?: string;
  /** Where databaseUrl came from, for messages: flag, DATABASE_URL, libpq, config. */
  databaseUrlSource?: 'flag' | 'DATABASE_URL' | 'libpq' | 'config';
  rolePrefix: string;
  connectTimeoutSeconds: number;
  lockWaitSeconds: number;
  lockTimeoutMs: number;
  localPort: number;
  localDir: string;
  /** statement_timeout for the app login roles, PostgreSQL syntax (default "5s"). */
  appStatementTimeout: string;
  configPath?: string;
}

export interface FlagSettings {
  databaseUrl?: string;
  config?: string;
  rolePrefix?: string;
  connectTimeout?: string | number;
  lockWait?: string | number;
  lockTimeout?: string | number;
  port?: string | number;
}

export const DEFAULT_LOCAL_PORT = 54329;
export const DEFAULT_CONFIG_FILE = 'bookingdb.config.json';
export const DEFAULT_APP_STATEMENT_TIMEOUT = '5s';

/**
 * Reads and validates the config file: an explicit --config must exist; the default
 * one is optional. Any problem is exit 2 naming the file and the key path.
 */
export async function loadConfigFile(path: string | undefined, cwd: string): Promise<{ file: ConfigFile; path?: string }> {
  const explicit = path !== undefined;
  const full = resolve(cwd, path ?? DEFAULT_CONFIG_FILE);
  if (!existsSync(full)) {
    if (explicit) throw usageError(`config file not found: ${full}`, 'check the --config path');
    return { file: {} };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(full, 'utf8'));
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    if (e.code) throw usageError(`cannot read config file ${full} (${e.code})`, 'check its permissions, or pass --config');
    throw usageError(`config file ${full} is not valid JSON: ${e.message}`, 'fix the file or pass --config');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw usageError(`config file ${full} must hold a JSON object`, 'start from {} and add the keys you need');
  }
  const { validateConfig } = await import('./config/schema.js');
  const result = validateConfig(parsed);
  if (!result.ok) throw usageError(`${full}: ${result.message}`, result.hint);
  return { file: result.config, path: full };
}

type Source = { name: string; hint: string };

function sources(configPath?: string) {
  const file = configPath ?? DEFAULT_CONFIG_FILE;
  return {
    flag: (flag: string): Source => ({ name: flag, hint: `fix the ${flag} flag` }),
    env: (name: string): Source => ({ name, hint: `fix or unset ${name}` }),
    file: (key: string): Source => ({ name: `${file}: ${key}`, hint: 'fix the value in the config file' }),
  };
}

function integer(src: Source, value: string | number | undefined, range: IntegerRange): number | undefined {
  try {
    return optionalInteger(src.name, value, range);
  } catch (error) {
    throw usageError((error as Error).message, src.hint);
  }
}

/** The first source that gives a value wins; each is validated as it is taken. */
function firstInteger(candidates: [Source, string | number | undefined][], range: IntegerRange, fallback: number): number {
  for (const [src, value] of candidates) {
    const n = integer(src, value, range);
    if (n !== undefined) return n;
  }
  return fallback;
}

function firstString(candidates: [Source, string | undefined][], check: (v: string) => string | undefined, fallback: string): string {
  for (const [src, value] of candidates) {
    if (value === undefined || value === '') continue;
    const problem = check(value);
    if (problem) throw usageError(`invalid ${src.name} "${value}"`, problem);
    return value;
  }
  return fallback;
}

/** Merges flags, environment and config file into Settings. */
export function resolveSettings(flags: FlagSettings, env: NodeJS.ProcessEnv, file: ConfigFile, configPath?: string): Settings {
  const src = sources(configPath);
  let databaseUrl: string | undefined;
  let databaseUrlSource: Settings['databaseUrlSource'];
  if (flags.databaseUrl !== undefined && flags.databaseUrl.trim() === '') {
    throw usageError('--database-url is empty', 'pass a postgres:// URL, or leave the flag out to use DATABASE_URL or the local cluster');
  }
  if (flags.databaseUrl) [databaseUrl, databaseUrlSource] = [flags.databaseUrl, 'flag'];
  else if (env.DATABASE_URL) [databaseUrl, databaseUrlSource] = [env.DATABASE_URL, 'DATABASE_URL'];
  else {
    const libpq = urlFromLibpqEnv(env);
    if (libpq) [databaseUrl, databaseUrlSource] = [libpq, 'libpq'];
    else if (file.databaseUrl) [databaseUrl, databaseUrlSource] = [file.databaseUrl, 'config'];
  }

  const rolePrefix = firstString(
    [[src.flag('--role-prefix'), flags.rolePrefix], [src.env('BOOKINGDB_ROLE_PREFIX'), env.BOOKINGDB_ROLE_PREFIX], [src.file('rolePrefix'), file.rolePrefix]],
    rolePrefixProblem,
    'bookingdb',
  );
  const appStatementTimeout = firstString(
    [[src.env('BOOKINGDB_APP_STATEMENT_TIMEOUT'), env.BOOKINGDB_APP_STATEMENT_TIMEOUT], [src.file('roles.appStatementTimeout'), file.roles?.appStatementTimeout]],
    (v) => (parseDurationMs(v) === undefined ? `use ${DURATION_TEXT}` : undefined),
    DEFAULT_APP_STATEMENT_TIMEOUT,
  );
  return {
    databaseUrl,
    databaseUrlSource,
    rolePrefix,
    connectTimeoutSeconds: firstInteger(
      [[src.flag('--connect-timeout'), flags.connectTimeout], [src.env('BOOKINGDB_CONNECT_TIMEOUT'), env.BOOKINGDB_CONNECT_TIMEOUT], [src.file('connectTimeoutSeconds'), file.connectTimeoutSeconds]],
      RANGES.connectTimeoutSeconds, 10),
    lockWaitSeconds: firstInteger(
      [[src.flag('--lock-wait'), flags.lockWait], [src.env('BOOKINGDB_LOCK_WAIT'), env.BOOKINGDB_LOCK_WAIT], [src.file('lockWaitSeconds'), file.lockWaitSeconds]],
      RANGES.lockWaitSeconds, 60),
    lockTimeoutMs: firstInteger(
      [[src.flag('--lock-timeout'), flags.lockTimeout], [src.env('BOOKINGDB_LOCK_TIMEOUT_MS'), env.BOOKINGDB_LOCK_TIMEOUT_MS], [src.file('lockTimeoutMs'), file.lockTimeoutMs]],
      RANGES.lockTimeoutMs, 5000),
    localPort: firstInteger(
      [[src.flag('--port'), flags.port], [src.env('BOOKINGDB_LOCAL_PORT'), env.BOOKINGDB_LOCAL_PORT], [src.file('local.port'), file.local?.port]],
      RANGES.localPort, DEFAULT_LOCAL_PORT),
    localDir: env.BOOKINGDB_LOCAL_DIR || file.local?.dir || '.bookingdb/local',
    appStatementTimeout,
    configPath,
  };
}

/** Names where the database URL came from, for messages about it. */
export function describeUrlSource(settings: Settings): string {
  switch (settings.databaseUrlSource) {
    case 'flag': return '--database-url';
    case 'DATABASE_URL': return 'DATABASE_URL';
    case 'libpq': return 'the PG* variables';
    case 'config': return `${settings.configPath ?? DEFAULT_CONFIG_FILE}: databaseUrl`;
    default: return 'the local cluster';
  }
}
