import type { Sql } from 'postgres';
import type { BackupManifest } from '../backup/manifest.js';
import { findPgTool } from '../backup/pg-tools.js';
import { quoteIdent } from '../db/ident.js';
import type { ConnectionTarget } from '../db/url.js';
import { runVerification } from '../deploy/verify.js';
import { isPgError } from '../errors.js';
import { libpqEnv } from '../db/libpq-env.js';
import { runTool, tail } from './run-tool.js';

/**
 * The checks restore-verify runs on the restored scratch database. Each returns
 * `{ problem?, detail }`: the problem names the table, check or index, so the step's
 * failure says exactly what disagreed.
 */
export interface CheckOutcome {
  problem?: string;
  detail: Record<string, unknown>;
}

function splitTable(key: string): [string, string] {
  const dot = key.indexOf('.');
  return dot < 0 ? ['public', key] : [key.slice(0, dot), key.slice(dot + 1)];
}

/** Exact count(*) of every table the manifest counted (the pool runs them in parallel). */
export async function compareCounts(sql: Sql, m: BackupManifest): Promise<CheckOutcome> {
  const entries = Object.entries(m.tables).sort(([a], [b]) => a.localeCompare(b));
  const counted = await Promise.all(entries.map(async ([table, expected]) => {
    const [schema, name] = splitTable(table);
    try {
      const [row] = await sql.unsafe(`select count(*)::bigint::text as n from ${quoteIdent(schema)}.${quoteIdent(name)}`);
      return { table, expected, actual: Number(row.n) };
    } catch (error) {
      if (isPgError(error) && (error.code === '42P01' || error.code === '3F000')) return { table, expected, actual: null };
      throw error;
    }
  }));
  const wrong = counted.filter((c) => c.actual !== c.expected);
  const rows = counted.reduce((s, c) => s + (c.actual ?? 0), 0);
  const detail = { tables: counted.length, rows };
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
 * index): pg_amcheck with -j when it is installed, else the amcheck extension's
 * bt_index_check() index by index. Both install amcheck in the scratch database only.
 */
export async function runAmcheck(sql: Sql, target: ConnectionTarget, database: string, serverMajor: number, jobs: number, signal?: AbortSignal): Promise<CheckOutcome> {
  let tool;
  try {
    tool = await findPgTool('pg_amcheck', serverMajor);
  } catch {
    tool = undefined;
  }
  if (tool) {
    const args = ['--no-password', '--install-missing', '--heapallindexed', '-j', String(Math.max(1, jobs)),
      '-i', '*.*', '-S', 'pg_catalog', '-S', 'pg_toast', '-S', 'information_schema', '-d', database];
    const r = await runTool(tool.path, args, { env: libpqEnv(target, database), signal });
    if (r.code === 0) return { detail: { tool: tool.path, version: tool.version } };
    const out = tail(`${r.stdout}\n${r.stderr}`, 8);
    return { problem: `pg_amcheck found a problem (exit ${r.code ?? r.signal}): ${out}`, detail: { tool: tool.path, exit: r.code } };
  }
  // as pg_amcheck --install-missing does: into pg_catalog, of the scratch database only
  await sql`create extension if not exists amcheck with schema pg_catalog`;
  const indexes = await sql`
    select c.oid::regclass::text as name
      from pg_catalog.pg_index i
      join pg_catalog.pg_class c on c.oid = i.indexrelid
      join pg_catalog.pg_am a on a.oid = c.relam and a.amname = 'btree'
      join pg_catalog.pg_namespace n on n.oid = c.relnamespace
     where n.nspname not in ('pg_catalog', 'pg_toast', 'information_schema') and i.indisvalid and i.indisready
       and c.relpersistence <> 't'
     order by 1`;
  for (const idx of indexes) {
    if (signal?.aborted) break;
    try {
      await sql`select pg_catalog.bt_index_check(${idx.name}::regclass, true)`;
    } catch (error) {
      if (isPgError(error)) return { problem: `index ${idx.name}: ${error.message}`, detail: { tool: 'bt_index_check', indexes: indexes.length } };
      throw error;
    }
  }
  return { detail: { tool: 'bt_index_check', indexes: indexes.length } };
}
