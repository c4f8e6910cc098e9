import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { usageError } from './errors.js';
import { urlFromLibpqEnv } from './db/url.js';

/**
 * Settings every command shares. Precedence: command-line flags > environment >
 * config file (bookingdb.config.json, or --config PATH) > defaults. The resolution is
 * a pure function so it can be unit tested without a database.
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

/** Shape of bookingdb.config.json. */
export interface ConfigFile {
  databaseUrl?: string;
  rolePrefix?: string;
  connectTimeoutSeconds?: number;
  lockWaitSeconds?: number;
  lockTimeoutMs?: number;
  local?: { port?: number; dir?: string };
}

export const DEFAULT_LOCAL_PORT = 54329;
export const DEFAULT_CONFIG_FILE = 'bookingdb.config.json';

const CONFIG_KEYS = new Set(['databaseUrl', 'rolePrefix', 'connectTimeoutSeconds', 'lockWaitSeconds', 'lockTimeoutMs', 'local', '$schema']);

/** Reads the config file: an explicit --config must exist; the default one is optional. */
export function loadConfigFile(path: string | undefined, cwd: string): { file: ConfigFile; path?: string } {
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
    throw usageError(`config file ${full} is not valid JSON: ${(error as Error).message}`, 'fix the file or pass --config');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw usageError(`config file ${full} must hold a JSON object`);
  }
  for (const key of Object.keys(parsed)) {
    if (!CONFIG_KEYS.has(key)) {
      throw usageError(`unknown key "${key}" in ${full}`, `known keys: ${[...CONFIG_KEYS].filter((k) => k !== '$schema').join(', ')}`);
    }
  }
  return { file: parsed as ConfigFile, path: full };
}

function positiveNumber(name: string, value: string | number | undefined, integer = false): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isFinite(n) || n < 0 || (integer && !Number.isInteger(n))) {
    throw usageError(`${name} must be a ${integer ? 'whole ' : ''}number >= 0, got "${value}"`);
  }
  return n;
}

/** Merges flags, environment and config file into Settings. */
export function resolveSettings(flags: FlagSettings, env: NodeJS.ProcessEnv, file: ConfigFile, configPath?: string): Settings {
  let databaseUrl: string | undefined;
  let databaseUrlSource: Settings['databaseUrlSource'];
  if (flags.databaseUrl !== undefined && flags.databaseUrl.trim() === '') {
    throw usageError('--database-url is empty', 'pass a postgres:// URL, or leave the flag out to use DATABASE_URL or the local cluster');
  }
  const libpq = urlFromLibpqEnv(env);
  if (flags.databaseUrl) [databaseUrl, databaseUrlSource] = [flags.databaseUrl, 'flag'];
  else if (env.DATABASE_URL) [databaseUrl, databaseUrlSource] = [env.DATABASE_URL, 'DATABASE_URL'];
  else if (libpq) [databaseUrl, databaseUrlSource] = [libpq, 'libpq'];
  else if (file.databaseUrl) [databaseUrl, databaseUrlSource] = [file.databaseUrl, 'config'];

  const rolePrefix = flags.rolePrefix ?? env.BOOKINGDB_ROLE_PREFIX ?? file.rolePrefix ?? 'bookingdb';
  if (!/^[a-z_][a-z0-9_]{0,40}$/.test(rolePrefix)) {
    throw usageError(`invalid role prefix "${rolePrefix}"`, 'use lower-case letters, digits and _ (max 40 characters)');
  }
  const pick = (name: string, flag: string | number | undefined, envValue: string | undefined, fileValue: number | undefined, fallback: number, integer = false) =>
    positiveNumber(name, flag, integer) ?? positiveNumber(name, envValue, integer) ?? positiveNumber(name, fileValue, integer) ?? fallback;

  const localPort = pick('--port', flags.port, env.BOOKINGDB_LOCAL_PORT, file.local?.port, DEFAULT_LOCAL_PORT, true);
  if (localPort < 1 || localPort > 65535) throw usageError(`--port must be between 1 and 65535, got ${localPort}`);
  return {
    databaseUrl,
    databaseUrlSource,
    rolePrefix,
    connectTimeoutSeconds: pick('--connect-timeout', flags.connectTimeout, env.BOOKINGDB_CONNECT_TIMEOUT, file.connectTimeoutSeconds, 10),
    lockWaitSeconds: pick('--lock-wait', flags.lockWait, env.BOOKINGDB_LOCK_WAIT, file.lockWaitSeconds, 60),
    lockTimeoutMs: pick('--lock-timeout', flags.lockTimeout, env.BOOKINGDB_LOCK_TIMEOUT_MS, file.lockTimeoutMs, 5000, true),
    localPort,
    localDir: env.BOOKINGDB_LOCAL_DIR ?? file.local?.dir ?? '.bookingdb/local',
    configPath,
  };
}
