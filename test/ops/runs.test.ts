import { spawn } from 'node:child_process';
import { join } from 'node:path';
import postgres from 'postgres';
import { describe, expect, it } from 'vitest';
import { createTestDatabase } from '../helpers/database.js';
import { repoRoot } from '../helpers/cli.js';
import { BookingDbError } from '../../src/errors.js';
import { lastOkRun, readRuns, startRun, withRun } from '../../src/runs/ledger.js';
import { runVerification } from '../../src/deploy/verify.js';
import { createLogin } from '../domain/helpers.js';

/** Polls until fn returns true (or fails after timeoutMs). */
async function until(fn: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('the ops.runs ledger', () => {
  it('records ok, failed and skipped runs with their detail, and the newest ok run per command', async () => {
    const db = await createTestDatabase();
    const ok = await withRun(db.sql, 'maintain', 'expire-holds', async () => ({ expired: 3 }));
    expect(ok.status).toBe('ok');
    await expect(withRun(db.sql, 'maintain', 'vacuum', async () => { throw new Error('lock timeout on booking.bookings'); }))
      .rejects.toThrow('lock timeout');
    const skipped = await withRun(db.sql, 'maintain', 'refresh', async () => {
      throw new BookingDbError('skipped', 'nothing to refresh', { details: { views: 0 } });
    });
    expect(skipped.status).toBe('skipped');

    const runs = await readRuns(db.sql, { command: 'maintain' });
    expect(runs.map((r) => `${r.task}:${r.state}`)).toEqual(['refresh:skipped', 'vacuum:failed', 'expire-holds:ok']);
    expect(runs[2].detail).toEqual({ expired: 3 });
    expect(runs[1].detail).toMatchObject({ error: 'lock timeout on booking.bookings' });
    expect(runs[0].detail).toEqual({ reason: 'nothing to refresh', views: 0 });
    expect(runs.every((r) => r.finishedAt !== null && r.durationMs >= 0 && /^bookingdb .* pid \d+$/.test(r.client ?? ''))).toBe(true);
    expect((await lastOkRun(db.sql, 'maintain'))?.task).toBe('expire-holds');
    expect(await lastOkRun(db.sql, 'backup')).toBeUndefined();
    // a finished run holds no lock and no connection
    const [locks] = await db.sql`select count(*)::int as n from pg_locks where locktype = 'advisory' and classid = 1651208821`;
    expect(locks.n).toBe(0);
  });

  it('a running run is running; once its process is killed it reads as interrupted', async () => {
    const db = await createTestDatabase();
    const live = await startRun(db.sql, 'backup');
    expect((await readRuns(db.sql, { command: 'backup' }))[0].state).toBe('running');
    await live.finish('ok', { bytes: 1 });
    expect((await readRuns(db.sql, { command: 'backup' }))[0].state).toBe('ok');

    // a separate process starts a run and is killed with SIGKILL before finishing it
    const script = `
      import postgres from 'postgres';
      import { startRun } from ${JSON.stringify(join(repoRoot, 'dist/runs/ledger.js'))};
      const sql = postgres(process.argv[1], { max: 2, onnotice: () => {} });
      const run = await startRun(sql, 'restore-verify');
      process.stdout.write('started ' + run.id + '\\n');
      setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script, db.url], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    await until(async () => out.includes('started') || child.exitCode !== null);
    expect(out, err).toMatch(/started \d+/);
    expect((await readRuns(db.sql, { command: 'restore-verify' }))[0].state).toBe('running');
    child.kill('SIGKILL');
    await until(async () => (await readRuns(db.sql, { command: 'restore-verify' }))[0].state === 'interrupted');
    const [row] = await db.sql`select status, finished_at from ops.runs where command = 'restore-verify'`;
    expect(row).toEqual({ status: 'running', finished_at: null }); // the table keeps what happened
  });

  it('the monitor login can read the ledger; the app login cannot', async () => {
    const db = await createTestDatabase();
    await withRun(db.sql, 'metrics', null, async () => ({ rows: 1 }));
    const monitor = await createLogin(db, 'monitor');
    const app = await createLogin(db, 'app');
    const m = postgres(monitor.url, { max: 1, onnotice: () => undefined });
    const a = postgres(app.url, { max: 1, onnotice: () => undefined });
    try {
      expect((await readRuns(m, { command: 'metrics' }))[0].state).toBe('ok');
      await expect(a`select count(*) from ops.runs`).rejects.toMatchObject({ code: '42501' });
      await expect(a`insert into ops.runs (command) values ('maintain')`).rejects.toMatchObject({ code: '42501' });
    } finally {
      await Promise.all([m.end(), a.end()]);
    }
  });

  it('deploy creates bookingdb_ops (NOLOGIN, BYPASSRLS); verification fails when it gets a member', async () => {
    const db = await createTestDatabase();
    const [ops] = await db.sql`select rolcanlogin, rolbypassrls, rolsuper from pg_roles where rolname = 'bookingdb_ops'`;
    expect(ops).toEqual({ rolcanlogin: false, rolbypassrls: true, rolsuper: false });
    expect((await runVerification(db.sql, 'bookingdb')).find((r) => r.check === 'ops-role')?.status).toBe('ok');
    await db.sql.unsafe('grant bookingdb_ops to bookingdb_owner');
    try {
      const check = (await runVerification(db.sql, 'bookingdb')).find((r) => r.check === 'ops-role');
      expect(check?.violations).toEqual(['bookingdb_owner is a member of bookingdb_ops (REVOKE bookingdb_ops FROM bookingdb_owner)']);
    } finally {
      await db.sql.unsafe('revoke bookingdb_ops from bookingdb_owner');
    }
  });
});
