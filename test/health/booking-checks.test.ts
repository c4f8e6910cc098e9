import postgres from 'postgres';
import { describe, expect, it } from 'vitest';
import { createTestDatabase } from '../helpers/database.js';
import { createLogin, createTenant } from '../domain/helpers.js';
import { startRun, withRun } from '../../src/runs/ledger.js';
import { check, monitorPool } from './helpers.js';

// The checks no generic tool has, each broken for real in this file's clone and
// restored: RLS switched off or its policy dropped, the exclusion constraint dropped and
// an overlap inserted, a privileged app login, an expired hold, a missing audit
// partition, a row in the default partition, an overdue erasure request, and the
// freshness of the ledger.
describe('health-check: booking checks', async () => {
  const db = await createTestDatabase();
  const monitor = await monitorPool(db);
  const t = await createTenant(db.sql, { resources: 1 });

  async function insertBooking(offsetHours: number, status = 'confirmed', holdExpires: string | null = null): Promise<string> {
    const [b] = await db.sql`
      insert into booking.bookings (tenant_id, customer_id, service_id, resource_id, status, during, hold_expires_at)
      values (${t.tenantId}, ${t.customers[0]}, ${t.services.cut}, ${t.resources[0]}, ${status},
              tstzrange(date_trunc('hour', now()) + make_interval(hours => ${offsetHours}), date_trunc('hour', now()) + make_interval(hours => ${offsetHours + 1})),
              ${holdExpires}::timestamptz)
      returning id, during`;
    await db.sql`insert into booking.booking_allocations (tenant_id, booking_id, resource_id, blocked, hold_expires_at)
      values (${t.tenantId}, ${b.id}, ${t.resources[0]}, ${b.during}, ${holdExpires}::timestamptz)`;
    return b.id;
  }

  it('a tenant table with RLS disabled, not forced, or without its policy is CRITICAL until restored', async () => {
    expect((await check(monitor, 'tenant-rls')).status).toBe('ok');
    await db.sql`alter table booking.payments disable row level security`;
    let c = await check(monitor, 'tenant-rls');
    expect(c.status).toBe('critical');
    expect(c.detail).toBe('booking.payments (RLS not enabled)');
    await db.sql`alter table booking.payments enable row level security`;
    await db.sql`alter table booking.payments no force row level security`;
    expect((await check(monitor, 'tenant-rls')).detail).toBe('booking.payments (RLS not forced)');
    await db.sql`alter table booking.payments force row level security`;
    await db.sql`drop policy tenant_isolation on booking.payments`;
    c = await check(monitor, 'tenant-rls');
    expect([c.status, c.detail]).toEqual(['critical', 'booking.payments (no policy)']);
    expect(c.remedy).toContain('bookingdb deploy');
    await db.sql`create policy tenant_isolation on booking.payments
      using (tenant_id = booking.current_tenant_id()) with check (tenant_id = booking.current_tenant_id())`;
    expect((await check(monitor, 'tenant-rls')).status).toBe('ok');
  });

  it('with the exclusion constraint dropped, an overlapping allocation is found by the bounded scan: CRITICAL, then OK', async () => {
    await insertBooking(24);
    expect((await check(monitor, 'overlapping-allocations')).status).toBe('ok');
    await db.sql`alter table booking.booking_allocations drop constraint booking_allocations_no_overlap`;
    try {
      expect((await check(monitor, 'exclusion-constraint')).status).toBe('critical');
      const second = await insertBooking(24);
      const overlap = await check(monitor, 'overlapping-allocations');
      expect(overlap.status).toBe('critical');
      expect(overlap.value).toBe(1);
      expect(overlap.detail).toMatch(/^1 active allocations overlap/);
      await db.sql`update booking.booking_allocations set active = false where booking_id = ${second}`;
      await db.sql`update booking.bookings set status = 'cancelled', cancelled_at = now() where id = ${second}`;
      expect((await check(monitor, 'overlapping-allocations')).status).toBe('ok');
    } finally {
      await db.sql`alter table booking.booking_allocations add constraint booking_allocations_no_overlap
        exclude using gist (tenant_id with =, resource_id with =, blocked with &&) where (active)`;
    }
    expect((await check(monitor, 'exclusion-constraint')).status).toBe('ok');
    const ok = await check(monitor, 'overlapping-allocations');
    expect(ok.detail).toMatch(/^no overlap among 1 active allocations/);
  });

  it('an app login that is BYPASSRLS or a member of the owner role is CRITICAL', async () => {
    const app = await createLogin(db, 'app');
    expect((await check(monitor, 'app-role-privileges')).status).toBe('ok');
    await db.sql.unsafe(`alter role "${app.name}" bypassrls`);
    let c = await check(monitor, 'app-role-privileges');
    expect([c.status, c.detail]).toEqual(['critical', `${app.name} (BYPASSRLS)`]);
    await db.sql.unsafe(`alter role "${app.name}" nobypassrls`);
    await db.sql.unsafe(`grant bookingdb_owner to "${app.name}"`);
    c = await check(monitor, 'app-role-privileges');
    expect([c.status, c.detail]).toEqual(['critical', `${app.name} (member of bookingdb_owner)`]);
    await db.sql.unsafe(`revoke bookingdb_owner from "${app.name}"`);
    expect((await check(monitor, 'app-role-privileges')).status).toBe('ok');
  });

  it('a pending hold long past its expiry that still holds its slot is WARNING until expired', async () => {
    const id = await insertBooking(48, 'pending', new Date(Date.now() - 3_600_000).toISOString());
    const c = await check(monitor, 'expired-holds');
    expect([c.status, c.value]).toEqual(['warning', 1]);
    expect(c.remedy).toContain('bookingdb maintain');
    await db.sql`select booking.expire_holds()`;
    const after = await db.sql`select status from booking.bookings where id = ${id}`;
    expect(after[0].status).toBe('cancelled');
    expect((await check(monitor, 'expired-holds')).status).toBe('ok');
  });

  it('a missing audit partition ahead is WARNING and a row in the default partition too, until maintenance runs', async () => {
    const [{ name }] = await db.sql`select 'audit_log_' || to_char(date_trunc('month', now() at time zone 'UTC') + interval '2 months', '"y"YYYY"m"MM') as name`;
    await db.sql.unsafe(`drop table ops.${name}`);
    const missing = await check(monitor, 'audit-partitions-ahead');
    expect([missing.status, missing.value]).toEqual(['warning', 1]);
    expect(missing.detail).toContain(name);
    await db.sql`insert into ops.audit_log (tenant_id, occurred_at, action, entity) values (${t.tenantId}, '2100-01-15', 'test.default', 'booking')`;
    const dflt = await check(monitor, 'audit-default-rows');
    expect([dflt.status, dflt.value]).toEqual(['warning', 1]);
    await db.sql`select ops.ensure_audit_partitions(3)`;
    expect((await check(monitor, 'audit-partitions-ahead')).status).toBe('ok');
    await db.sql`delete from ops.audit_log where occurred_at = '2100-01-15'`;
    expect((await check(monitor, 'audit-default-rows')).status).toBe('ok');
  });

  it('an erasure request pending for more than 30 days is CRITICAL until processed', async () => {
    const [e] = await db.sql`insert into booking.erasure_requests (tenant_id, customer_id, requested_at)
      values (${t.tenantId}, ${t.customers[1]}, now() - interval '40 days') returning id`;
    const c = await check(monitor, 'erasure-requests-overdue');
    expect(c.status).toBe('critical');
    expect(c.value).toBeGreaterThanOrEqual(40);
    expect(c.detail).toMatch(/1 pending, 1 older than 30 days/);
    await db.sql`update booking.erasure_requests set status = 'done', processed_at = now() where id = ${e.id}`;
    expect((await check(monitor, 'erasure-requests-overdue')).status).toBe('ok');
  });

  it('freshness: no run yet is WARNING naming the command; a fresh ok run is OK; a run that stopped being recorded is CRITICAL; interrupted runs show', async () => {
    const none = await check(monitor, 'last-backup');
    expect([none.status, none.value]).toEqual(['warning', null]);
    expect(none.detail).toContain('run `bookingdb backup`');
    await withRun(db.sql, 'backup', null, async () => ({ files: 1 }));
    const fresh = await check(monitor, 'last-backup');
    expect(fresh.status).toBe('ok');
    expect(fresh.value).toBeLessThan(0.1);
    // maintain stopped being recorded three days ago
    await db.sql`insert into ops.runs (command, task, started_at, finished_at, status)
      values ('maintain', 'vacuum', now() - interval '72 hours', now() - interval '72 hours' + interval '1 second', 'ok')`;
    const stale = await check(monitor, 'last-maintain');
    expect(stale.status).toBe('critical');
    expect(stale.value).toBeGreaterThan(71);
    // a restore-verify whose process died leaves what startRun wrote, with no backend
    // holding its lock: interrupted, and named in the freshness detail
    const [run] = await db.sql`insert into ops.runs (command) values ('restore-verify') returning id`;
    const running = await startRun(db.sql, 'metrics', 'store');
    const interrupted = await check(monitor, 'interrupted-runs');
    expect(interrupted.status).toBe('warning');
    expect(interrupted.value).toBe(1); // the live metrics run is not counted
    expect(interrupted.detail).toContain(`#${run.id} restore-verify`);
    const verify = await check(monitor, 'last-restore-verify');
    expect(verify.status).toBe('warning');
    expect(verify.detail).toContain(`the newest run (#${run.id}`);
    expect(verify.detail).toContain('is interrupted');
    await running.finish('ok');
    expect((await check(monitor, 'last-metrics-store')).status).toBe('ok');
  });

  it('the monitor login can run every check and ops.health_check(); the app login cannot (42501)', async () => {
    const { runHealthCheck } = await import('../../src/health/runner.js');
    const report = await runHealthCheck(monitor);
    const unknown = report.checks.filter((c) => c.status === 'unknown');
    expect(unknown).toEqual([]);
    const rows = await monitor`select check_name, status from ops.health_check()`;
    expect(rows.length).toBe(report.checks.filter((c) => c.category !== 'runs').length);
    expect(rows.filter((r) => r.status === 'unknown')).toEqual([]);
    const app = await createLogin(db, 'app');
    const appSql = postgres(app.url, { max: 1, onnotice: () => undefined });
    try {
      for (const fn of ['ops.health_check()', 'ops.health_metrics()', "ops.health_metric('connections')", "ops.health_private_metric('expired-holds')"]) {
        const error = await appSql.unsafe(`select * from ${fn}`).then(() => undefined, (e: { code?: string }) => e);
        expect(error?.code, fn).toBe('42501');
      }
    } finally {
      await appSql.end();
    }
  });
});
