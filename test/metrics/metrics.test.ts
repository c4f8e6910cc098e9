import { describe, expect, it } from 'vitest';
import { createTestDatabase } from '../helpers/database.js';
import { appPool, at, bookingApi, createLogin, createTenant, futureDate, inTenant } from '../domain/helpers.js';
import { collectIn, collectSnapshot, type Snapshot } from '../../src/metrics/collect.js';
import { pruneMetricSnapshots, storeSnapshot } from '../../src/metrics/store.js';
import { readRuns } from '../../src/runs/ledger.js';
import { seedDemo } from '../../src/seed/demo.js';
import { collectOptions, loginPool, morningZone } from './helpers.js';

const opts = collectOptions();
const tenantOf = (s: Snapshot, slug: string) => {
  const t = s.bookings.tenants.find((x) => x.slug === slug);
  if (!t) throw new Error(`tenant ${slug} not in the snapshot`);
  return t;
};

describe('bookingdb metrics (core)', () => {
  it('booking counters move after bookings are made, confirmed and cancelled through the API, per tenant and in total', async () => {
    const db = await createTestDatabase();
    const zone = morningZone();
    const a = await createTenant(db.sql, { tz: zone.tz, resources: 2, hours: [['00:00', '23:00']] });
    const b = await createTenant(db.sql, { tz: 'Asia/Kolkata', resources: 1 });
    const app = await appPool(db);
    const monitor = loginPool((await createLogin(db, 'monitor')).url);
    const apiA = bookingApi(app.sql, a.tenantId);
    const apiB = bookingApi(app.sql, b.tenantId);

    const first = await storeSnapshot(db.sql, opts);
    expect(first.status).toBe('ok');
    expect(first.snapshot!.bookings.window.previousSnapshotId).toBeNull();

    const day = futureDate(3);
    const today = zone.localDate;
    const one = await apiA.book({ service: a.services.cut, resource: a.resources[0], customer: a.customers[0], start: at(today, '10:00', zone.offset) });
    const held = await apiA.book({ service: a.services.cut, resource: a.resources[1], customer: a.customers[1], start: at(day, '11:00', zone.offset), hold: '15 minutes' });
    const three = await apiA.book({ service: a.services.cut, resource: a.resources[0], customer: a.customers[2], start: at(day, '12:00', zone.offset) });
    await apiB.book({ service: b.services.cut, resource: b.resources[0], customer: b.customers[0], start: at(day, '10:00', '+05:30') });
    await apiB.joinWaitlist({ service: b.services.cut, customer: b.customers[1], from: at(day, '09:00', '+05:30'), to: at(day, '17:00', '+05:30') });

    const mid = await collectSnapshot(monitor, opts); // as a LOGIN member of bookingdb_monitor
    expect(mid.bookings.window.previousSnapshotId).toBe(first.snapshotId);
    expect(mid.bookings.window.from).toBe(first.snapshot!.bookings.window.to);
    expect(tenantOf(mid, a.slug).since).toEqual({ created: 3, confirmed: 0, cancelled: 0, expired: 0, offers: 0 });
    expect(tenantOf(mid, a.slug).holdsPending).toBe(1);
    expect(tenantOf(mid, b.slug).since.created).toBe(1);
    expect(tenantOf(mid, b.slug).waitlistWaiting).toBe(1);
    // resource utilisation today: one 60-minute booking against 2 resources x 23 hours
    expect(tenantOf(mid, a.slug).bookedSecondsToday).toBe(3600);
    expect(tenantOf(mid, a.slug).workingSecondsToday).toBe(2 * 23 * 3600);

    await apiA.confirm(held);
    await apiA.cancel(three, 'changed plans');
    await apiA.cancel(one);

    const second = await storeSnapshot(db.sql, opts);
    const s = second.snapshot!;
    expect(s.bookings.window.from).toBe(first.snapshot!.bookings.window.to);
    expect(tenantOf(s, a.slug).since).toEqual({ created: 3, confirmed: 1, cancelled: 2, expired: 0, offers: 0 });
    expect(tenantOf(s, a.slug).holdsPending).toBe(0);
    expect(tenantOf(s, a.slug).bookedSecondsToday).toBe(0); // the booking of today was cancelled
    expect(s.bookings.since).toEqual({ created: 4, confirmed: 1, cancelled: 2, expired: 0, offers: 0 });
    expect(s.bookings.totals).toEqual(s.bookings.since); // the first snapshot counted nothing

    // nothing happened since: the window is empty, the cumulative totals stay
    const after = await collectSnapshot(monitor, opts);
    expect(after.bookings.window.previousSnapshotId).toBe(second.snapshotId);
    expect(after.bookings.since).toEqual({ created: 0, confirmed: 0, cancelled: 0, expired: 0, offers: 0 });
    expect(after.bookings.totals).toEqual({ created: 4, confirmed: 1, cancelled: 2, expired: 0, offers: 0 });
    expect(tenantOf(after, a.slug).totals.cancelled).toBe(2);

    // both stores are ok metrics runs in the ledger, linked from their snapshots
    const runs = await readRuns(db.sql, { command: 'metrics' });
    expect(runs.map((r) => r.state)).toEqual(['ok', 'ok']);
    expect(runs[0].detail).toMatchObject({ snapshotId: second.snapshotId, created: 4 });
    const rows = await db.sql`select id, run_id from ops.metric_snapshots order by id`;
    expect(rows.map((r) => Number(r.run_id))).toEqual([first.runId, second.runId]);
  });

  it('a booking whose transaction was open during a snapshot is counted by the next one, never lost', async () => {
    const db = await createTestDatabase();
    const t = await createTenant(db.sql, { resources: 1 });
    const app = await appPool(db);
    await storeSnapshot(db.sql, opts);
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let booked!: () => void;
    const isBooked = new Promise<void>((r) => (booked = r));
    const open = inTenant(app.sql, t.tenantId, async (tx) => {
      await tx`select booking.book(${t.tenantId}, ${t.services.cut}, ${t.resources[0]}, ${t.customers[0]}, ${at(futureDate(2), '10:00', '+05:30')})`;
      booked();
      await released; // the audit row exists, uncommitted, stamped with this transaction's start
    });
    await isBooked;
    const during = await storeSnapshot(db.sql, opts);
    expect(during.snapshot!.bookings.since.created).toBe(0);
    release();
    await open;
    const next = await storeSnapshot(db.sql, opts);
    expect(next.snapshot!.bookings.since.created).toBe(1);
    expect(next.snapshot!.bookings.window.from).toBe(during.snapshot!.bookings.window.to);
  });

  it('counts 23P01 conflicts: a real slot-taken error through the API advances ops.booking_conflicts, surviving its rollback', async () => {
    const db = await createTestDatabase();
    const t = await createTenant(db.sql, { resources: 1 });
    const app = await appPool(db);
    const api = bookingApi(app.sql, t.tenantId);
    const monitor = loginPool((await createLogin(db, 'monitor')).url);
    expect((await collectSnapshot(monitor, opts)).bookings.conflictsTotal).toBe(0);
    const start = at(futureDate(3), '10:00', '+05:30'); // the tenant is in Asia/Kolkata, open 09:00-17:00
    await api.book({ service: t.services.cut, resource: t.resources[0], customer: t.customers[0], start });
    for (const customer of [t.customers[1], t.customers[2]]) {
      await expect(api.book({ service: t.services.cut, resource: t.resources[0], customer, start })).rejects.toMatchObject({ code: '23P01' });
    }
    // a BK001 (outside working hours) is not a conflict
    await expect(api.book({ service: t.services.cut, resource: t.resources[0], customer: t.customers[1], start: at(futureDate(3), '03:00', '+05:30') }))
      .rejects.toMatchObject({ code: 'BK001' });
    expect((await collectSnapshot(monitor, opts)).bookings.conflictsTotal).toBe(2);
  });

  it('runs every statement under the short timeouts, as a monitor login; the app login cannot run the ops metric function', async () => {
    const db = await createTestDatabase();
    await createTenant(db.sql, { resources: 1 });
    const monitor = loginPool((await createLogin(db, 'monitor')).url);
    const app = await appPool(db, 1);
    const seen = await monitor.begin('read only', async (tx) => {
      const s = await collectIn(tx, collectOptions({ statementTimeoutMs: 1500, lockTimeoutMs: 300 }));
      const [t] = await tx`select current_setting('statement_timeout') as st, current_setting('lock_timeout') as lt`;
      return { s, t };
    });
    expect(seen.t).toEqual({ st: '1500ms', lt: '300ms' });
    expect(seen.s.bookings.tenants).toHaveLength(1);
    expect(seen.s.server.maxConnections).toBeGreaterThan(0);
    expect(seen.s.server.connections.active).toBeGreaterThanOrEqual(1);
    expect(seen.s.relations.length).toBeGreaterThan(0);
    expect(seen.s.deadTuples.some((r) => r.relation === 'booking.bookings')).toBe(true);

    await expect(app.sql`select * from ops.metric_tenant_activity(now() - interval '1 hour', now())`).rejects.toMatchObject({ code: '42501' });
    await expect(collectSnapshot(app.sql, opts)).rejects.toMatchObject({ code: 'not_allowed', exitCode: 4 });
    const [acl] = await db.sql`select has_function_privilege('bookingdb_app', 'ops.metric_tenant_activity(timestamptz, timestamptz)', 'execute') as app,
        has_function_privilege('bookingdb_monitor', 'ops.metric_tenant_activity(timestamptz, timestamptz)', 'execute') as monitor,
        (select r.rolname from pg_proc p join pg_roles r on r.oid = p.proowner where p.proname = 'metric_tenant_activity') as owner`;
    expect(acl).toEqual({ app: false, monitor: true, owner: 'bookingdb_ops' });
  });

  it('a table locked by a migration makes the round fail fast (lock_timeout), never queue; --store needs an owner login', async () => {
    const db = await createTestDatabase();
    await createTenant(db.sql, { resources: 1 });
    const monitor = loginPool((await createLogin(db, 'monitor')).url);
    const ddl = await db.sql.reserve();
    try {
      await ddl`begin`;
      await ddl`lock table booking.bookings in access exclusive mode`;
      const failed = collectSnapshot(monitor, collectOptions({ lockTimeoutMs: 200, statementTimeoutMs: 30_000 }));
      await expect(failed).rejects.toMatchObject({ code: 'metrics_timeout' });
      await expect(failed).rejects.toThrow(/hit its lock timeout/);
    } finally {
      await ddl`rollback`;
      ddl.release();
    }
    expect((await collectSnapshot(monitor, opts)).bookings.tenants).toHaveLength(1);
    await expect(storeSnapshot(monitor, opts)).rejects.toMatchObject({ code: 'not_allowed', exitCode: 4 });
  });

  it('resource utilisation today agrees with booking.resource_utilisation on seeded demo data, in every time zone', async () => {
    const db = await createTestDatabase();
    await seedDemo(db.sql, { tenants: 3, locationsPerTenant: 2, resourcesPerLocation: 3, days: 7, bookings: 600 });
    const s = await collectSnapshot(db.sql, opts);
    const view = await db.sql`
      select t.slug, sum(u.working_minutes)::int * 60 as working, sum(u.booked_minutes)::int * 60 as booked
        from booking.resource_utilisation u
        join booking.tenants t on t.id = u.tenant_id
        join booking.locations l on l.tenant_id = u.tenant_id and l.id = u.location_id
        join booking.resources r on r.tenant_id = u.tenant_id and r.id = u.resource_id
       where r.active and u.day = (now() at time zone l.timezone)::date
       group by t.slug order by t.slug`;
    expect(view).toHaveLength(3);
    expect(s.bookings.tenants.map((t) => ({ slug: t.slug, working: t.workingSecondsToday, booked: t.bookedSecondsToday })))
      .toEqual(view.map((v) => ({ slug: v.slug, working: v.working, booked: v.booked })));
    expect(s.bookings.workingSecondsToday).toBeGreaterThan(0);
    expect(s.bookings.bookedSecondsToday).toBeGreaterThan(0);
  });

  it('prunes snapshots past their retention but always keeps the newest', async () => {
    const db = await createTestDatabase();
    await storeSnapshot(db.sql, opts);
    await storeSnapshot(db.sql, opts);
    await db.sql`update ops.metric_snapshots set taken_at = now() - interval '30 days'`;
    expect(await pruneMetricSnapshots(db.sql, 14)).toBe(1);
    const left = await db.sql`select count(*)::int as n from ops.metric_snapshots`;
    expect(left[0].n).toBe(1);
  });
});
