import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../helpers/database.js';
import { runCli, scratchDir } from '../helpers/cli.js';
import { appPool, at, bookingApi, createLogin, createTenant, futureDate } from '../domain/helpers.js';
import { listBackups, manifestSchema, readManifest } from '../../src/backup/manifest.js';
import { countTables, entries, onlyManifest, pgRestorePath, run } from './helpers.js';

// `bookingdb backup` against a real server with the real pg_dump: a complete backup
// whose manifest validates and whose counts equal the source, the backup role, the
// directory format, and a pg_dump failure that removes the partial and prunes nothing.
const db = await createTestDatabase();
const cwd = scratchDir();
const url = ['--database-url', db.url];

beforeAll(async () => {
  const { sql: app } = await appPool(db, 2);
  const fx = await createTenant(db.sql, { resources: 2, customers: 4 });
  const api = bookingApi(app, fx.tenantId);
  const day = futureDate(5);
  for (const [i, t] of ['09:00', '10:00', '11:00'].entries()) {
    await api.book({ service: fx.services.cut, resource: fx.resources[i % 2], customer: fx.customers[i], start: at(day, t, '+05:30') });
  }
});

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

// several CLI backups per test: generous on a loaded machine (each is well under a second on a quiet one)
describe('bookingdb backup', { timeout: 180_000 }, () => {
  it('writes a complete backup: valid manifest, checksums of the files on disk, counts equal to the source, recorded in ops.runs', async () => {
    const dir = join(cwd, 'complete');
    const res = await runCli(['backup', ...url, '--dir', dir, '--json'], { cwd });
    expect(res.code, res.stderr).toBe(0);
    const receipt = JSON.parse(res.stdout);
    expect(receipt).toMatchObject({ ok: true, format: 'custom', encrypted: false, removedLeftovers: [] });
    expect(entries(dir)).toEqual([receipt.id]);
    expect(entries(join(dir, receipt.id))).toEqual(['dump.pgdump', 'manifest.json']);
    const m = await readManifest(join(dir, receipt.id));
    expect(manifestSchema.safeParse(m).success).toBe(true);
    expect(m).toMatchObject({ id: receipt.id, database: db.name, bytes: receipt.bytes, rows: receipt.rows, encryption: null });
    expect(m.files).toEqual([{ path: 'dump.pgdump', bytes: receipt.bytes, sha256: sha256(join(dir, receipt.id, 'dump.pgdump')) }]);
    expect(m.migrations.count).toBeGreaterThan(5);
    expect(m.tables['booking.bookings']).toBe(3);
    expect(Object.keys(m.tables)).toEqual(expect.arrayContaining(['booking.tenants', 'booking.booking_allocations', 'ops.pgmigrations', 'ops.runs']));
    expect(await countTables(db.sql, Object.keys(m.tables))).toEqual(m.tables);
    expect(m.rows).toBe(Object.values(m.tables).reduce((a, b) => a + b, 0));
    // the archive is one pg_restore reads
    const { stdout: toc } = await run(await pgRestorePath(db.sql), ['--list', join(dir, receipt.id, 'dump.pgdump')]);
    expect(toc).toMatch(/TABLE DATA booking bookings/);
    const [r] = await db.sql`select status, detail from ops.runs where id = ${receipt.runId} and command = 'backup'`;
    expect(r.status).toBe('ok');
    expect(r.detail).toMatchObject({ id: receipt.id, bytes: receipt.bytes, rows: receipt.rows });
    expect(Number(r.detail.durationMs)).toBeGreaterThan(0);
    // backup list shows it complete, with size, rows and "never" verified
    const list = await runCli(['backup', 'list', '--dir', dir], { cwd });
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`${receipt.id}.*complete.*custom.*no.*never`));
    // a directory named like a backup without a manifest, or with a broken one, is never shown as complete
    mkdirSync(join(dir, '20200101T000000Z-0000'));
    mkdirSync(join(dir, '20200102T000000Z-0000'));
    writeFileSync(join(dir, '20200102T000000Z-0000', 'manifest.json'), '{"format": "bookingdb-backup/1"');
    const listed = await runCli(['backup', 'list', '--dir', dir, '--json'], { cwd });
    expect(JSON.parse(listed.stdout).backups.map((b: { id: string; state: string }) => `${b.id}:${b.state}`))
      .toEqual(['20200101T000000Z-0000:invalid', '20200102T000000Z-0000:invalid', `${receipt.id}:complete`]);
    const text = await runCli(['backup', 'list', '--dir', dir], { cwd });
    expect(text.stdout).toMatch(/20200101T000000Z-0000.*invalid: .*manifest\.json is missing/);
  });

  it('a LOGIN member of bookingdb_backup backs up every tenant and records its run; an app login is exit 4 and writes nothing', async () => {
    const backup = await createLogin(db, 'backup');
    const dir = join(cwd, 'as-backup-role');
    const res = await runCli(['backup', '--database-url', backup.url, '--dir', dir, '--json'], { cwd });
    expect(res.code, res.stderr).toBe(0);
    const receipt = JSON.parse(res.stdout);
    const m = await onlyManifest(dir);
    expect(m.tables['booking.bookings']).toBe(3);
    expect(m.tables['booking.tenants']).toBeGreaterThan(0);
    const [r] = await db.sql`select status from ops.runs where id = ${receipt.runId}`;
    expect(r.status).toBe('ok');
    expect(res.stderr + res.stdout).not.toContain(backup.password);

    const app = await createLogin(db, 'app');
    const denied = await runCli(['backup', '--database-url', app.url, '--dir', join(cwd, 'as-app')], { cwd });
    expect(denied.code, denied.stderr).toBe(4);
    expect(denied.stderr).toContain('cannot back up every tenant');
    expect(denied.stderr).toContain('roles create backup');
    expect(entries(join(cwd, 'as-app'))).toEqual([]);
  });

  it('--format directory --jobs 2: every file of pg_dump -Fd hashed in the manifest, readable by pg_restore', async () => {
    const dir = join(cwd, 'directory');
    const res = await runCli(['backup', ...url, '--dir', dir, '--format', 'directory', '--jobs', '2', '--json'], { cwd });
    expect(res.code, res.stderr).toBe(0);
    const m = await onlyManifest(dir);
    expect(m.dump).toMatchObject({ format: 'directory', jobs: 2 });
    expect(m.files.map((f) => f.path)).toContain('dump/toc.dat');
    for (const f of m.files) expect(sha256(join(dir, m.id, f.path))).toBe(f.sha256);
    expect(m.bytes).toBe(m.files.reduce((s, f) => s + f.bytes, 0));
    const { stdout } = await run(await pgRestorePath(db.sql), ['--list', join(dir, m.id, 'dump')]);
    expect(stdout).toMatch(/TABLE DATA booking bookings/);
  });

  it('bad flags are exit 2 before anything is written', async () => {
    const dir = join(cwd, 'usage');
    const cases: [string[], string][] = [
      [['--format', 'directory', '--encrypt-to', 'age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq'], 'use --format custom'],
      [['--encrypt-to', 'not-a-key'], 'is not an age public key'],
      [['--jobs', '4'], '--jobs needs --format directory'],
      [['--format', 'tar'], '--format must be custom or directory'],
      [['--keep-daily', 'x'], '--keep-daily must be'],
    ];
    for (const [args, text] of cases) {
      const res = await runCli(['backup', ...url, '--dir', dir, ...args], { cwd });
      expect(res.code, `${args.join(' ')}: ${res.stderr}`).toBe(2);
      expect(res.stderr).toContain(text);
    }
    expect(entries(dir)).toEqual([]);
  });

  it("pg_dump failing is exit 1 with pg_dump's own message, the partial removed and nothing pruned; the next success prunes but keeps the newest verified", async () => {
    const dir = join(cwd, 'prune');
    const keep = ['--keep-daily', '1', '--keep-weekly', '0', '--keep-monthly', '0'];
    const first = await runCli(['backup', ...url, '--dir', dir, '--no-prune', '--json'], { cwd });
    expect(first.code, first.stderr).toBe(0);
    // two older complete backups: copies of it, one and two hours earlier, under their own ids
    const original = JSON.parse(first.stdout).id as string;
    for (const hours of [1, 2]) {
      const m = await readManifest(join(dir, original));
      const startedAt = new Date(Date.parse(m.startedAt) - hours * 3_600_000);
      const id = `${startedAt.toISOString().slice(0, 19).replace(/[-:]/g, '')}Z-000${hours}`;
      cpSync(join(dir, original), join(dir, id), { recursive: true });
      writeFileSync(join(dir, id, 'manifest.json'), JSON.stringify({ ...m, id, startedAt: startedAt.toISOString(), finishedAt: startedAt.toISOString() }));
    }
    const before = (await listBackups(dir)).backups.map((b) => b.id);
    expect(before).toHaveLength(3);
    // the oldest passed restore-verify
    writeFileSync(join(dir, before[0], 'verify.json'), JSON.stringify({
      backupId: before[0], verifiedAt: new Date().toISOString(), result: 'passed', failedStep: null, message: null, steps: [], totalMs: 1000, target: 'scratch',
    }));
    // DDL holds the partitioned parent of the audit log: pg_dump's own lock on it times out
    writeFileSync(join(cwd, 'short-locks.json'), JSON.stringify({ lockTimeoutMs: 300 }));
    const holder = await db.sql.reserve();
    try {
      await holder`begin`;
      await holder`lock table only ops.audit_log in access exclusive mode`;
      const res = await runCli(['backup', ...url, '--dir', dir, ...keep, '--config', join(cwd, 'short-locks.json')], { cwd });
      expect(res.code, res.stderr).toBe(1);
      expect(res.stderr).toMatch(/error: pg_dump failed with exit code 1:\n {2}pg_dump: error: query failed: .*canceling statement due to statement timeout/);
      expect(res.stderr).toContain('LOCK TABLE ops.audit_log IN ACCESS SHARE MODE');
      expect(res.stderr).toContain('nothing was pruned');
    } finally {
      await holder`rollback`;
      holder.release();
    }
    expect(entries(dir)).toEqual(before); // no partial, nothing pruned
    const [failed] = await db.sql`select status, detail from ops.runs where command = 'backup' order by id desc limit 1`;
    expect(failed.status).toBe('failed');
    expect(String(failed.detail.error)).toContain('pg_dump failed');

    const ok = await runCli(['backup', ...url, '--dir', dir, ...keep, '--json'], { cwd });
    expect(ok.code, ok.stderr).toBe(0);
    const receipt = JSON.parse(ok.stdout);
    expect(receipt.prune.deleted.sort()).toEqual([before[1], before[2]]);
    expect(entries(dir)).toEqual([before[0], receipt.id]);
    const reasons = Object.fromEntries(receipt.prune.decisions.map((d: { id: string; reasons: string[] }) => [d.id, d.reasons]));
    expect(reasons[before[0]]).toEqual(['newest backup that passed restore-verify']);
    expect(reasons[receipt.id]).toContain('newest backup');

    // prune --dry-run says why each is kept and deletes nothing
    const dry = await runCli(['backup', 'prune', '--dir', dir, '--keep-daily', '0', '--keep-weekly', '0', '--keep-monthly', '0', '--dry-run'], { cwd });
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(new RegExp(`${before[0]}.*keep.*newest backup that passed restore-verify`));
    expect(dry.stdout).toContain('dry run: 0 would be deleted, nothing changed');
  });
});
