import { describe, expect, it } from 'vitest';
import { createTestDatabase } from '../helpers/database.js';
import { runCli } from '../helpers/cli.js';
import { createLogin, createTenant } from '../domain/helpers.js';
import { readRuns } from '../../src/runs/ledger.js';
import { STORE_LOCK_KEY, storeSnapshot } from '../../src/metrics/store.js';
import { collectOptions } from './helpers.js';

describe('bookingdb metrics (CLI)', () => {
  it('--store --json records a snapshot and an ok run; a monitor login prints Prometheus text; bad flags are exit 2', async () => {
    const db = await createTestDatabase();
    const t = await createTenant(db.sql, { resources: 1 });
    const stored = await runCli(['metrics', '--store', '--json', '--database-url', db.url]);
    expect(stored.code, stored.stderr).toBe(0);
    const doc = JSON.parse(stored.stdout);
    expect(doc).toMatchObject({ ok: true, stored: { status: 'ok' } });
    expect(doc.snapshot.bookings.tenants.map((x: { slug: string }) => x.slug)).toEqual([t.slug]);
    const [row] = await db.sql`select id, run_id from ops.metric_snapshots`;
    expect([Number(row.id), Number(row.run_id)]).toEqual([doc.stored.snapshotId, doc.stored.runId]);

    const monitor = await createLogin(db, 'monitor');
    const prom = await runCli(['metrics', '--format', 'prometheus', '--tenant-labels', 'none', '--database-url', monitor.url]);
    expect(prom.code, prom.stderr).toBe(0);
    expect(prom.stdout).toMatch(/^# TYPE bookingdb_bookings_created_total counter$/m);
    expect(prom.stdout).toMatch(/^bookingdb_bookings_created_total 0$/m);
    expect(prom.stdout + prom.stderr).not.toContain(monitor.password);

    const table = await runCli(['metrics', '--database-url', monitor.url]);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toContain(`since snapshot ${doc.stored.snapshotId}`);
    expect(table.stdout).toMatch(/bookingdb_holds_pending\s*│\s*tenant=t-/);

    expect((await runCli(['metrics', '--format', 'xml', '--database-url', monitor.url])).code).toBe(2);
    const bad = await runCli(['metrics', '--tenant-labels', 'top:0', '--database-url', monitor.url]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('none, all or top:N');
  });

  it('an overlapping --store is recorded as skipped (it would count the same window twice)', async () => {
    const db = await createTestDatabase();
    const holder = await db.sql.reserve();
    try {
      await holder`select pg_advisory_lock(${STORE_LOCK_KEY.toString()}::bigint)`;
      const result = await storeSnapshot(db.sql, collectOptions());
      expect(result.status).toBe('skipped');
      const cli = await runCli(['metrics', '--store', '--database-url', db.url]);
      expect(cli.code).toBe(5);
      expect(cli.stderr).toContain('recorded as skipped');
    } finally {
      await holder`select pg_advisory_unlock_all()`;
      holder.release();
    }
    const runs = await readRuns(db.sql, { command: 'metrics' });
    expect(runs.map((r) => r.state)).toEqual(['skipped', 'skipped']);
    const [n] = await db.sql`select count(*)::int as n from ops.metric_snapshots`;
    expect(n.n).toBe(0);
  });
});
