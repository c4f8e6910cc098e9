import type { Sql } from 'postgres';
import { BookingDbError, isPgError } from '../../errors.js';
import { MAINTAIN_DEFAULTS } from '../defaults.js';
import { withLockTimeout } from '../locks.js';
import type { MaintainTask, MaintainTaskContext } from '../task.js';
import { redactLiterals } from '../../db/redact-literals.js';

/**
 * `maintain` task `refresh`: REFRESH MATERIALIZED VIEW CONCURRENTLY of the reporting
 * views (sql/schema/63-reporting), through ops.refresh_reporting_view(), which runs as
 * the views' owner bookingdb_ops (REFRESH needs the owner, and only a BYPASSRLS owner
 * sees every tenant). Readers keep reading the old rows meanwhile.
 *
 * Each view is the stage table its rows are computed into, one tenant at a time
 * (ops.reporting_stage_tenant: one short transaction per tenant, under lock_timeout and
 * a statement_timeout). After each tenant the task pauses pauseRatio times as long as
 * that tenant took (default 2), as VACUUM's cost delay does: computing a view over the
 * whole window in one statement kept one of two cores busy for seconds under booking
 * traffic, and a single statement cannot be paced. Then the view is refreshed from the
 * stage, CONCURRENTLY, in its own transaction under lock_timeout; a view whose lock
 * cannot be had within lockAttempts attempts is left as it is, the others are still
 * refreshed, and the task is then `skipped` naming the blocking pid and query. A tenant
 * whose staging cannot get its lock keeps its previous rows and is named. Each view
 * reads a bounded window (local days today - 90 .. today + 30), never the whole history.
 * At the --max-duration deadline no further tenant is staged; the view is still
 * refreshed from what is staged (each tenant's rows are whole, from one moment).
 */
export const REPORTING_VIEWS = ['daily_bookings', 'daily_utilisation'] as const;

/** The local days each view covers, relative to the day of the refresh. */
export const REPORTING_WINDOW = { daysBack: 90, daysAhead: 30 } as const;

export interface ViewBlocker {
  pid: number;
  state: string;
  mode: string;
  relation: string;
  query: string;
}

export interface ViewRefresh {
  view: string;
  /** Tenants whose rows were staged now, of how many; a tenant not staged keeps its previous rows. */
  stagedTenants?: number;
  tenants?: number;
  /** Time spent staging, and pausing between tenants (pauseRatio). */
  stageMs?: number;
  pausedMs?: number;
  /** Tenants whose staging could not get its lock, with the blocker. */
  unstaged?: { tenant: string; reason: string }[];
  status: 'refreshed' | 'blocked' | 'not-started' | 'would-refresh' | 'would-populate';
  rows?: number;
  /** Dry run: the planner's estimate of the rows the view holds now (pg_class.reltuples; 0 before its first ANALYZE). */
  rowsEstimate?: number;
  durationMs?: number;
  concurrently?: boolean;
  attempts?: number;
  blockers?: ViewBlocker[];
}

/**
 * Sessions holding a lock that a refresh of the view waits for: any lock on the view
 * but ACCESS SHARE (a reader), or ACCESS EXCLUSIVE on a relation the view reads.
 */
async function findBlockers(sql: Sql, view: string): Promise<ViewBlocker[]> {
  const rows = await sql`
    with rel as (
      select ${`reporting.${view}`}::regclass::oid as oid, 'view' as what
      union
      select d.refobjid, 'source'
        from pg_catalog.pg_rewrite rw
        join pg_catalog.pg_depend d on d.classid = 'pg_catalog.pg_rewrite'::regclass and d.objid = rw.oid
                                   and d.refclassid = 'pg_catalog.pg_class'::regclass
       where rw.ev_class = ${`reporting.${view}`}::regclass and d.refobjid <> rw.ev_class)
    select distinct l.pid, coalesce(a.state, '') as state, l.mode, l.relation::regclass::text as relation,
           left(coalesce(a.query, ''), 300) as query
      from pg_catalog.pg_locks l
      join rel on rel.oid = l.relation
      left join pg_catalog.pg_stat_activity a on a.pid = l.pid
     where l.granted and l.pid <> pg_catalog.pg_backend_pid()
       and l.database = (select oid from pg_catalog.pg_database where datname = pg_catalog.current_database())
       and ((rel.what = 'view' and l.mode <> 'AccessShareLock') or l.mode = 'AccessExclusiveLock')
     order by l.pid`;
  return rows.map((r) => ({ pid: Number(r.pid), state: String(r.state), mode: String(r.mode), relation: String(r.relation), query: redactLiterals(String(r.query)).text }));
}

function describe(blockers: ViewBlocker[]): string {
  if (blockers.length === 0) return 'a session that had let go by the time it was looked up';
  return blockers.map((b) => `pid ${b.pid} (${b.state || 'unknown state'}, ${b.mode} on ${b.relation}): ${b.query.replace(/\s+/g, ' ').trim()}`).join('; ');
}

export interface RefreshSettings {
  pauseRatio: number;
  tenantTimeoutMs: number;
}

function settings(ctx: MaintainTaskContext): RefreshSettings {
  return { ...MAINTAIN_DEFAULTS.refresh, ...(ctx.options as Partial<RefreshSettings>) };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface StageResult {
  stagedTenants: number;
  tenants: number;
  stageMs: number;
  pausedMs: number;
  unstaged: { tenant: string; reason: string }[];
}

/**
 * Stages every tenant's rows of one view, one transaction per tenant, pausing after each
 * for pauseRatio times its duration (never past the deadline). Stops at the deadline.
 */
async function stageView(ctx: MaintainTaskContext, view: string, tenants: string[], s: RefreshSettings): Promise<StageResult> {
  const result: StageResult = { stagedTenants: 0, tenants: tenants.length, stageMs: 0, pausedMs: 0, unstaged: [] };
  for (const [i, tenant] of tenants.entries()) {
    if (ctx.deadline !== undefined && Date.now() >= ctx.deadline) break;
    ctx.progress(`reporting.${view}: staging tenant ${i + 1} of ${tenants.length}`);
    const started = Date.now();
    try {
      await withLockTimeout(ctx, `reporting.${view} stage of tenant ${tenant}`, async (tx) => {
        await tx`select pg_catalog.set_config('statement_timeout', ${`${Math.trunc(s.tenantTimeoutMs)}ms`}, true)`;
        await tx`select ops.reporting_stage_tenant(${view}, ${tenant}::uuid)`;
      });
      result.stagedTenants++;
    } catch (error) {
      if (!(error instanceof BookingDbError && error.code === 'skipped')) {
        if (isPgError(error)) {
          throw new BookingDbError('refresh_failed', `reporting.${view}, staging tenant ${tenant}: ${error.message} (${error.code})`, {
            hint: error.hint ?? 'fix the cause and run `bookingdb maintain --only refresh` again; the view keeps its previous rows', cause: error,
          });
        }
        throw error;
      }
      result.unstaged.push({ tenant, reason: error.message });
    }
    const took = Date.now() - started;
    result.stageMs += took;
    if (i < tenants.length - 1 && s.pauseRatio > 0) {
      const left = ctx.deadline === undefined ? Infinity : ctx.deadline - Date.now();
      const wanted = Math.round(took * s.pauseRatio);
      const pause = Math.max(0, Math.min(wanted, left));
      if (pause > 0) {
        await sleep(pause);
        result.pausedMs += pause;
      }
      // a pause cut short by the deadline ends the staging: a timer may fire a millisecond
      // before Date.now() reaches the deadline, and that must not start another tenant
      if (wanted >= left) break;
    }
  }
  return result;
}

/** One view: up to lockAttempts refreshes from its stage, each in its own transaction under lock_timeout. */
async function refreshView(ctx: MaintainTaskContext, view: string): Promise<ViewRefresh> {
  const started = Date.now();
  const timeout = `${Math.max(1, Math.trunc(ctx.lockTimeoutMs))}ms`;
  for (let attempt = 1; ; attempt++) {
    try {
      const [row] = await ctx.sql.begin(async (tx) => {
        await tx`select pg_catalog.set_config('lock_timeout', ${timeout}, true)`;
        return tx`select view_name, was_concurrent, row_count from ops.refresh_reporting_view(${view}, false)`;
      });
      return { view: `reporting.${view}`, status: 'refreshed', rows: Number(row.row_count), concurrently: Boolean(row.was_concurrent), durationMs: Date.now() - started, attempts: attempt };
    } catch (error) {
      if (isPgError(error) && error.code !== '55P03') {
        throw new BookingDbError('refresh_failed', `reporting.${view}: ${error.message} (${error.code})`, {
          hint: error.hint ?? 'fix the cause and run `bookingdb maintain --only refresh` again; the view keeps its previous rows', cause: error,
        });
      }
      if (!isPgError(error)) throw error;
      const blockers = await findBlockers(ctx.sql, view);
      if (attempt >= Math.max(1, ctx.lockAttempts)) {
        return { view: `reporting.${view}`, status: 'blocked', attempts: attempt, durationMs: Date.now() - started, blockers };
      }
      ctx.progress(`reporting.${view}: lock timeout (attempt ${attempt}), blocked by ${describe(blockers)}; retrying`);
      await new Promise((r) => setTimeout(r, Math.min(250 * attempt, 1000)));
    }
  }
}

/** What a refresh would do: read from the catalog only. */
async function planViews(sql: Sql): Promise<ViewRefresh[]> {
  const rows = await sql`
    select c.relname, c.relispopulated, greatest(c.reltuples, 0)::float8 as estimate
      from pg_catalog.pg_class c
     where c.relnamespace = 'reporting'::regnamespace and c.relkind = 'm' and c.relname = any(${[...REPORTING_VIEWS]})`;
  const found = new Map(rows.map((r) => [String(r.relname), r]));
  return REPORTING_VIEWS.map((view) => {
    const r = found.get(view);
    if (!r) throw missingView(view);
    return { view: `reporting.${view}`, status: r.relispopulated ? 'would-refresh' : 'would-populate', concurrently: Boolean(r.relispopulated), rowsEstimate: Math.round(Number(r.estimate)) };
  });
}

function missingView(view: string): BookingDbError {
  return new BookingDbError('reporting_missing', `reporting.${view} does not exist`, { hint: 'run `bookingdb deploy` to create the reporting views' });
}

async function runRefresh(ctx: MaintainTaskContext): Promise<Record<string, unknown>> {
  const s = settings(ctx);
  const planned = await planViews(ctx.sql);
  const tenants = (await ctx.sql`select t.id from ops.reporting_tenants() as t(id)`).map((r) => String(r.id));
  if (ctx.dryRun) return { dryRun: true, window: REPORTING_WINDOW, tenants: tenants.length, pauseRatio: s.pauseRatio, views: planned };
  const views: ViewRefresh[] = [];
  for (const view of REPORTING_VIEWS) {
    if (ctx.deadline !== undefined && Date.now() >= ctx.deadline) {
      views.push({ view: `reporting.${view}`, status: 'not-started' });
      continue;
    }
    const staged = await stageView(ctx, view, tenants, s);
    ctx.progress(`refreshing reporting.${view} from its stage`);
    const refresh = await refreshView(ctx, view);
    views.push({ ...refresh, ...staged, unstaged: staged.unstaged.length ? staged.unstaged : undefined });
  }
  const refreshed = views.filter((v) => v.status === 'refreshed').length;
  const blocked = views.filter((v) => v.status === 'blocked');
  const unstaged = views.flatMap((v) => (v.unstaged ?? []).map((u) => `${v.view} of tenant ${u.tenant}: ${u.reason}`));
  const detail = { window: REPORTING_WINDOW, pauseRatio: s.pauseRatio, refreshed, views };
  if (blocked.length) {
    throw new BookingDbError('skipped', `${blocked.map((b) => `${b.view} could not take its lock within ${ctx.lockTimeoutMs} ms (${b.attempts} attempts), blocked by ${describe(b.blockers ?? [])}`).join('; ')}`, { details: detail });
  }
  if (refreshed === 0) {
    throw new BookingDbError('skipped', 'the --max-duration budget was spent before any reporting view was refreshed', { details: detail });
  }
  if (unstaged.length) {
    throw new BookingDbError('skipped', `refreshed, but these tenants kept their previous rows: ${unstaged.join('; ')}`, { details: detail });
  }
  return detail;
}

export const refreshTask: MaintainTask = {
  name: 'refresh',
  description: 'REFRESH MATERIALIZED VIEW CONCURRENTLY of the reporting views (per tenant and local day, 90 days back to 30 ahead), computed one tenant at a time with pauses',
  defaultEnabled: true,
  run: runRefresh,
};
