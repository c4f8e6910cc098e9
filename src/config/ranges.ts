import { parseDurationText } from '../roles/durations.js';
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

/**
 * A duration as the app logins' role settings take it ("5s", "500ms", "2min", "1h", or
 * "0" to disable), in milliseconds, or undefined when it is not one: the same grammar as
 * `roles create --statement-timeout` (src/roles/durations.ts), so a value means the same in
 * the config file, the environment and the flag. A bare number is refused: PostgreSQL
 * would read it as milliseconds, which is rarely what was meant.
 */
export function parseDurationMs(text: string): number | undefined {
  return parseDurationText(text)?.ms;
}

export const DURATION_TEXT = 'a duration such as "5s", "500ms" or "2min" (a whole number and ms, s, min or h, at most 24h; "0" disables)';
