import { usageError } from '../errors.js';

/**
 * Durations for role settings (`--statement-timeout 5s`), strict like src/validate.ts:
 * a whole number and a unit (ms, s, min, h), or `0` for "disabled". A bare number is
 * refused because PostgreSQL would read it as milliseconds, which is rarely what was
 * meant. The text returned is what goes into `ALTER ROLE ... SET`, digits and a unit only.
 */
export interface Duration {
  ms: number;
  /** PostgreSQL's spelling, e.g. '5s', '500ms', '0'. */
  text: string;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, min: 60_000, h: 3_600_000 };
export const MAX_ROLE_TIMEOUT_MS = 24 * 3_600_000;

/** The grammar alone: undefined when `value` is not a duration of at most maxMs. */
export function parseDurationText(value: string, maxMs = MAX_ROLE_TIMEOUT_MS): Duration | undefined {
  if (value === '0') return { ms: 0, text: '0' };
  const m = /^(0|[1-9]\d{0,8})(ms|s|min|h)$/.exec(value);
  if (!m) return undefined;
  if (m[1] === '0') return { ms: 0, text: '0' };
  const ms = Number(m[1]) * UNIT_MS[m[2]];
  return ms > maxMs ? undefined : { ms, text: `${m[1]}${m[2]}` };
}

/** Parses a duration or fails with exit 2 naming its source (a flag, variable or key). */
export function parseDuration(source: string, value: string, maxMs = MAX_ROLE_TIMEOUT_MS): Duration {
  const parsed = parseDurationText(value, maxMs);
  if (!parsed) {
    throw usageError(`${source} must be a duration like 5s, 500ms or 2min up to 24h, or 0 to disable, got "${value}"`,
      'write a whole number followed by ms, s, min or h');
  }
  return parsed;
}
