import { usageError } from '../errors.js';

/**
 * PostgreSQL's units, both ways: pg_settings reports a number in the setting's own unit
 * (`16384` of `8kB`, `300` of `s`); doctor compares in bytes and milliseconds and prints
 * values the way postgresql.conf and ALTER SYSTEM accept them (integers with kB, MB, GB,
 * TB; ms, s, min, h, d). Memory units are binary (1MB = 1024kB), as in PostgreSQL.
 */
const BYTES: Record<string, number> = { B: 1, kB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 };
const MS: Record<string, number> = { ms: 1, s: 1000, min: 60_000, h: 3_600_000, d: 86_400_000 };

/** A pg_settings value in bytes or ms; null for unitless settings or unparsable units. */
export function settingInBaseUnit(setting: string, unit: string | null): { kind: 'bytes' | 'ms'; value: number } | null {
  if (!unit) return null;
  const m = /^(\d+)?\s*(B|kB|MB|GB|TB|ms|s|min|h|d)$/.exec(unit);
  if (!m) return null;
  const factor = Number(m[1] ?? 1);
  const n = Number(setting);
  if (!Number.isFinite(n)) return null;
  if (m[2] in BYTES) return { kind: 'bytes', value: n * factor * BYTES[m[2]] };
  return { kind: 'ms', value: n * factor * MS[m[2]] };
}

/** Bytes as PostgreSQL writes them: the largest unit that divides exactly (else MB, rounded down; kB below 1MB). */
export function formatBytes(bytes: number): string {
  if (bytes < 0) return `${bytes}`; // -1 = "auto" settings
  for (const unit of ['TB', 'GB', 'MB']) {
    if (bytes >= BYTES[unit] && bytes % BYTES[unit] === 0) return `${bytes / BYTES[unit]}${unit}`;
  }
  if (bytes >= BYTES.MB) return `${Math.floor(bytes / BYTES.MB)}MB`;
  return `${Math.floor(bytes / BYTES.kB)}kB`;
}

/** Milliseconds as PostgreSQL writes them (the largest unit that divides exactly). */
export function formatMs(ms: number): string {
  if (ms < 0) return `${ms}`;
  for (const unit of ['d', 'h', 'min', 's']) {
    if (ms >= MS[unit] && ms % MS[unit] === 0) return `${ms / MS[unit]}${unit}`;
  }
  return `${ms}ms`;
}

/** Bytes for people: one decimal in the largest unit (23.5GB); not for postgresql.conf. */
export function humanBytes(bytes: number): string {
  for (const unit of ['TB', 'GB', 'MB', 'kB']) {
    if (bytes >= BYTES[unit]) {
      const v = bytes / BYTES[unit];
      return `${Number.isInteger(v) ? v : v.toFixed(1)}${unit}`;
    }
  }
  return `${bytes}B`;
}

/** Rounds bytes down to whole MB (what doctor recommends for memory settings). */
export function wholeMb(bytes: number): number {
  return Math.max(BYTES.MB, Math.floor(bytes / BYTES.MB) * BYTES.MB);
}

/** Parses --memory: `16GB`, `16G`, `16GiB`, `512MB`, `1.5TB` (binary units). Exit 2 otherwise. */
export function parseMemory(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(k|m|g|t)(?:i?b)?\s*$/i.exec(text);
  if (!m) throw usageError(`--memory must be a size such as 16GB or 512MB, got "${text}"`);
  const unit = { k: 'kB', m: 'MB', g: 'GB', t: 'TB' }[m[2].toLowerCase() as 'k' | 'm' | 'g' | 't'];
  const bytes = Math.round(Number(m[1]) * BYTES[unit]);
  if (bytes < 256 * BYTES.MB || bytes > 64 * BYTES.TB) throw usageError(`--memory must be from 256MB to 64TB, got "${text}"`);
  return bytes;
}

export const MB = BYTES.MB;
export const GB = BYTES.GB;
