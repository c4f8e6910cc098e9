import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createTestDatabase, pool } from '../helpers/database.js';
import { copyPackage, runCli } from '../helpers/cli.js';
import { LockKey } from '../../src/db/scoped.js';

/** A package copy with two new migrations; the second needs ACCESS EXCLUSIVE on booking.tenants. */
async function packageWithBlockingMigrations() {
  const pkg = await copyPackage();
  writeFileSync(join(pkg.dir, 'migrations/0902_kill_probe_table.sql'),
    '-- Up Migration\nCREATE TABLE booking.kill_probe (tenant_id uuid NOT NULL, id uuid NOT NULL, PRIMARY KEY (tenant_id, id));\n-- Down Migration\nDROP TABLE booking.kill_probe;\n');
  writeFileSync(join(pkg.dir, 'migrations/0903_kill_probe_column.sql'),
    '-- Up Migration\nALTER TABLE booking.tenants ADD COLUMN kill_probe int;\n-- Down Migration\nALTER TABLE booking.tenants DROP COLUMN kill_probe;\n');
  return pkg;
}

async function waitFor<T>(fn: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('deploy under faults and concurrency', () => {
  it('a deploy killed with SIGKILL mid-transaction leaves the database as before; the next deploy completes', async () => {
    const db = await createTestDatabase();
    const pkg = await packageWithBlockingMigrations();
    const blocker = pool(db.url, 1);
    let releaseBlocker!: () => void;
    const held = blocker.begin(async (tx) => {
      await tx`lock table booking.tenants in access share mode`;
      await new Promise<void>((r) => (releaseBlocker = r));
    });
    let pid = 0;
    const run = runCli(['deploy', '--lock-timeout', '30000', '--database-url', db.url], { bin: pkg.bin, onSpawn: (p) => (pid = p) });
    // The deploy is inside its transaction, past migration 0902, waiting for the lock of 0903.
    await waitFor(async () => {
      const rows = await db.sql`select 1 from pg_stat_activity where application_name = 'bookingdb' and wait_event_type = 'Lock' and datname = current_database()`;
      return rows.length ? true : undefined;
    });
    process.kill(pid, 'SIGKILL');
    const killed = await run;
    expect(killed.code).toBe(137);
    releaseBlocker();
    await held;
    // The orphaned backend rolls back once it notices its client is gone.
    await waitFor(async () => {
      const rows = await db.sql`select 1 from pg_stat_activity where application_name = 'bookingdb' and datname = current_database()`;
      return rows.length === 0 ? true : undefined;
    });
    expect(await db.sql`select to_regclass('booking.kill_probe') as t`).toEqual([{ t: null }]);
    expect(await db.sql`select name from ops.pgmigrations where name like '090%'`).toHaveLength(0);
    const again = await runCli(['deploy', '--json', '--database-url', db.url], { bin: pkg.bin });
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout).applied.migrations.map((m: { name: string }) => m.name)).toEqual(['0902_kill_probe_table', '0903_kill_probe_column']);
    expect(await db.sql`select count(*)::int as n from information_schema.columns where table_name = 'tenants' and column_name = 'kill_probe'`).toEqual([{ n: 1 }]);
  });

  it('gives up after lock_timeout retries, naming the blocking pid and query, and rolls back', async () => {
    const db = await createTestDatabase();
    const pkg = await packageWithBlockingMigrations();
    const blocker = pool(db.url, 1);
    let releaseBlocker!: () => void;
    let blockerPid = 0;
    const held = blocker.begin(async (tx) => {
      [{ pid: blockerPid }] = await tx`select pg_backend_pid() as pid`;
      await tx`select count(*) from booking.tenants`;
      await new Promise<void>((r) => (releaseBlocker = r));
    });
    await waitFor(async () => (blockerPid ? true : undefined));
    const r = await runCli(['deploy', '--lock-timeout', '300', '--database-url', db.url], { bin: pkg.bin });
    releaseBlocker();
    await held;
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`pid ${blockerPid}`);
    expect(r.stderr).toContain('select count(*) from booking.tenants');
    expect(r.stderr).toMatch(/rolled back/);
    expect(await db.sql`select to_regclass('booking.kill_probe') as t`).toEqual([{ t: null }]);
  });

  it('a second deploy waits for the deploy lock, then exits 5 naming the holder', async () => {
    const db = await createTestDatabase();
    const holder = pool(db.url, 1);
    let release: (() => void) | undefined;
    let holderPid = 0;
    const held = holder.reserve().then(async (conn) => {
      [{ pid: holderPid }] = await conn`select pg_backend_pid() as pid`;
      await conn`select pg_advisory_lock(${LockKey.deploy.toString()}::bigint)`;
      await new Promise<void>((r) => (release = r));
      await conn`select pg_advisory_unlock_all()`;
      conn.release();
    });
    await waitFor(async () => (holderPid && release ? true : undefined));
    const started = Date.now();
    const r = await runCli(['deploy', '--lock-wait', '1', '--database-url', db.url]);
    release?.();
    await held;
    expect(r.code).toBe(5);
    expect(r.stderr).toContain(`pid ${holderPid}`);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
  });
});
