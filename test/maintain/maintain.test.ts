import { describe, expect, it } from 'vitest';
import { createTestDatabase, pool } from '../helpers/database.js';
import { appPool, at, bookingApi, createTenant, futureDate, readBooking, sleep } from '../domain/helpers.js';
import { BookingDbError } from '../../src/errors.js';
import { readRuns, startRun } from '../../src/runs/ledger.js';
import { runMaintain } from '../../src/maintain/runner.js';
import { selectTasks, TASK_NAMES } from '../../src/maintain/registry.js';
import { maintainConfigSchema } from '../../src/maintain/config.js';
import { auditPartitions, monthStart, partitionName, snapshot } from './helpers.js';

// Each task on real data, driven through the runner as `bookingdb maintain` drives it
// (as a superuser, like the CLI's connection), in one database of this file.
const db = await createTestDatabase();
const { sql: app } = await appPool(db, 4);
// as the CLI connects: the maintain lock, a run's ledger row, the task and the lock-wait watcher
const maint = pool(db.url, 5);
const IST = '+05:30';
const day = futureDate(9);
const L = (time: string) => at(day, time, IST);

async function tenant() {
  const fx = await createTenant(db.sql);
  return { fx, api: bookingApi(app, fx.tenantId), cut: fx.services.cut, r0: fx.resources[0], c: fx.customers };
}

describe('maintain: selection and config', () => {
  it('runs the registry order; --only / --skip select by name; an unknown name is exit 2', () => {
    expect(TASK_NAMES).toEqual(['expire-holds', 'partitions', 'retention', 'refresh', 'vacuum', 'reindex', 'prune', 'idle-sessions']);
    expect(selectTasks().map((t) => t.name)).toEqual(['expire-holds', 'partitions', 'retention', 'refresh', 'vacuum', 'reindex', 'prune']);
    expect(selectTasks(['prune', 'expire-holds']).map((t) => t.name)).toEqual(['expire-holds', 'prune']);
    expect(selectTasks([], ['partitions']).map((t) => t.name)).toEqual(['expire-holds', 'retention', 'refresh', 'vacuum', 'reindex', 'prune']);
    const e = (() => { try { selectTasks(['vacum']); } catch (error) { return error as BookingDbError; } })();
    expect(e).toBeInstanceOf(BookingDbError);
    expect(e!.exitCode).toBe(2);
    expect(e!.message).toContain('"vacum"');
    expect(() => selectTasks([], ['nope'])).toThrow(/--skip: unknown task "nope"/);
  });

  it('the maintain config section has the documented defaults and rejects a mistyped key', () => {
    expect(maintainConfigSchema.parse({})).toEqual({
      lockTimeoutMs: 2000, lockAttempts: 3, partitions: { monthsAhead: 3, retentionMonths: 13 }, prune: { runsRetentionDays: 90 }, retention: { months: 24, batchSize: 1000 },
      vacuum: { deadRatio: 0.1, minDeadTuples: 1000, analyzeRatio: 0.1, freezeAge: 100_000_000, tableTimeoutMs: 3_600_000, costDelayMs: 2, costLimit: 200 },
      reindex: { bloatRatio: 2, minSizeMb: 10, exclusionBloatRatio: 3.6, indexTimeoutMs: 3_600_000 },
      idleSessions: { idleThresholdSeconds: 600 }, refresh: { pauseRatio: 2, tenantTimeoutMs: 300_000 },
    });
    const bad = maintainConfigSchema.safeParse({ partitions: { monthAhead: 2 } });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues[0]).toMatchObject({ path: ['partitions'], code: 'unrecognized_keys' });
  });
});

describe('maintain: expire-holds', () => {
  it('cancels lapsed holds in every tenant, the slot is bookable again, and a matching waitlist entry is offered it', async () => {
    const a = await tenant();
    const b = await tenant();
    const heldA = await a.api.book({ service: a.cut, resource: a.r0, customer: a.c[0], start: L('10:00'), hold: '1 millisecond' });
    const heldA2 = await a.api.book({ service: a.cut, resource: a.r0, customer: a.c[0], start: L('14:00'), hold: '1 millisecond' });
    const heldB = await b.api.book({ service: b.cut, resource: b.r0, customer: b.c[0], start: L('10:00'), hold: '1 millisecond' });
    const entry = await a.api.joinWaitlist({ service: a.cut, customer: a.c[1], from: L('09:30'), to: L('11:30'), resource: a.r0 });
    const live = await a.api.book({ service: a.cut, resource: a.r0, customer: a.c[2], start: L('12:00'), hold: '1 hour' });
    await sleep(50);

    const dry = await runMaintain(maint, { only: ['expire-holds'], dryRun: true });
    expect(dry.tasks[0]).toMatchObject({ name: 'expire-holds', status: 'ok', runId: null });
    expect(dry.tasks[0].detail.wouldExpire).toBeGreaterThanOrEqual(3);
    expect((await readBooking(app, a.fx.tenantId, heldA))!.status).toBe('pending');

    const report = await runMaintain(maint, { only: ['expire-holds'] });
    expect(report).toMatchObject({ status: 'ok', exitCode: 0 });
    const detail = report.tasks[0].detail;
    expect(detail.expired).toBeGreaterThanOrEqual(3);
    expect(detail.tenantsWithExpired).toBeGreaterThanOrEqual(2);
    // one transaction per tenant with lapsed holds (their waitlist offers hold resource
    // locks to commit), not one for every tenant's backlog
    expect(detail.batches).toBeGreaterThanOrEqual(detail.tenantsWithExpired as number);
    expect(detail.offered).toBeGreaterThanOrEqual(1);
    for (const [t, id] of [[a, heldA], [a, heldA2], [b, heldB]] as const) {
      const row = await readBooking(app, t.fx.tenantId, id);
      expect(row).toMatchObject({ status: 'cancelled', cancel_reason: 'hold expired' });
      expect(row!.allocations.every((x) => !x.active)).toBe(true);
    }
    expect((await readBooking(app, a.fx.tenantId, live))!.status).toBe('pending'); // not lapsed: untouched
    // 10:00 of tenant A went to the waitlist entry as a pending hold
    const [w] = await db.sql`select status, offered_booking_id from booking.waitlist_entries where id = ${entry}`;
    expect(w.status).toBe('offered');
    expect(await readBooking(app, a.fx.tenantId, w.offered_booking_id)).toMatchObject({ status: 'pending', customer_id: a.c[1], resource_id: a.r0 });
    // 14:00 of A (nobody waiting) and 10:00 of B are bookable again
    await a.api.book({ service: a.cut, resource: a.r0, customer: a.c[3], start: L('14:00') });
    await b.api.book({ service: b.cut, resource: b.r0, customer: b.c[3], start: L('10:00') });
    // the run is one ops.runs row with the counts
    const [run] = await readRuns(db.sql, { command: 'maintain', task: 'expire-holds', limit: 1 });
    expect(run).toMatchObject({ id: report.tasks[0].runId, state: 'ok' });
    expect(run.detail.expired).toBe(detail.expired);
  });
});

describe('maintain: partitions', () => {
  it('recreates a dropped future partition, moves the default-partition row into it, creates months ahead and drops old ones; the dry run changes nothing', async () => {
    const gap = await partitionName(db.sql, 2);
    const ahead = await partitionName(db.sql, 4);
    const old = await partitionName(db.sql, -20);
    const tenantId = (await tenant()).fx.tenantId;
    await db.sql.unsafe(`drop table ops.${gap}`);
    const [row] = await db.sql`insert into ops.audit_log (tenant_id, occurred_at, action, entity)
      values (${tenantId}, ${await monthStart(db.sql, 2)}::timestamptz + interval '3 days', 'test.default_row', 'test') returning id`;
    expect((await db.sql`select tableoid::regclass::text as p from ops.audit_log where id = ${row.id}`)[0].p).toBe('ops.audit_log_default');
    await db.sql.unsafe(`create table ops.${old} partition of ops.audit_log for values from ('${await monthStart(db.sql, -20)}') to ('${await monthStart(db.sql, -19)}')`);
    await db.sql.unsafe(`alter table ops.${old} owner to bookingdb_owner`);
    const options = { only: ['partitions'], taskOptions: { partitions: { monthsAhead: 4, retentionMonths: 13 } } };

    const before = await snapshot(db.sql);
    const dry = await runMaintain(maint, { ...options, dryRun: true });
    expect(dry.tasks[0].detail).toMatchObject({ wouldCreate: [gap, ahead], wouldMoveRows: 1, wouldDrop: [old] });
    expect(await snapshot(db.sql)).toEqual(before);

    const report = await runMaintain(maint, options);
    expect(report.tasks[0]).toMatchObject({ name: 'partitions', status: 'ok' });
    expect(report.tasks[0].detail).toMatchObject({ created: [gap, ahead], movedRows: 1, dropped: [old] });
    const parts = await auditPartitions(db.sql);
    for (let i = 0; i <= 4; i++) expect(parts).toContain(await partitionName(db.sql, i));
    expect(parts).not.toContain(old);
    expect((await db.sql`select tableoid::regclass::text as p from ops.audit_log where id = ${row.id}`)[0].p).toBe(`ops.${gap}`);
    // the new partitions are tenant tables like the others: RLS forced, with the policy
    const [rls] = await db.sql`select relrowsecurity and relforcerowsecurity as ok from pg_class where oid = ${`ops.${gap}`}::regclass`;
    expect(rls.ok).toBe(true);
    // a second run has nothing to do
    const again = await runMaintain(maint, options);
    expect(again.tasks[0].detail).toMatchObject({ created: [], movedRows: 0, dropped: [] });
  });
});

describe('maintain: prune', () => {
  it('deletes runs older than the retention, interrupted ones included, but never a running one; old snapshots go, the newest stays', async () => {
    const [oldOk] = await db.sql`insert into ops.runs (command, task, started_at, finished_at, status)
      values ('maintain', 'prune', now() - interval '100 days', now() - interval '100 days' + interval '1 second', 'ok') returning id`;
    const [oldInterrupted] = await db.sql`insert into ops.runs (command, started_at, status)
      values ('backup', now() - interval '100 days', 'running') returning id`;
    const [recent] = await db.sql`insert into ops.runs (command, started_at, finished_at, status)
      values ('backup', now() - interval '10 days', now() - interval '10 days', 'ok') returning id`;
    const running = await startRun(db.sql, 'restore-verify');
    await db.sql`update ops.runs set started_at = now() - interval '200 days' where id = ${running.id}`;
    await db.sql`insert into ops.metric_snapshots (taken_at, counted_from, counted_to, metrics)
      select now() - make_interval(days => d), now() - make_interval(days => d), now() - make_interval(days => d), '{}'
        from unnest(array[40, 30, 20]) d`;
    try {
      const dry = await runMaintain(maint, { only: ['prune'], dryRun: true, taskOptions: { prune: { runsRetentionDays: 90, metricsRetentionDays: 14 } } });
      expect(dry.tasks[0].detail).toMatchObject({ wouldDeleteRuns: 2 });
      const report = await runMaintain(maint, { only: ['prune'], taskOptions: { prune: { runsRetentionDays: 90, metricsRetentionDays: 14 } } });
      expect(report.tasks[0]).toMatchObject({ status: 'ok' });
      expect(report.tasks[0].detail).toMatchObject({ runsDeleted: 2 });
      const ids = (await db.sql`select id from ops.runs where id = any(${[oldOk.id, oldInterrupted.id, recent.id, running.id]})`).map((r) => Number(r.id));
      expect(ids.sort()).toEqual([Number(recent.id), running.id].sort());
      // every snapshot here is older than 14 days: all go but the newest
      const [{ n }] = await db.sql`select count(*)::int as n from ops.metric_snapshots`;
      expect(n).toBe(1);
    } finally {
      await running.finish('ok');
    }
  });
});

describe('maintain: every task is an ops.runs row', () => {
  it('a default run records one row per task, in order, each ok', async () => {
    const report = await runMaintain(maint);
    expect(report.tasks.map((t) => [t.name, t.status])).toEqual([['expire-holds', 'ok'], ['partitions', 'ok'], ['retention', 'ok'], ['refresh', 'ok'], ['vacuum', 'ok'], ['reindex', 'ok'], ['prune', 'ok']]);
    const runs = await readRuns(db.sql, { command: 'maintain', limit: report.tasks.length });
    expect(runs.map((r) => [r.id, r.task, r.state]).reverse()).toEqual(report.tasks.map((t) => [t.runId, t.name, 'ok']));
  });
});
