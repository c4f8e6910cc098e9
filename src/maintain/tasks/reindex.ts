import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../paths.js';
import { BookingDbError, isPgError } from '../../errors.js';
import { quoteIdent } from '../../db/ident.js';
import { MAINTAIN_DEFAULTS } from '../defaults.js';
import type { MaintainTask, MaintainTaskContext } from '../task.js';
import { budgetLeft, MIN_START_MS, runOutsideTransaction } from './outside-transaction.js';

export interface ReindexSettings {
  bloatRatio: number;
  minSizeMb: number;
  exclusionBloatRatio: number;
  indexTimeoutMs: number;
  /** --allow-blocking: rebuild exclusion-constraint indexes with a blocking REINDEX. */
  allowBlocking: boolean;
}

/** One row of sql/queries/maintain/reindex-plan.sql. */
export interface IndexStats {
  schema: string;
  name: string;
  table: string;
  method: string;
  valid: boolean;
  bytes: number;
  pages: number;
  exclusion: boolean;
  building: boolean;
  expectedPages: number | null;
}

export type ReindexAction = 'drop' | 'reindex' | 'reindex-blocking' | 'report';

export interface ReindexPlanEntry {
  index: string;
  schema: string;
  name: string;
  table: string;
  action: ReindexAction;
  reason: string;
  bytes: number;
  /** relpages / expected pages, when it can be estimated. */
  estimatedBloat: number | null;
}

/** The names PostgreSQL gives the new and old copies of a REINDEX CONCURRENTLY (with a digit on a clash). */
export const LEFTOVER_NAME = /_cc(new|old)\d*$/;

const MIB = 1024 * 1024;

const qualified = (e: { schema: string; name: string }) => `${quoteIdent(e.schema)}.${quoteIdent(e.name)}`;

function settings(ctx: MaintainTaskContext): ReindexSettings {
  return { ...MAINTAIN_DEFAULTS.reindex, allowBlocking: false, ...(ctx.options as Partial<ReindexSettings>) };
}

function bloatOf(ix: IndexStats): number | null {
  return ix.expectedPages && ix.expectedPages > 0 ? Math.round((ix.pages / ix.expectedPages) * 100) / 100 : null;
}

/**
 * What to do with each index (pure; unit-tested). Invalid ones of any size: a leftover
 * `_ccnew`/`_ccold` of a failed REINDEX CONCURRENTLY is dropped, any other is rebuilt;
 * an index on a table with a build in progress is left (it may be that build's own).
 * Valid btree indexes of minSizeMb or more whose estimated bloat reaches bloatRatio are
 * rebuilt concurrently. Exclusion-constraint indexes cannot be rebuilt concurrently:
 * they are reported, and rebuilt with a blocking REINDEX only under allowBlocking
 * (from exclusionBloatRatio, or when invalid). Other index types of minSizeMb or more
 * are counted as not estimated.
 */
export function planReindex(rows: IndexStats[], s: ReindexSettings): { plan: ReindexPlanEntry[]; notEstimated: number } {
  const plan: ReindexPlanEntry[] = [];
  let notEstimated = 0;
  for (const ix of rows) {
    const e = { index: `${ix.schema}.${ix.name}`, schema: ix.schema, name: ix.name, table: `${ix.schema}.${ix.table}`, bytes: ix.bytes, estimatedBloat: bloatOf(ix) };
    const big = ix.bytes >= s.minSizeMb * MIB;
    if (!ix.valid) {
      if (ix.building) plan.push({ ...e, action: 'report', reason: 'invalid, but an index build is running on its table now: left to it' });
      else if (LEFTOVER_NAME.test(ix.name)) plan.push({ ...e, action: 'drop', reason: 'invalid leftover of a failed REINDEX CONCURRENTLY' });
      else if (!ix.exclusion) plan.push({ ...e, action: 'reindex', reason: 'invalid (a failed or cancelled CREATE INDEX CONCURRENTLY)' });
      else if (s.allowBlocking) plan.push({ ...e, action: 'reindex-blocking', reason: 'invalid exclusion-constraint index (--allow-blocking)' });
      else plan.push({ ...e, action: 'report', reason: 'invalid exclusion-constraint index: rebuild it with --allow-blocking in a maintenance window' });
      continue;
    }
    if (ix.exclusion) {
      const due = big && e.estimatedBloat !== null && e.estimatedBloat >= s.exclusionBloatRatio;
      if (due && s.allowBlocking) plan.push({ ...e, action: 'reindex-blocking', reason: `exclusion-constraint index, estimated bloat ${e.estimatedBloat} >= ${s.exclusionBloatRatio} (--allow-blocking)` });
      else {
        plan.push({
          ...e, action: 'report',
          reason: `exclusion-constraint index (REINDEX CONCURRENTLY cannot rebuild it), estimated bloat ${e.estimatedBloat ?? 'unknown'} (a fresh one reads ~1.8)${due ? ': rebuild it with --allow-blocking in a maintenance window' : ''}`,
        });
      }
      continue;
    }
    if (!big) continue;
    if (ix.method !== 'btree' || e.estimatedBloat === null) {
      notEstimated += 1;
      continue;
    }
    if (e.estimatedBloat >= s.bloatRatio) {
      plan.push({ ...e, action: 'reindex', reason: `estimated bloat ${e.estimatedBloat} >= ${s.bloatRatio} (${Math.round(ix.bytes / MIB)} MiB)` });
    }
  }
  return { plan, notEstimated };
}

async function readIndexes(ctx: MaintainTaskContext): Promise<IndexStats[]> {
  const rows = await ctx.sql.unsafe(readFileSync(join(packageRoot, 'sql', 'queries', 'maintain', 'reindex-plan.sql'), 'utf8'));
  return rows.map((r) => ({
    schema: String(r.schema), name: String(r.name), table: String(r.table_name), method: String(r.method), valid: Boolean(r.valid),
    bytes: Number(r.bytes), pages: Number(r.pages), exclusion: Boolean(r.exclusion), building: Boolean(r.building),
    expectedPages: r.expected_pages === null ? null : Number(r.expected_pages),
  }));
}

interface IndexResult extends ReindexPlanEntry {
  status: 'dropped' | 'reindexed' | 'blocked' | 'cut short' | 'not started' | 'failed';
  durationMs: number;
  bytesAfter?: number;
  outcome?: string;
  blockers?: unknown[];
  leftoverDropped?: string[];
}

const STATEMENT: Record<Exclude<ReindexAction, 'report'>, string> = {
  drop: 'DROP INDEX CONCURRENTLY IF EXISTS', reindex: 'REINDEX INDEX CONCURRENTLY', 'reindex-blocking': 'REINDEX INDEX',
};

/** After a REINDEX CONCURRENTLY that did not finish: drop its invalid copies now, so writes stop maintaining them. */
async function dropLeftovers(ctx: MaintainTaskContext, e: ReindexPlanEntry): Promise<string[]> {
  const rows = await ctx.sql`
    select ic.relname::text as name from pg_catalog.pg_index i join pg_catalog.pg_class ic on ic.oid = i.indexrelid
     where ic.relnamespace = ${quoteIdent(e.schema)}::regnamespace and not i.indisvalid
       and ic.relname like ${`${e.name.replace(/[\\%_]/g, '\\$&')}_cc%`}
       and i.indrelid = (select indrelid from pg_catalog.pg_index where indexrelid = ${qualified(e)}::regclass)`;
  const dropped: string[] = [];
  for (const r of rows.filter((x) => LEFTOVER_NAME.test(String(x.name)))) {
    const out = await runOutsideTransaction({ ...ctx, deadline: undefined }, `drop ${r.name}`, `${STATEMENT.drop} ${quoteIdent(e.schema)}.${quoteIdent(String(r.name))}`, 10_000);
    if (out.status === 'done') dropped.push(`${e.schema}.${r.name}`);
  }
  return dropped;
}

async function applyEntry(ctx: MaintainTaskContext, e: ReindexPlanEntry, s: ReindexSettings): Promise<IndexResult> {
  const action = e.action as Exclude<ReindexAction, 'report'>;
  if (budgetLeft(ctx) < MIN_START_MS) return { ...e, status: 'not started', durationMs: 0, outcome: 'the --max-duration budget was spent' };
  ctx.progress(`${STATEMENT[action]} ${e.index}`);
  const started = Date.now();
  let result: IndexResult;
  try {
    const out = await runOutsideTransaction(ctx, e.index, `${STATEMENT[action]} ${qualified(e)}`, s.indexTimeoutMs);
    if (out.status === 'done') {
      if (action === 'drop') return { ...e, status: 'dropped', durationMs: out.durationMs };
      const [r] = await ctx.sql`select pg_catalog.pg_relation_size(${qualified(e)}::regclass)::float8 as bytes`;
      return { ...e, status: 'reindexed', durationMs: out.durationMs, bytesAfter: Number(r.bytes) };
    }
    result = { ...e, status: out.status, durationMs: out.durationMs, outcome: out.reason, ...(out.status === 'blocked' ? { blockers: out.blockers } : {}) };
  } catch (error) {
    if (!isPgError(error)) throw error;
    result = { ...e, status: 'failed', durationMs: Date.now() - started, outcome: `${error.message} (${error.code})` };
  }
  if (action === 'reindex') result.leftoverDropped = await dropLeftovers(ctx, e);
  return result;
}

/**
 * `reindex`: repairs invalid indexes and rebuilds bloated btree indexes without
 * blocking writes: DROP INDEX CONCURRENTLY of `_ccnew`/`_ccold` leftovers, REINDEX INDEX
 * CONCURRENTLY of other invalid and of bloated ones (bloat estimated from statistics,
 * see planReindex), each one statement outside a transaction block under lock_timeout
 * with retries and the --max-duration budget (./outside-transaction.ts). A rebuild that
 * is cancelled or fails has its invalid copy dropped at once (else the next run does).
 * Exclusion-constraint indexes are reported with their estimated bloat and rebuilt only
 * under --allow-blocking: a plain REINDEX holds writes on the table for its whole run,
 * a maintenance-window operation. An index whose lock cannot be had is left and the
 * task is `skipped` naming the blocker; an index that fails makes the task fail.
 */
async function runReindex(ctx: MaintainTaskContext): Promise<Record<string, unknown>> {
  const s = settings(ctx);
  const { plan, notEstimated } = planReindex(await readIndexes(ctx), s);
  const head = { bloatRatio: s.bloatRatio, minSizeMb: s.minSizeMb, allowBlocking: s.allowBlocking, notEstimated };
  const exclusion = plan.filter((e) => e.action === 'report').map(({ index, estimatedBloat, bytes, reason }) => ({ index, estimatedBloat, bytes, reason }));
  // drops first: they free the writes that maintain the leftover and the name a rebuild may want
  const todo = plan.filter((e) => e.action !== 'report').sort((a, b) => Number(b.action === 'drop') - Number(a.action === 'drop'));
  const names = (a: ReindexAction) => todo.filter((e) => e.action === a).map((e) => e.index);
  if (ctx.dryRun) {
    return {
      dryRun: true, ...head, wouldDrop: names('drop'), wouldReindex: names('reindex'), wouldReindexBlocking: names('reindex-blocking'),
      reported: exclusion, plan: todo.map(({ index, action, reason }) => ({ index, action, reason })),
    };
  }
  const done: IndexResult[] = [];
  for (const e of todo) done.push(await applyEntry(ctx, e, s));
  const by = (st: IndexResult['status'], blocking?: boolean) => done.filter((x) => x.status === st && (blocking === undefined || (x.action === 'reindex-blocking') === blocking)).map((x) => x.index);
  const detail = {
    ...head, dropped: by('dropped'), reindexed: by('reindexed', false), rebuiltBlocking: by('reindexed', true), reported: exclusion,
    skipped: done.filter((x) => x.outcome !== undefined).map((x) => ({ index: x.index, status: x.status, reason: x.outcome })),
    indexes: done,
  };
  const failed = done.filter((x) => x.status === 'failed');
  if (failed.length > 0) {
    throw new BookingDbError('reindex_failed', `reindex: ${failed.map((f) => `${f.index}: ${f.outcome}`).join('; ')}`, { details: detail });
  }
  const blocked = done.filter((x) => x.status === 'blocked');
  if (blocked.length > 0) {
    throw new BookingDbError('skipped', `reindex: ${blocked.map((b) => `${b.index}: ${b.outcome}`).join('; ')}`, {
      details: { ...detail, blockers: blocked.flatMap((b) => b.blockers ?? []) },
    });
  }
  return detail;
}

export const reindexTask: MaintainTask = {
  name: 'reindex',
  description: 'drop _ccnew/_ccold leftovers, REINDEX CONCURRENTLY invalid and bloated btree indexes; exclusion-constraint indexes only with --allow-blocking',
  defaultEnabled: true,
  run: runReindex,
};
