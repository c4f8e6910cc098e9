import { beforeAll, describe, expect, it } from 'vitest';
import postgres from 'postgres';
import { createTestDatabase } from '../helpers/database.js';
import { appPool, at, bookingApi, createLogin, createTenant, futureDate, inTenant, pgError, type TenantFixture } from '../domain/helpers.js';
import { collectOptions } from '../metrics/helpers.js';
import { runHealthCheck } from '../../src/health/runner.js';
import { collectSnapshot } from '../../src/metrics/collect.js';
import { storeSnapshot } from '../../src/metrics/store.js';
import { renderPrometheus } from '../../src/metrics/render.js';
import { parseTenantLabels } from '../../src/metrics/config.js';
import { BookingDbError } from '../../src/errors.js';
import { startStandby, type Standby } from './standby.js';

// A streaming replica of the test cluster (pg_basebackup -R, a second port): health-check
// and metrics report recovery and replay lag on both sides (0 on a caught-up standby,
// however old the last commit), availability reads work on it, writes are refused with
// 25006, and what writes (metrics --store) says it needs the primary.
const db = await createTestDatabase();
const { sql: app } = await appPool(db, 2);
const login = await createLogin(db, 'app');
const day = futureDate(10);
let t: TenantFixture;
let standby: Standby;
let replica: postgres.Sql;
let replicaApp: postgres.Sql;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until the standby has replayed everything the primary had written when called. */
async function caughtUp(): Promise<void> {
  // the insert position: the test cluster runs synchronous_commit=off, so a commit may not be written yet
  const [{ lsn }] = await db.sql`select pg_current_wal_insert_lsn()::text as lsn`;
  for (let i = 0; i < 200; i++) {
    const [r] = await replica`select pg_last_wal_replay_lsn() >= ${lsn}::pg_lsn as ok`;
    if (r.ok) return;
    await sleep(25);
  }
  throw new Error('the standby did not catch up within 5 s');
}

async function metric(sql: postgres.Sql, name: string): Promise<{ value: number | null; detail: string }> {
  const [r] = await sql`select value::float8 as value, detail from ops.health_metric(${name})`;
  return { value: r.value === null ? null : Number(r.value), detail: String(r.detail) };
}

beforeAll(async () => {
  t = await createTenant(db.sql, { resources: 1, customers: 2 });
  await bookingApi(app, t.tenantId).book({ service: t.services.cut, resource: t.resources[0], customer: t.customers[0], start: at(day, '10:00', '+05:30') });
  standby = await startStandby(db.url);
  replica = postgres(standby.url(db.name), { max: 2, onnotice: () => undefined });
  replicaApp = postgres(standby.url(db.name, login), { max: 2, onnotice: () => undefined });
  return async () => {
    await replica.end({ timeout: 5 });
    await replicaApp.end({ timeout: 5 });
    await standby.stop();
  };
});

describe('a streaming read replica', () => {
  it('health-check: replay lag in bytes and seconds while replay is paused, 0 once caught up; the receiver streams; the primary sees the standby', async () => {
    const [{ rec }] = await replica`select pg_is_in_recovery() as rec`;
    expect(rec).toBe(true);
    // a commit replayed first, so the standby has a last replayed commit time to age from
    await db.sql`insert into booking.customers (tenant_id, email, full_name) values (${t.tenantId}, 'first@x.example', 'Lag Test')`;
    await caughtUp();
    await replica`select pg_wal_replay_pause()`;
    try {
      for (let i = 0; i < 5; i++) await db.sql`insert into booking.customers (tenant_id, email, full_name) values (${t.tenantId}, ${`lag${i}@x.example`}, 'Lag Test')`;
      let bytes = await metric(replica, 'replication-lag-bytes');
      for (let i = 0; i < 200 && !(bytes.value! > 0); i++) { await sleep(25); bytes = await metric(replica, 'replication-lag-bytes'); }
      expect(bytes.value).toBeGreaterThan(0);
      expect(bytes.detail).toMatch(/^standby: .* received and not yet replayed$/);
      const seconds = await metric(replica, 'replication-lag');
      expect(seconds.value).toBeGreaterThanOrEqual(0);
      expect(seconds.detail).toMatch(/^standby: replaying; last replayed transaction committed at /);
      const primary = await metric(db.sql, 'replication-lag-bytes');
      expect(primary.value).toBeGreaterThan(0);
      expect(primary.detail).toMatch(/standbys, the furthest behind: .* not yet replayed$/);
      const snap = await collectSnapshot(replica, collectOptions());
      expect(snap.replication).toMatchObject({ inRecovery: true, standbys: [] });
      expect(snap.replication.replayLagBytes).toBeGreaterThan(0);
    } finally {
      await replica`select pg_wal_replay_resume()`;
    }
    await caughtUp();
    // caught up: 0 s, not "now minus the last commit" (the old rule alarmed on an idle primary)
    let lag = await metric(replica, 'replication-lag');
    // other test files write to the same primary: 0 s can also be a commit replayed
    // under 50 ms ago (rounded), so wait for the caught-up state itself
    const settled = (l: { value: number | null; detail: string }) => l.value === 0 && l.detail.startsWith('standby: caught up');
    for (let i = 0; i < 200 && !settled(lag); i++) { await sleep(25); lag = await metric(replica, 'replication-lag'); }
    expect(lag).toMatchObject({ value: 0 });
    expect(lag.detail).toMatch(/^standby: caught up \(all received WAL replayed\)/);
    const report = await runHealthCheck(replica, { only: ['replication-lag', 'replication-lag-bytes', 'wal-receiver'] });
    expect(report.checks.map((c) => [c.name, c.status])).toEqual([['replication-lag', 'ok'], ['replication-lag-bytes', 'ok'], ['wal-receiver', 'ok']]);
    expect(report.checks[2].detail).toMatch(/^standby: streaming from 127\.0\.0\.1:\d+/);
    const onPrimary = await runHealthCheck(db.sql, { only: ['wal-receiver', 'replication-lag-bytes'] });
    const byName = Object.fromEntries(onPrimary.checks.map((c) => [c.name, c]));
    expect(byName['wal-receiver']).toMatchObject({ status: 'ok', value: null, detail: 'primary: no WAL receiver (not a standby)' });
    expect(byName['replication-lag-bytes'].detail).toMatch(/^1 standbys, the furthest behind: walreceiver \(streaming\)/);
  });

  it('metrics: recovery state and lag on the standby, per-standby lag on the primary, in Prometheus text', async () => {
    await caughtUp();
    const snap = await collectSnapshot(replica, collectOptions());
    expect(snap.replication.inRecovery).toBe(true);
    expect(snap.replication.replayLagBytes).toBeGreaterThanOrEqual(0);
    const text = await renderPrometheus(snap, { tenantLabels: parseTenantLabels('none') });
    expect(text).toMatch(/^bookingdb_in_recovery 1$/m);
    expect(text).toMatch(/^bookingdb_replication_replay_lag_bytes \d+$/m);
    expect(text).toMatch(/^bookingdb_replication_replay_lag_seconds [\d.e+-]+$/m);
    const primary = await collectSnapshot(db.sql, collectOptions());
    expect(primary.replication).toMatchObject({ inRecovery: false, replayLagBytes: null, replayLagSeconds: null });
    expect(primary.replication.standbys).toHaveLength(1);
    expect(primary.replication.standbys[0]).toMatchObject({ standby: 'walreceiver@127.0.0.1', state: 'streaming' });
    const ptext = await renderPrometheus(primary, { tenantLabels: parseTenantLabels('none') });
    expect(ptext).toMatch(/^bookingdb_in_recovery 0$/m);
    expect(ptext).toMatch(/^bookingdb_replication_standby_lag_bytes\{standby="walreceiver@127\.0\.0\.1"\} \d+$/m);
    expect(ptext).toMatch(/^bookingdb_replication_replay_lag_bytes 0$/m); // nothing to replay on a primary
  });

  it('availability reads work on the replica as the app; book is refused with 25006; the guard says it needs the primary', async () => {
    await caughtUp();
    const from = at(day, '09:00', '+05:30');
    const to = at(day, '17:00', '+05:30');
    const q = (sql: postgres.Sql) => inTenant(sql, t.tenantId, (tx) => tx`select resource_id, starts_at from booking.available_slots(${t.tenantId}, ${t.services.cut}, ${from}, ${to}) order by 2`);
    const [onReplica, onPrimary] = await Promise.all([q(replicaApp), q(app)]);
    expect(onReplica.length).toBeGreaterThan(0);
    expect(onReplica.map((r) => r.starts_at.toISOString())).toEqual(onPrimary.map((r) => r.starts_at.toISOString()));
    const booked = await pgError(bookingApi(replicaApp, t.tenantId).book({ service: t.services.cut, resource: t.resources[0], customer: t.customers[1], start: at(day, '12:00', '+05:30') }));
    expect([booked.code, booked.message]).toEqual(['25006', 'booking.book needs the primary: this server is a read replica']);
    const guard = await pgError(replica`select booking._require_primary('booking.book')`);
    expect([guard.code, guard.message]).toEqual(['25006', 'booking.book needs the primary: this server is a read replica']);
    await db.sql`select booking._require_primary('booking.book')`; // the primary passes
  });

  it('every health check runs on the replica without failing on a write; metrics --store says it needs the primary (exit 4)', async () => {
    const report = await runHealthCheck(replica, {});
    expect(report.checks.filter((c) => c.status === 'unknown').map((c) => `${c.name}: ${c.detail}`)).toEqual([]);
    const deadlocks = report.checks.find((c) => c.name === 'deadlocks');
    expect(deadlocks?.detail).toContain('(read-only server: baseline not stored)');
    const e = await storeSnapshot(replica, collectOptions()).then(() => undefined, (x: unknown) => x);
    expect(e).toBeInstanceOf(BookingDbError);
    expect((e as BookingDbError).exitCode).toBe(4);
    expect((e as BookingDbError).message).toMatch(/^this server is a read replica: /);
  });
});
