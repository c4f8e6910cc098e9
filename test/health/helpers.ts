import postgres from 'postgres';
import { afterAll, expect } from 'vitest';
import { runHealthCheck, type CheckResult } from '../../src/health/runner.js';
import type { HealthThreshold } from '../../src/health/config.js';
import { createLogin } from '../domain/helpers.js';
import type { TestDatabase } from '../helpers/database.js';

/**
 * Health tests run the checks with the real runner as a LOGIN member of
 * bookingdb_monitor (the documented way monitoring runs them), one check at a time.
 */
export type Sql = postgres.Sql;

export async function monitorPool(db: TestDatabase): Promise<Sql> {
  const login = await createLogin(db, 'monitor');
  const sql = postgres(login.url, { max: 2, onnotice: () => undefined, connection: { search_path: 'pg_catalog, pg_temp' } });
  afterAll(async () => { await sql.end({ timeout: 5 }); });
  return sql;
}

/** A second superuser connection pool (for sessions that hold locks or transactions). */
export function extraPool(db: TestDatabase, max = 2): Sql {
  const sql = postgres(db.url, { max, onnotice: () => undefined, idle_timeout: 5 });
  afterAll(async () => { await sql.end({ timeout: 5 }); });
  return sql;
}

export async function check(sql: Sql, name: string, limits?: HealthThreshold, options: { statementTimeoutMs?: number; lockTimeoutMs?: number } = {}): Promise<CheckResult> {
  const report = await runHealthCheck(sql, { only: [name], thresholds: limits ? { [name]: limits } : undefined, ...options });
  expect(report.checks).toHaveLength(1);
  return report.checks[0];
}

/** Polls until fn returns true (fails after timeoutMs): for statistics that flush asynchronously. */
export async function until(fn: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
