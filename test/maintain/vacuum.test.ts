import { describe, expect, it } from 'vitest';
import type postgres from 'postgres';
import { createTestDatabase, pool } from '../helpers/database.js';
import { createTenant } from '../domain/helpers.js';
import { readRuns } from '../../src/runs/ledger.js';
import { runMaintain } from '../../src/maintain/runner.js';
import { planVacuum, type TableStats } from '../../src/maintain/tasks/vacuum.js';
import { runCli, scratchDir } from '../helpers/cli.js';

// The vacuum task on real dead tuples in booking.customers, driven through the runner
// as `bookingdb maintain --only vacuum` drives it.
const db = await createTestDatabase();
const maint = pool(db.url, 5);
const tenantId = (await createTenant(db.sql, { customers: 0 })).tenantId;
// so the server's autovacuum does not vacuum it behind the tests' back
await db.sql`alter table booking.customers set (autovacuum_enabled = false)`;
await db.sql`insert into booking.customers (tenant_id, email, full_name)
  select ${tenantId}, 'v' || g || '@vacuum.example', 'Customer ' || g from generate_series(1, 5000) g`;

interface Stat { dead: number; vacuums: number; lastVacuum: Date | null }

async function customerStats(sql: postgres.Sql = db.sql): Promise<Stat> {
  const [r] = await sql`select n_dead_tup::int as dead, (vacuum_count + autovacuum_count)::int as vacuums, last_vacuum
    from pg_stat_user_tables where relid = 'booking.customers'::regclass`;
  return { dead: r.dead, vacuums: r.vacuums, lastVacuum: r.last_vacuum };
}

/** Rewrites every customer row (5,000 dead tuples) and waits until the statistics show them. */
async function makeDeadTuples(): Promise<void> {
  const before = (await customerStats()).dead;
  const conn = await db.sql.reserve();
  try {
    await conn`update booking.customers set phone = '+49 30 ' || (random() * 1e6)::int where tenant_id = ${tenantId}`;
    await conn`select pg_stat_force_next_flush()`;
    await conn`select 1`; // the flush happens when this backend goes idle
  } finally {
    conn.release();
  }
  for (let i = 0; (await customerStats()).dead < before + 5000; i++) {
    if (i > 100) throw new Error('the dead tuples never showed in pg_stat_user_tables');
    await new Promise((r) => setTimeout(r, 50));
  }
}

const every = { deadRatio: 0, minDeadTuples: 0, analyzeRatio: 0, freezeAge: 2_000_000_000 };

describe('planVacuum (thresholds, order)', () => {
  const row = (name: string, o: Partial<TableStats>): TableStats => ({ schema: 'booking', name, live: 10_000, dead: 0, modified: 0, xidAge: 1000, ...o });
  const t = { deadRatio: 0.1, minDeadTuples: 1000, analyzeRatio: 0.1, freezeAge: 100_000_000, tableTimeoutMs: 60_000, costDelayMs: 2, costLimit: 200 };

  it('picks tables past the dead ratio, the changes since analyze or the xid age; freezing first, oldest first', () => {
    const plan = planVacuum([
      row('quiet', { dead: 500, modified: 500 }),
      row('dead_but_few', { live: 10, dead: 900 }), // 99 % dead but under minDeadTuples
      row('dead', { dead: 2000 }),
      row('deader', { dead: 5000 }),
      row('changed', { modified: 1500 }),
      row('old', { xidAge: 150_000_000 }),
      row('older', { xidAge: 190_000_000, dead: 3000 }),
    ], t);
    expect(plan.map((e) => [e.name, e.action])).toEqual([
      ['older', 'VACUUM (FREEZE, ANALYZE)'], ['old', 'VACUUM (FREEZE)'],
      ['deader', 'VACUUM (ANALYZE)'], ['dead', 'VACUUM (ANALYZE)'], ['changed', 'VACUUM (ANALYZE)'],
    ]);
    expect(plan.find((e) => e.name === 'dead')!.reasons[0]).toMatch(/^2000 dead tuples \(16\.7 % of live \+ dead, threshold 10\.0 %\)$/);
    expect(plan.find((e) => e.name === 'changed')!.reasons[0]).toMatch(/^1500 changes since the last analyze/);
    expect(plan.find((e) => e.name === 'old')!.reasons).toEqual(['relfrozenxid age 150000000 (threshold 100000000)']);
  });
});

describe('maintain: vacuum', () => {
  it('a dry run lists booking.customers and why, and changes nothing; the run vacuums it and its dead tuples drop', async () => {
    await makeDeadTuples();
    const before = await customerStats();
    expect(before.dead).toBeGreaterThanOrEqual(5000);
    const options = { only: ['vacuum'], taskOptions: { vacuum: { deadRatio: 0.2, minDeadTuples: 1000, analyzeRatio: 10, freezeAge: 2_000_000_000 } } };

    const dry = await runMaintain(maint, { ...options, dryRun: true });
    expect(dry.tasks[0]).toMatchObject({ name: 'vacuum', status: 'ok', runId: null });
    expect(dry.tasks[0].detail.wouldVacuum).toContain('booking.customers');
    const planned = (dry.tasks[0].detail.plan as { table: string; action: string; reasons: string[] }[]).find((p) => p.table === 'booking.customers');
    expect(planned).toMatchObject({ action: 'VACUUM (ANALYZE)' });
    expect(planned!.reasons[0]).toMatch(/^\d+ dead tuples \(\d+\.\d % of live \+ dead, threshold 20\.0 %\)$/);
    await db.sql`select pg_stat_clear_snapshot()`;
    expect(await customerStats()).toEqual(before);

    const report = await runMaintain(maint, options);
    expect(report.tasks[0]).toMatchObject({ name: 'vacuum', status: 'ok' });
    const detail = report.tasks[0].detail as { vacuumed: string[]; tables: { table: string; status: string; deadBefore: number; deadAfter: number }[] };
    expect(detail.vacuumed).toContain('booking.customers');
    const row = detail.tables.find((x) => x.table === 'booking.customers')!;
    expect(row.status).toBe('vacuumed');
    expect(row.deadBefore).toBeGreaterThanOrEqual(5000);
    expect(row.deadAfter).toBeLessThan(100);
    const after = await customerStats();
    expect(after.dead).toBeLessThan(100);
    expect(after.vacuums).toBe(before.vacuums + 1);
    expect(after.lastVacuum).not.toBeNull();
    const [run] = await readRuns(db.sql, { command: 'maintain', task: 'vacuum', limit: 1 });
    expect(run).toMatchObject({ id: report.tasks[0].runId, state: 'ok' });
    expect(run.detail.vacuumed).toContain('booking.customers');
  });

  it('each VACUUM is throttled like autovacuum by default (vacuum_cost_delay 2 ms), not run unthrottled as a manual VACUUM is', async () => {
    await makeDeadTuples();
    // no view shows another backend's settings, so the proof is the throttle's effect: with
    // the default delay and a cost limit of 1, VACUUM sleeps 2 ms after every page it touches,
    // so it takes at least pages x 2 ms (unthrottled, as a manual VACUUM is, a fraction of it)
    const [{ pages }] = await db.sql`select relpages::int as pages from pg_class where oid = 'booking.customers'::regclass`;
    expect(pages).toBeGreaterThan(20);
    const report = await runMaintain(maint, { only: ['vacuum'], taskOptions: { vacuum: { ...every, costLimit: 1 } } });
    const row = (report.tasks[0].detail.tables as { table: string; status: string; durationMs: number }[]).find((x) => x.table === 'booking.customers')!;
    expect(report.tasks[0].detail).toMatchObject({ costDelayMs: 2, costLimit: 1 });
    expect(row.status).toBe('vacuumed');
    expect(row.durationMs).toBeGreaterThanOrEqual(pages * 2);
  });

  it('after a statistics reset (n_live_tup counts only the inserts since) a table is judged by pg_class.reltuples, not read as nearly all dead', async () => {
    const options = { only: ['vacuum'], dryRun: true, taskOptions: { vacuum: { deadRatio: 0.2, minDeadTuples: 100, analyzeRatio: 100, freezeAge: 2_000_000_000 } } };
    await db.sql`select pg_stat_reset_single_table_counters('booking.customers'::regclass)`;
    const conn = await db.sql.reserve();
    try {
      // 50 new rows (all n_live_tup knows of now), then 600 of the 5,050 rewritten: 11 %
      // dead, under the 20 % threshold; against n_live_tup it would read 92 %
      await conn`insert into booking.customers (tenant_id, email, full_name)
        select ${tenantId}, 'r' || g || '@reset.example', 'Reset ' || g from generate_series(1, 50) g`;
      await conn`update booking.customers set phone = '+49 40 ' || (random() * 1e6)::int
        where tenant_id = ${tenantId} and id in (select id from booking.customers where tenant_id = ${tenantId} limit 600)`;
      await conn`select pg_stat_force_next_flush()`;
      await conn`select 1`;
    } finally {
      conn.release();
    }
    for (let i = 0; (await customerStats()).dead < 600; i++) {
      if (i > 100) throw new Error('the dead tuples never showed in pg_stat_user_tables');
      await new Promise((r) => setTimeout(r, 50));
    }
    const [stat] = await db.sql`select n_live_tup::int as live from pg_stat_user_tables where relid = 'booking.customers'::regclass`;
    expect(stat.live).toBe(50); // what the reset leaves: 600 dead of "50 live" would read as 92 % dead
    const dry = await runMaintain(maint, options);
    expect(dry.tasks[0].detail.wouldVacuum).not.toContain('booking.customers');
    // the same table past the threshold is still found
    const stricter = await runMaintain(maint, { ...options, taskOptions: { vacuum: { ...options.taskOptions.vacuum, deadRatio: 0.1 } } });
    expect(stricter.tasks[0].detail.wouldVacuum).toContain('booking.customers');
  });

  it('the --max-duration deadline cancels a VACUUM still running and starts no table after it', async () => {
    await makeDeadTuples();
    // a throttled VACUUM (as on a big table with cost-based delay): one page per 50 ms,
    // through the task's own cost settings, which each VACUUM's session runs under
    const slow = pool(db.url, 5);
    try {
      const started = Date.now();
      const deadline = started + 1500;
      const report = await runMaintain(slow, { only: ['vacuum'], deadline, taskOptions: { vacuum: { ...every, costDelayMs: 50, costLimit: 1 } } });
      const returned = Date.now();
      const tables = report.tasks[0].detail.tables as { table: string; status: string; reason?: string }[];
      expect(tables[0]).toMatchObject({ table: 'booking.customers', status: 'cut short', reason: 'cancelled at the --max-duration deadline' });
      expect(tables.length).toBeGreaterThan(1);
      expect(tables.slice(1).every((x) => x.status === 'not started')).toBe(true);
      // nothing was vacuumed, so the task says why it did nothing
      expect(report.tasks[0]).toMatchObject({ status: 'skipped' });
      expect(report.tasks[0].reason).toMatch(/booking\.customers cut short: cancelled at the --max-duration deadline/);
      expect(report.tasks[0].detail).toMatchObject({ costDelayMs: 50, costLimit: 1 });
      // bounded by the budget, not by the table (5,000 rewritten rows at 50 ms a page take many seconds)
      expect(returned).toBeLessThan(deadline + 1000);
      // the settings were the VACUUM session's only: every pooled connection is back at the server's
      const conns = await Promise.all(Array.from({ length: 5 }, () => slow.reserve()));
      try {
        const seen = await Promise.all(conns.map((c) => c`select current_setting('vacuum_cost_delay') as d, current_setting('vacuum_cost_limit') as l`));
        expect(seen.map(([r]) => [r.d, r.l])).toEqual(Array.from({ length: 5 }, () => ['0', '200']));
      } finally {
        conns.forEach((c) => c.release());
      }
    } finally {
      await slow.end();
    }
  });

  it('freezes the tables past the xid age, oldest first; a table whose lock it cannot get is left and the task is skipped naming the blocker', async () => {
    await db.sql`select txid_current()`; // one more xid, so no table's age is 0
    const blocker = await db.sql.reserve();
    try {
      const [{ pid }] = await blocker`select pg_backend_pid() as pid`;
      await blocker.unsafe('begin');
      await blocker.unsafe('lock table booking.customers in share update exclusive mode');
      const freezeOnly = { deadRatio: 1, minDeadTuples: 1e9, analyzeRatio: 100, freezeAge: 1 };
      const report = await runMaintain(maint, { only: ['vacuum'], lockTimeoutMs: 300, lockAttempts: 2, taskOptions: { vacuum: freezeOnly } });
      const task = report.tasks[0];
      expect(task).toMatchObject({ name: 'vacuum', status: 'skipped' });
      expect(report.exitCode).toBe(0);
      expect(task.reason).toContain('booking.customers: no lock within 300 ms in 2 attempts');
      expect(task.reason).toContain(`pid ${pid}`);
      expect(task.reason).toMatch(/lock table booking\.customers in share update exclusive mode/);
      const tables = task.detail.tables as { table: string; status: string; action: string; xidAgeBefore: number; xidAgeAfter: number }[];
      expect(tables.length).toBeGreaterThan(10);
      expect(tables.every((x) => x.action === 'VACUUM (FREEZE)')).toBe(true);
      expect(tables.filter((x) => x.status !== 'frozen').map((x) => [x.table, x.status])).toEqual([['booking.customers', 'blocked']]);
      const ages = tables.map((x) => x.xidAgeBefore);
      expect(ages).toEqual([...ages].sort((p, q) => q - p)); // oldest first
      const runs = tables.find((x) => x.table === 'ops.runs')!;
      expect(runs.xidAgeAfter).toBeLessThan(runs.xidAgeBefore);
      expect(task.detail.frozen).not.toContain('booking.customers');
      expect((task.detail.blockers as { pid: number }[]).map((b) => b.pid)).toContain(Number(pid));
      const [run] = await readRuns(db.sql, { command: 'maintain', task: 'vacuum', limit: 1 });
      expect(run).toMatchObject({ id: task.runId, state: 'skipped' });
    } finally {
      await blocker.unsafe('rollback').catch(() => undefined);
      blocker.release();
    }
  });
});

describe('bookingdb maintain --max-duration (CLI)', () => {
  const cwd = scratchDir();
  it('a malformed budget is exit 2 before connecting; a valid one runs', async () => {
    const bad = await runCli(['maintain', '--only', 'vacuum', '--max-duration', '30 minutes', '--database-url', 'postgres://nobody@127.0.0.1:1/none'], { cwd });
    expect(bad.code, bad.stderr).toBe(2);
    expect(bad.stderr).toContain('--max-duration must be a duration like 90s, 30m or 2h (at most 7 days), got "30 minutes"');
    const ok = await runCli(['maintain', '--only', 'vacuum', '--max-duration', '5m', '--dry-run', '--json', '--database-url', db.url], { cwd });
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout).tasks[0]).toMatchObject({ name: 'vacuum', status: 'ok', detail: { dryRun: true, deadRatio: 0.1, minDeadTuples: 1000 } });
  });
});
