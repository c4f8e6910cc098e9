import { describe, expect, it } from 'vitest';
import { createTestDatabase, pool } from '../helpers/database.js';
import { appPool, at, bookingApi, createTenant, futureDate, pgError } from '../domain/helpers.js';
import { readRuns } from '../../src/runs/ledger.js';
import { runMaintain } from '../../src/maintain/runner.js';
import { planReindex, type IndexStats } from '../../src/maintain/tasks/reindex.js';
import { runCli, scratchDir } from '../helpers/cli.js';

// The reindex task on real indexes: one left invalid by a cancelled CREATE INDEX
// CONCURRENTLY, a `_ccnew` leftover of a failed REINDEX CONCURRENTLY, and a btree index
// bloated on purpose (90 % of its rows deleted and vacuumed), in a table of the booking
// schema of this file's database.
const db = await createTestDatabase();
const maint = pool(db.url, 5);
const T = 'booking.reindex_probe';
await db.sql.unsafe(`create table ${T} (id int not null, v int not null, w int not null)`);
await db.sql.unsafe(`alter table ${T} set (autovacuum_enabled = false)`);
await db.sql.unsafe(`insert into ${T} select g, g, g % 1000 from generate_series(1, 100000) g`);

async function indexState(name: string): Promise<{ valid: boolean; pages: number; relfilenode: number } | undefined> {
  const [r] = await db.sql`select i.indisvalid as valid, c.relpages::int as pages, c.relfilenode::int as relfilenode
    from pg_index i join pg_class c on c.oid = i.indexrelid where c.oid = to_regclass(${`booking.${name}`})`;
  return r as { valid: boolean; pages: number; relfilenode: number } | undefined;
}

/**
 * CREATE INDEX CONCURRENTLY cancelled by its statement_timeout while it waits for a
 * writer's transaction: the invalid index it created stays behind, as after a
 * cancelled build in production.
 */
async function cancelledConcurrentBuild(name: string, column: string): Promise<void> {
  const writer = await db.sql.reserve();
  const builder = await db.sql.reserve();
  try {
    await writer.unsafe('begin');
    await writer.unsafe(`insert into ${T} values (0, 0, 0)`);
    await builder.unsafe("set statement_timeout = '300ms'");
    const e = await pgError(builder.unsafe(`create index concurrently ${name} on ${T} (${column})`));
    expect(e.code).toBe('57014');
  } finally {
    await writer.unsafe('rollback').catch(() => undefined);
    await builder.unsafe('reset statement_timeout').catch(() => undefined);
    writer.release();
    builder.release();
  }
  expect((await indexState(name))!.valid).toBe(false);
}

describe('planReindex', () => {
  const ix = (name: string, o: Partial<IndexStats>): IndexStats => ({
    schema: 'booking', name, table: 'bookings', method: 'btree', valid: true, bytes: 50 * 2 ** 20, pages: 6400,
    exclusion: false, building: false, expectedPages: 6000, ...o,
  });
  const s = { bloatRatio: 2, minSizeMb: 10, exclusionBloatRatio: 3.6, indexTimeoutMs: 60_000, allowBlocking: false };
  const rows = [
    ix('b_ccnew', { valid: false }), ix('b_ccold2', { valid: false }), ix('broken', { valid: false, bytes: 8192, pages: 1 }),
    ix('being_built', { valid: false, building: true }), ix('bloated', { pages: 15_000 }), ix('small_bloated', { bytes: 2 ** 20, pages: 128, expectedPages: 10 }),
    ix('fine', {}), ix('trgm', { method: 'gin', expectedPages: null }), ix('no_overlap', { method: 'gist', exclusion: true, pages: 30_000 }),
  ];

  it('drops leftovers, rebuilds invalid and bloated btree indexes, reports exclusion indexes, skips small and unestimated ones', () => {
    const { plan, notEstimated } = planReindex(rows, s);
    expect(plan.map((e) => [e.name, e.action])).toEqual([
      ['b_ccnew', 'drop'], ['b_ccold2', 'drop'], ['broken', 'reindex'], ['being_built', 'report'], ['bloated', 'reindex'], ['no_overlap', 'report'],
    ]);
    expect(notEstimated).toBe(1);
    expect(plan.find((e) => e.name === 'bloated')!.reason).toBe('estimated bloat 2.5 >= 2 (50 MiB)');
    expect(plan.find((e) => e.name === 'no_overlap')!.reason).toMatch(/estimated bloat 5 .*rebuild it with --allow-blocking in a maintenance window$/);
  });

  it('rebuilds an exclusion-constraint index only under allowBlocking', () => {
    const { plan } = planReindex(rows, { ...s, allowBlocking: true });
    expect(plan.find((e) => e.name === 'no_overlap')!.action).toBe('reindex-blocking');
  });
});

describe('maintain: reindex', () => {
  it('repairs an index left invalid by a cancelled concurrent build, drops a _ccnew leftover, rebuilds a bloated index; the dry run changes nothing', async () => {
    await db.sql.unsafe(`create index reindex_probe_v_idx on ${T} (v)`);
    await db.sql.unsafe(`delete from ${T} where id % 10 <> 0`);
    await db.sql.unsafe(`vacuum (analyze) ${T}`);
    const bloated = (await indexState('reindex_probe_v_idx'))!;
    await cancelledConcurrentBuild('reindex_probe_w_idx', 'w');
    await cancelledConcurrentBuild('reindex_probe_id_idx_ccnew', 'id');
    const options = { only: ['reindex'], taskOptions: { reindex: { bloatRatio: 2, minSizeMb: 1 } } };

    const dry = await runMaintain(maint, { ...options, dryRun: true });
    expect(dry.tasks[0]).toMatchObject({ name: 'reindex', status: 'ok', runId: null });
    expect(dry.tasks[0].detail).toMatchObject({
      wouldDrop: ['booking.reindex_probe_id_idx_ccnew'],
      wouldReindex: ['booking.reindex_probe_v_idx', 'booking.reindex_probe_w_idx'],
      wouldReindexBlocking: [],
    });
    const plan = dry.tasks[0].detail.plan as { index: string; reason: string }[];
    expect(plan.find((p) => p.index === 'booking.reindex_probe_v_idx')!.reason).toMatch(/^estimated bloat (\d+\.?\d*) >= 2/);
    expect(Number(/estimated bloat ([\d.]+)/.exec(plan.find((p) => p.index === 'booking.reindex_probe_v_idx')!.reason)![1])).toBeGreaterThan(5);
    const reported = dry.tasks[0].detail.reported as { index: string; reason: string }[];
    expect(reported.map((r) => r.index)).toContain('booking.booking_allocations_no_overlap');
    expect((await indexState('reindex_probe_w_idx'))!.valid).toBe(false);
    expect(await indexState('reindex_probe_id_idx_ccnew')).toBeDefined();
    expect((await indexState('reindex_probe_v_idx'))!.relfilenode).toBe(bloated.relfilenode);

    const report = await runMaintain(maint, options);
    expect(report.tasks[0]).toMatchObject({ name: 'reindex', status: 'ok' });
    expect(report.tasks[0].detail).toMatchObject({
      dropped: ['booking.reindex_probe_id_idx_ccnew'],
      reindexed: ['booking.reindex_probe_v_idx', 'booking.reindex_probe_w_idx'],
      rebuiltBlocking: [],
    });
    expect((await indexState('reindex_probe_w_idx'))!.valid).toBe(true);
    expect(await indexState('reindex_probe_id_idx_ccnew')).toBeUndefined();
    const rebuilt = (await indexState('reindex_probe_v_idx'))!;
    expect(rebuilt.valid).toBe(true);
    expect(rebuilt.pages * 4).toBeLessThan(bloated.pages);
    // no leftover of its own: no invalid index remains in the schema
    const [{ n }] = await db.sql`select count(*)::int as n from pg_index i join pg_class c on c.oid = i.indexrelid
      where c.relnamespace = 'booking'::regnamespace and not i.indisvalid`;
    expect(n).toBe(0);
    const [run] = await readRuns(db.sql, { command: 'maintain', task: 'reindex', limit: 1 });
    expect(run).toMatchObject({ id: report.tasks[0].runId, state: 'ok' });
    // a second run has nothing left to do
    const again = await runMaintain(maint, options);
    expect(again.tasks[0].detail).toMatchObject({ dropped: [], reindexed: [], rebuiltBlocking: [] });
  });

  it('an index whose lock it cannot get is left and the task is skipped naming the blocker', async () => {
    await cancelledConcurrentBuild('reindex_probe_w2_idx', 'w');
    const blocker = await db.sql.reserve();
    try {
      const [{ pid }] = await blocker`select pg_backend_pid() as pid`;
      await blocker.unsafe('begin');
      await blocker.unsafe(`lock table ${T} in share update exclusive mode`);
      const report = await runMaintain(maint, { only: ['reindex'], lockTimeoutMs: 300, lockAttempts: 2, taskOptions: { reindex: { minSizeMb: 1 } } });
      expect(report.exitCode).toBe(0);
      const task = report.tasks[0];
      expect(task).toMatchObject({ name: 'reindex', status: 'skipped' });
      expect(task.reason).toContain('booking.reindex_probe_w2_idx: no lock within 300 ms in 2 attempts');
      expect(task.reason).toContain(`pid ${pid}`);
      expect(task.reason).toMatch(/lock table booking\.reindex_probe in share update exclusive mode/);
      const [run] = await readRuns(db.sql, { command: 'maintain', task: 'reindex', limit: 1 });
      expect(run).toMatchObject({ id: task.runId, state: 'skipped' });
    } finally {
      await blocker.unsafe('rollback').catch(() => undefined);
      blocker.release();
    }
    expect((await indexState('reindex_probe_w2_idx'))!.valid).toBe(false);
    const next = await runMaintain(maint, { only: ['reindex'], taskOptions: { reindex: { minSizeMb: 1 } } });
    expect(next.tasks[0].detail).toMatchObject({ reindexed: ['booking.reindex_probe_w2_idx'] });
    expect((await indexState('reindex_probe_w2_idx'))!.valid).toBe(true);
  });

  it('an exclusion-constraint index is only reported, and rebuilt (blocking) with --allow-blocking', async () => {
    // a booking, so the exclusion index on its allocations has a row and statistics
    const { sql: app } = await appPool(db, 2);
    const fx = await createTenant(db.sql);
    await bookingApi(app, fx.tenantId).book({ service: fx.services.cut, resource: fx.resources[0], customer: fx.customers[0], start: at(futureDate(9), '10:00', '+05:30') });
    await db.sql`analyze booking.booking_allocations`;
    const before = (await indexState('booking_allocations_no_overlap'))!;
    const opts = { bloatRatio: 100, minSizeMb: 0, exclusionBloatRatio: 0.01 };
    const plain = await runMaintain(maint, { only: ['reindex'], taskOptions: { reindex: opts } });
    expect(plain.tasks[0].status).toBe('ok');
    const reported = plain.tasks[0].detail.reported as { index: string; reason: string; estimatedBloat: number | null }[];
    const excl = reported.find((r) => r.index === 'booking.booking_allocations_no_overlap')!;
    expect(excl.reason).toMatch(/^exclusion-constraint index \(REINDEX CONCURRENTLY cannot rebuild it\), estimated bloat [\d.]+ .*--allow-blocking/);
    expect((await indexState('booking_allocations_no_overlap'))!.relfilenode).toBe(before.relfilenode);

    const allowed = await runMaintain(maint, { only: ['reindex'], taskOptions: { reindex: { ...opts, allowBlocking: true } } });
    expect(allowed.tasks[0].status).toBe('ok');
    expect(allowed.tasks[0].detail.rebuiltBlocking).toEqual(['booking.booking_allocations_no_overlap']);
    const after = (await indexState('booking_allocations_no_overlap'))!;
    expect(after.valid).toBe(true);
    expect(after.relfilenode).not.toBe(before.relfilenode);

    // the CLI passes --allow-blocking to the task (a dry run here: it only plans)
    const cwd = scratchDir();
    for (const [flags, allow] of [[[], false], [['--allow-blocking'], true]] as const) {
      const res = await runCli(['maintain', '--only', 'reindex', '--dry-run', '--json', ...flags, '--database-url', db.url], { cwd });
      expect(res.code, res.stderr).toBe(0);
      expect(JSON.parse(res.stdout).tasks[0].detail).toMatchObject({ dryRun: true, allowBlocking: allow });
    }
  });
});
