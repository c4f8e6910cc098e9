import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../paths.js';
import { BookingDbError } from '../../errors.js';
import { quoteIdent } from '../../db/ident.js';
import { MAINTAIN_DEFAULTS } from '../defaults.js';
import type { MaintainTask, MaintainTaskContext } from '../task.js';
import { budgetLeft, MIN_START_MS, runOutsideTransaction, type StatementOutcome } from './outside-transaction.js';

export interface VacuumThresholds {
  deadRatio: number;
  minDeadTuples: number;
  analyzeRatio: number;
  freezeAge: number;
  tableTimeoutMs: number;
  /** vacuum_cost_delay (ms) and vacuum_cost_limit of each VACUUM: autovacuum's throttle, not a manual VACUUM's none. */
  costDelayMs: number;
  costLimit: number;
}

/** One row of sql/queries/maintain/vacuum-plan.sql. */
export interface TableStats {
  schema: string;
  name: string;
  live: number;
  dead: number;
  modified: number;
  xidAge: number;
}

export interface VacuumPlanEntry {
  table: string;
  schema: string;
  name: string;
  freeze: boolean;
  /** VACUUM (ANALYZE) or VACUUM (FREEZE[, ANALYZE]). */
  action: string;
  reasons: string[];
  dead: number;
  xidAge: number;
}

function settings(ctx: MaintainTaskContext): VacuumThresholds {
  return { ...MAINTAIN_DEFAULTS.vacuum, ...(ctx.options as Partial<VacuumThresholds>) };
}

const pct = (x: number) => `${(x * 100).toFixed(1)} %`;

/**
 * Which tables to vacuum and why, from their statistics alone (pure; unit-tested):
 *   dead     n_dead_tup >= minDeadTuples and >= deadRatio of live + dead
 *   analyze  changes since the last analyze >= minDeadTuples and >= analyzeRatio of live
 *   freeze   age(relfrozenxid) >= freezeAge
 * A table due for freezing gets VACUUM (FREEZE), with ANALYZE when it is also due for
 * that; the others VACUUM (ANALYZE). Freezing comes first, oldest first (wraparound is
 * the one that cannot wait), then the rest by dead tuples, most first.
 */
export function planVacuum(rows: TableStats[], t: VacuumThresholds): VacuumPlanEntry[] {
  const plan: VacuumPlanEntry[] = [];
  for (const r of rows) {
    const reasons: string[] = [];
    const ratio = r.dead / Math.max(1, r.live + r.dead);
    const dead = r.dead >= t.minDeadTuples && ratio >= t.deadRatio;
    if (dead) reasons.push(`${r.dead} dead tuples (${pct(ratio)} of live + dead, threshold ${pct(t.deadRatio)})`);
    const analyze = r.modified >= t.minDeadTuples && r.modified >= t.analyzeRatio * Math.max(1, r.live);
    if (analyze) reasons.push(`${r.modified} changes since the last analyze (${pct(r.modified / Math.max(1, r.live))} of live, threshold ${pct(t.analyzeRatio)})`);
    const freeze = r.xidAge >= t.freezeAge;
    if (freeze) reasons.push(`relfrozenxid age ${r.xidAge} (threshold ${t.freezeAge})`);
    if (reasons.length === 0) continue;
    const action = freeze ? (dead || analyze ? 'VACUUM (FREEZE, ANALYZE)' : 'VACUUM (FREEZE)') : 'VACUUM (ANALYZE)';
    plan.push({ table: `${r.schema}.${r.name}`, schema: r.schema, name: r.name, freeze, action, reasons, dead: r.dead, xidAge: r.xidAge });
  }
  return plan.sort((a, b) => Number(b.freeze) - Number(a.freeze) || (a.freeze ? b.xidAge - a.xidAge : b.dead - a.dead) || a.table.localeCompare(b.table));
}

async function readStats(ctx: MaintainTaskContext): Promise<TableStats[]> {
  const text = readFileSync(join(packageRoot, 'sql', 'queries', 'maintain', 'vacuum-plan.sql'), 'utf8');
  const rows = await ctx.sql.unsafe(text);
  return rows.map((r) => ({ schema: String(r.schema), name: String(r.name), live: Number(r.live), dead: Number(r.dead), modified: Number(r.modified), xidAge: Number(r.xid_age) }));
}

async function readAfter(ctx: MaintainTaskContext, e: VacuumPlanEntry): Promise<{ deadAfter: number; xidAgeAfter: number }> {
  const [r] = await ctx.sql`
    select s.n_dead_tup::float8 as dead, pg_catalog.age(c.relfrozenxid)::float8 as xid_age
      from pg_catalog.pg_stat_user_tables s join pg_catalog.pg_class c on c.oid = s.relid
     where s.schemaname = ${e.schema} and s.relname = ${e.name}`;
  return r ? { deadAfter: Number(r.dead), xidAgeAfter: Number(r.xid_age) } : { deadAfter: -1, xidAgeAfter: -1 };
}

interface TableResult {
  table: string;
  action: string;
  reasons: string[];
  status: 'vacuumed' | 'frozen' | StatementOutcome['status'];
  deadBefore: number;
  deadAfter?: number;
  xidAgeBefore: number;
  xidAgeAfter?: number;
  durationMs: number;
  reason?: string;
  blockers?: unknown[];
}

async function vacuumTable(ctx: MaintainTaskContext, e: VacuumPlanEntry, t: VacuumThresholds): Promise<TableResult> {
  if (budgetLeft(ctx) >= MIN_START_MS) ctx.progress(`${e.action} ${e.table}`);
  const statement = `${e.action} ${quoteIdent(e.schema)}.${quoteIdent(e.name)}`;
  const out = await runOutsideTransaction(ctx, e.table, statement, t.tableTimeoutMs, vacuumSessionSettings(t));
  const base = { table: e.table, action: e.action, reasons: e.reasons, deadBefore: e.dead, xidAgeBefore: e.xidAge, durationMs: out.durationMs };
  if (out.status !== 'done') {
    return { ...base, status: out.status, reason: out.reason, ...(out.status === 'blocked' ? { blockers: out.blockers } : {}) };
  }
  return { ...base, status: e.freeze ? 'frozen' : 'vacuumed', ...(await readAfter(ctx, e)) };
}

/**
 * The session settings each VACUUM runs under: a manual VACUUM is unthrottled
 * (vacuum_cost_delay 0) and competes with booking traffic for I/O and CPU for as long
 * as it runs; with autovacuum's delay and limit it yields the way autovacuum does.
 */
export function vacuumSessionSettings(t: Pick<VacuumThresholds, 'costDelayMs' | 'costLimit'>): Record<string, string> {
  return { vacuum_cost_delay: `${t.costDelayMs}ms`, vacuum_cost_limit: String(Math.trunc(t.costLimit)) };
}

/**
 * `vacuum`: VACUUM (ANALYZE) of bookingdb's tables (booking, ops and the audit-log
 * partitions) whose dead tuples or changes since the last analyze pass the thresholds,
 * and VACUUM (FREEZE) of those whose relfrozenxid age does, oldest first, decided from
 * pg_stat_user_tables and pg_class alone. Each VACUUM is one statement outside any
 * transaction block (./outside-transaction.ts) under lock_timeout with retries and a
 * statement_timeout of the time left before --max-duration's deadline, so the budget
 * bounds the whole task: a VACUUM still running at the deadline is cancelled (`cut
 * short`; what it did stays done, and the next run finishes the table) and no table
 * starts after it (`not started`). A table whose lock cannot be had is left and the
 * others are still vacuumed; the task is then `skipped` naming the blocker. Each VACUUM
 * is throttled like autovacuum (costDelayMs, costLimit; vacuumSessionSettings).
 */
async function runVacuum(ctx: MaintainTaskContext): Promise<Record<string, unknown>> {
  const t = settings(ctx);
  const stats = await readStats(ctx);
  const plan = planVacuum(stats, t);
  const thresholds = { deadRatio: t.deadRatio, minDeadTuples: t.minDeadTuples, analyzeRatio: t.analyzeRatio, freezeAge: t.freezeAge, costDelayMs: t.costDelayMs, costLimit: t.costLimit };
  if (ctx.dryRun) {
    return {
      dryRun: true, ...thresholds, checked: stats.length, wouldVacuum: plan.map((e) => e.table),
      plan: plan.map((e) => ({ table: e.table, action: e.action, reasons: e.reasons })),
    };
  }
  const tables: TableResult[] = [];
  for (const e of plan) tables.push(await vacuumTable(ctx, e, t));
  const named = (s: TableResult['status']) => tables.filter((x) => x.status === s).map((x) => x.table);
  const detail = {
    ...thresholds, checked: stats.length, vacuumed: named('vacuumed'), frozen: named('frozen'),
    skipped: tables.filter((x) => x.reason !== undefined).map((x) => ({ table: x.table, status: x.status, reason: x.reason })),
    tables,
  };
  const blocked = tables.filter((x) => x.status === 'blocked');
  if (blocked.length > 0) {
    throw new BookingDbError('skipped', `vacuum: ${blocked.map((b) => `${b.table}: ${b.reason}`).join('; ')}`, {
      details: { ...detail, blockers: blocked.flatMap((b) => b.blockers ?? []) },
    });
  }
  if (plan.length > 0 && detail.vacuumed.length + detail.frozen.length === 0) {
    throw new BookingDbError('skipped', `vacuum: no table vacuumed: ${tables[0].table} ${tables[0].status}: ${tables[0].reason}`, { details: detail });
  }
  return detail;
}

export const vacuumTask: MaintainTask = {
  name: 'vacuum',
  description: 'VACUUM (ANALYZE) tables past the dead-tuple or changed-since-analyze thresholds, VACUUM (FREEZE) those past the xid age, within --max-duration',
  defaultEnabled: true,
  run: runVacuum,
};
