import type { IntegerRange } from '../validate.js';

/**
 * The allowed values of every setting, shared by the config-file schema and the
 * flag/environment parsers, so a value means the same wherever it comes from.
 */
export const RANGES = {
  connectTimeoutSeconds: { min: 1, max: 3600, unit: 'seconds' },
  lockWaitSeconds: { min: 0, max: 86_400, unit: 'seconds' },
  lockTimeoutMs: { min: 1, max: 600_000, unit: 'ms' },
  localPort: { min: 1, max: 65_535 },
} satisfies Record<string, IntegerRange>;

/** Lower-case letters, digits and _, at most 40 (role names are the prefix plus e.g. _reporting). */
export const ROLE_PREFIX = /^[a-z_][a-z0-9_]{0,40}$/;
/** PostgreSQL reserves role names starting with pg_: a prefix "pg" or "pg_..." could never work. */
export const RESERVED_ROLE_PREFIX = /^pg(_|$)/;

export function rolePrefixProblem(prefix: string): string | undefined {
  if (!ROLE_PREFIX.test(prefix)) return 'use lower-case letters, digits and _, starting with a letter or _ (max 41 characters)';
  if (RESERVED_ROLE_PREFIX.test(prefix)) return 'PostgreSQL reserves role names starting with pg_: choose another prefix (e.g. the default, bookingdb)';
  return undefined;
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, min: 60_000, h: 3_600_000, d: 86_400_000 };
/** statement_timeout of the app logins: at least 100 ms (0 would disable it), at most 1 hour. */
export const DURATION_RANGE_MS = { min: 100, max: 3_600_000 };

/**
 * A PostgreSQL-style duration ("5s", "500ms", "2min", "1h"; a bare number is ms, as
 * for statement_timeout) in milliseconds, or undefined when it is not one or out of range.
 */
export function parseDurationMs(text: string): number | undefined {
  const m = /^(\d{1,9})\s*(us|ms|s|min|h|d)?$/.exec(text.trim());
  if (!m) return undefined;
  const ms = Number(m[1]) * UNIT_MS[m[2] ?? 'ms'];
  return ms >= DURATION_RANGE_MS.min && ms <= DURATION_RANGE_MS.max ? ms : undefined;
}

export const DURATION_TEXT = 'a duration from 100ms to 1h, such as "5s", "500ms" or "2min"';
