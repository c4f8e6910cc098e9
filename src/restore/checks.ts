import type { Sql } from 'postgres';
import type { BackupManifest } from '../backup/manifest.js';
import { runVerification } from '../deploy/verify.js';
import { isPgError } from '../errors.js';
import { AMCHECK_INDEXES, countStatement } from './overlap.js';

/**
 * The checks restore-verify runs on the restored scratch database. Each returns
 * `{ problem?, detail }`: the problem names the table, check or index, so the step's
 * failure says exactly what disagreed.
 */
export interface CheckOutcome {
  problem?: string;
  detail: Record<string, unknown>;
}

/**
 * Exact count(*) of every table the manifest counted (the pool runs them in parallel);
 * `early` holds the counts RestoreOverlap already took during the restore (a table's
 * rows are final once pg_restore has built one of its indexes), which are not taken again.
 */
export async function compareCounts(sql: Sql, m: BackupManifest, early: ReadonlyMap<string, number> = new Map()): Promise<CheckOutcome> {
  const entries = Object.entries(m.tables).sort(([a], [b]) => a.localeCompare(b));
  const counted = await Promise.all(entries.map(async ([table, expected]) => {
    const before = early.get(table);
    if (before !== undefined) return { table, expected, actual: before };
    try {
      const [row] = await sql.unsafe(countStatement(table));
      return { table, expected, actual: Number(row.n) };
    } catch (error) {
      if (isPgError(error) && (error.code === '42P01' || error.code === '3F000')) return { table, expected, actual: null };
      throw error;
    }
  }));
  const wrong = counted.filter((c) => c.actual !== c.expected);
  const rows = counted.reduce((s, c) => s + (c.actual ?? 0), 0);
  const detail = { tables: counted.length, rows, ...(early.size ? { duringRestore: early.size } : {}) };
  if (wrong.length === 0) return { detail };
  const list = wrong.slice(0, 5).map((c) => (c.actual === null
    ? `${c.table} is missing from the restored database (the manifest counts ${c.expected} rows)`
    : `${c.table} has ${c.actual} rows restored, the manifest says ${c.expected}`));
  return { problem: list.join('; ') + (wrong.length > 5 ? `; and ${wrong.length - 5} more tables` : ''), detail: { ...detail, mismatched: wrong.map((c) => c.table) } };
}

/** sql/verify/*, exactly as deploy's post-deploy verification runs them. */
export async function runPostDeployChecks(sql: Sql, rolePrefix: string): Promise<CheckOutcome> {
  const results = await runVerification(sql, rolePrefix);
  const failed = results.filter((r) => r.status === 'failed');
  const detail = { checks: results.length, failed: failed.map((r) => r.check) };
  if (failed.length === 0) return { detail };
  return { problem: failed.map((r) => `${r.check}: ${r.violations.slice(0, 3).join('; ')}`).join('; '), detail };
}

/** The booking checks of ops.health_check(), graded by its own thresholds. */
export const BOOKING_CHECKS = ['overlapping-allocations', 'tenant-rls', 'exclusion-constraint'];

export async function runBookingChecks(sql: Sql): Promise<CheckOutcome> {
  const rows = await sql`
    select h.check_name, h.status, h.value, h.detail
      from ops.health_check() h
     where h.check_name = any(${BOOKING_CHECKS}::text[])
     order by h.check_name`;
  const found = new Set(rows.map((r) => String(r.check_name)));
  const missing = BOOKING_CHECKS.filter((c) => !found.has(c));
  const bad = rows.filter((r) => r.status !== 'ok');
  const detail = Object.fromEntries(rows.map((r) => [r.check_name, r.status]));
  if (missing.length) return { problem: `ops.health_check() has no ${missing.join(', ')} check in the restored database`, detail };
  if (bad.length === 0) return { detail };
  return { problem: bad.map((r) => `${r.check_name} is ${r.status}: ${r.detail ?? r.value}`).join('; '), detail };
}

/** ops.pgmigrations in the restore: the manifest's newest migration and count. */
export async function compareMigrations(sql: Sql, m: BackupManifest): Promise<CheckOutcome> {
  const [row] = await sql`
    select count(*)::int as count,
           (select name from ops.pgmigrations order by run_on desc, id desc limit 1) as latest
      from ops.pgmigrations`;
  const detail = { latest: row.latest ?? null, count: row.count };
  if (row.count === m.migrations.count && (row.latest ?? null) === m.migrations.latest) return { detail };
  return { problem: `ops.pgmigrations has ${row.count} migrations, newest ${row.latest ?? 'none'}; the manifest says ${m.migrations.count}, newest ${m.migrations.latest ?? 'none'}`, detail };
}

/**
 * amcheck on every btree index with heapallindexed (each heap tuple is found in the
 * index): the amcheck extension's bt_index_check(), as pg_amcheck --heapallindexed runs
 * it, on `jobs` connections at once, largest index first. amcheck is installed in the
 * scratch database only (pg_catalog, as pg_amcheck --install-missing does). `early`:
 * the indexes RestoreOverlap already checked during the restore, not checked again.
 */
export async function runAmcheck(sql: Sql, jobs: number, early: ReadonlySet<string> = new Set(), signal?: AbortSignal): Promise<CheckOutcome> {
  await sql`create extension if not exists amcheck with schema pg_catalog`;
  const all = await sql.unsafe(`${AMCHECK_INDEXES} order by c.relpages desc, 1`);
  const todo = all.map((r) => String(r.index)).filter((name) => !early.has(name));
  const detail = { tool: 'bt_index_check', heapallindexed: true, indexes: all.length, ...(early.size ? { duringRestore: all.length - todo.length } : {}) };
  let problem: string | undefined;
  let next = 0;
  const worker = async () => {
    while (!problem && !signal?.aborted && next < todo.length) {
      const name = todo[next++];
      try {
        await sql`select pg_catalog.bt_index_check(${name}::regclass, true)`;
      } catch (error) {
        if (isPgError(error)) { problem ??= `index ${name}: ${error.message}`; return; }
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, todo.length)) }, worker));
  return problem ? { problem, detail } : { detail };
}
