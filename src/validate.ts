import { usageError } from './errors.js';

/**
 * Strict parsing of numbers and names that come from flags, the environment or the
 * config file. `Number()` accepts `1e3`, `0x10`, ` 7 ` and `1e21`; these do not: a
 * whole number is optional sign-free decimal digits, and every value has a range.
 * Errors are exit 2 and name where the value came from (`--tenants`, `BOOKINGDB_LOCK_WAIT`,
 * `bookingdb.config.json: lockTimeoutMs`) and the allowed range.
 */
export interface IntegerRange {
  min: number;
  max: number;
  /** What the number counts, for the message (e.g. "ms", "seconds"). */
  unit?: string;
}

function rangeText(r: IntegerRange): string {
  return `a whole number from ${r.min} to ${r.max}${r.unit ? ` (${r.unit})` : ''}`;
}

/** Parses a whole decimal number in range; `source` names the flag, variable or key. */
export function parseInteger(source: string, value: string | number, range: IntegerRange): number {
  let n: number;
  if (typeof value === 'number') n = value;
  else {
    const text = value.trim();
    if (!/^\d{1,15}$/.test(text) || text !== value) {
      throw usageError(`${source} must be ${rangeText(range)}, got "${value}"`);
    }
    n = Number(text);
  }
  if (!Number.isSafeInteger(n) || n < range.min || n > range.max) {
    throw usageError(`${source} must be ${rangeText(range)}, got ${typeof value === 'string' ? `"${value}"` : String(value)}`);
  }
  return n;
}

/** Like parseInteger, but undefined and '' mean "not given". */
export function optionalInteger(source: string, value: string | number | undefined, range: IntegerRange): number | undefined {
  if (value === undefined || value === '') return undefined;
  return parseInteger(source, value, range);
}
