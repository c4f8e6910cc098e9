import postgres from 'postgres';
import { afterAll } from 'vitest';
import { defaultMetricsConfig } from '../../src/metrics/config.js';
import type { CollectOptions } from '../../src/metrics/collect.js';

/** The collect options the CLI uses by default. */
export function collectOptions(overrides: Partial<CollectOptions> = {}): CollectOptions {
  const c = defaultMetricsConfig();
  return {
    windowMinutes: c.windowMinutes, transactionLagSeconds: c.transactionLagSeconds, topRelations: c.topRelations,
    statementTimeoutMs: c.statementTimeoutMs, lockTimeoutMs: c.lockTimeoutMs, ...overrides,
  };
}

/** A pool for a login URL, closed after the file. */
export function loginPool(url: string, max = 2): postgres.Sql {
  const sql = postgres(url, { max, onnotice: () => undefined, connection: { search_path: 'pg_catalog, pg_temp' } });
  afterAll(async () => { await sql.end({ timeout: 5 }); });
  return sql;
}

/**
 * A fixed-offset zone (Etc/GMT±k) whose local time now is between 05:00 and 07:00, so
 * a tenant there has most of today still ahead: bookings "today" can be made in the
 * future whatever time the suite runs. Returns the zone and its UTC offset text.
 */
export function morningZone(now = new Date()): { tz: string; offset: string; localDate: string } {
  let k = now.getUTCHours() - 6; // local = UTC - k for Etc/GMT+k
  if (k > 12) k -= 24;
  if (k < -14) k += 24;
  const tz = k >= 0 ? `Etc/GMT+${k}` : `Etc/GMT-${-k}`;
  const offsetHours = -k;
  const sign = offsetHours >= 0 ? '+' : '-';
  const offset = `${sign}${String(Math.abs(offsetHours)).padStart(2, '0')}:00`;
  const local = new Date(now.getTime() + offsetHours * 3_600_000);
  return { tz, offset, localDate: local.toISOString().slice(0, 10) };
}
