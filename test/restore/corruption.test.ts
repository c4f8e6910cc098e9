import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { openSync, readFileSync, readSync, closeSync, rmSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import postgres from 'postgres';
import { describe, expect, it } from 'vitest';
import { adminUrl, createTestDatabase, uniqueName } from '../helpers/database.js';
import { repoRoot, runCli, scratchDir } from '../helpers/cli.js';
import { scratchDatabaseName } from '../../src/restore/scratch.js';
import { withDatabase } from '../../src/db/url.js';
import { makeBackup } from './fixture.js';
import { copyBackup, restoreVerify, scratchDatabases, seed } from './helpers.js';

function flipByte(file: string, at: number): void {
  const fd = openSync(file, 'r+');
  const b = Buffer.alloc(1);
  readSync(fd, b, 0, 1, at);
  b[0] ^= 0xff;
  writeSync(fd, b, 0, 1, at);
  closeSync(fd);
}

// Every kind of damage is exit 1 naming the step and the file or table, and leaves no
// scratch database; so does a SIGTERM mid-restore. restore refuses a non-empty target.
describe('restore-verify: damaged backups, interruption; restore', async () => {
  const db = await createTestDatabase();
  await seed(db);
  const root = join(scratchDir(), 'backups');
  const custom = await makeBackup(db.url, root);
  const directory = await makeBackup(db.url, root, { format: 'directory' });

  async function failsNaming(copy: { root: string }, id: string, step: string, what: RegExp): Promise<void> {
    const r = await restoreVerify(db, copy.root, id);
    expect(r.code, r.stderr).toBe(1);
    const line = r.stderr.split('\n').find((l) => l.startsWith('error: '));
    expect(line).toMatch(new RegExp(`^error: restore-verify of backup ${id} failed at step ${step}: `));
    expect(line).toMatch(what);
    expect(await scratchDatabases(db, id)).toEqual([]);
  }

  it('a flipped byte, a truncated archive and a missing file each fail the files step naming the file', async () => {
    const flipped = copyBackup(custom.path, custom.id);
    flipByte(join(flipped.path, 'dump.pgdump'), Math.floor(custom.manifest.files[0].bytes / 2));
    await failsNaming(flipped, custom.id, 'files', /dump\.pgdump has SHA-256 [0-9a-f]{64}, the manifest says [0-9a-f]{64}: the file is damaged/);

    const truncated = copyBackup(custom.path, custom.id);
    truncateSync(join(truncated.path, 'dump.pgdump'), custom.manifest.files[0].bytes - 100);
    await failsNaming(truncated, custom.id, 'files', /dump\.pgdump has \d+ bytes, the manifest says \d+ \(truncated\)/);

    const missing = copyBackup(directory.path, directory.id);
    const data = directory.manifest.files.find((f) => /^dump\/\d+\.dat/.test(f.path))!;
    rmSync(join(missing.path, data.path));
    await failsNaming(missing, directory.id, 'files', new RegExp(`${data.path.replace('.', '\\.')} is missing`));
  });

  // damage the checksums cannot see (the manifest re-signed to match): pg_restore itself,
  // reading the custom file with -j 2, must refuse it, and the scratch database still goes
  function resign(copy: { path: string }, file: string): void {
    const mPath = join(copy.path, 'manifest.json');
    const m = JSON.parse(readFileSync(mPath, 'utf8'));
    const data = readFileSync(join(copy.path, file));
    const files = m.files.map((f: { path: string }) => (f.path === file ? { ...f, bytes: data.length, sha256: createHash('sha256').update(data).digest('hex') } : f));
    writeFileSync(mPath, JSON.stringify({ ...m, files, bytes: files.reduce((n: number, f: { bytes: number }) => n + f.bytes, 0) }));
  }

  it('a flipped byte or a truncation behind a re-signed manifest fails the parallel custom-format restore, and no scratch database survives', async () => {
    const flipped = copyBackup(custom.path, custom.id);
    // in the compressed data of the last TABLE DATA block (the file's middle of a small dump is
    // schema text, where a changed byte can restore without error: only the checksum sees that)
    flipByte(join(flipped.path, 'dump.pgdump'), custom.manifest.files[0].bytes - 8);
    resign(flipped, 'dump.pgdump');
    const r = await restoreVerify(db, flipped.root, custom.id, ['--json']);
    expect(r.code, r.stderr).toBe(1);
    const doc = JSON.parse(r.stdout);
    expect(doc.verdict.failedStep).toBe('restore');
    expect(doc.verdict.message).toMatch(/^pg_restore failed: /);
    expect(await scratchDatabases(db, custom.id)).toEqual([]);

    const truncated = copyBackup(custom.path, custom.id);
    truncateSync(join(truncated.path, 'dump.pgdump'), Math.floor(custom.manifest.files[0].bytes * 0.7));
    resign(truncated, 'dump.pgdump');
    const t = await restoreVerify(db, truncated.root, custom.id, ['--json']);
    expect(t.code, t.stderr).toBe(1);
    expect(JSON.parse(t.stdout).verdict.failedStep).toMatch(/^(toc|restore)$/);
    expect(await scratchDatabases(db, custom.id)).toEqual([]);
  });

  it('an edited manifest fails the manifest step naming manifest.json; counts that disagree fail the counts step naming the table', async () => {
    const edited = copyBackup(custom.path, custom.id);
    const m = JSON.parse(readFileSync(join(edited.path, 'manifest.json'), 'utf8'));
    writeFileSync(join(edited.path, 'manifest.json'), JSON.stringify({ ...m, bytes: m.bytes + 1 }));
    await failsNaming(edited, custom.id, 'manifest', /manifest\.json says \d+ bytes in all, but its files add up to \d+/);
    writeFileSync(join(edited.path, 'manifest.json'), JSON.stringify({ ...m, tables: 'none' }));
    await failsNaming(edited, custom.id, 'manifest', /manifest\.json is not a bookingdb manifest: tables: /);

    const counts = copyBackup(custom.path, custom.id);
    const n = m.tables['booking.bookings'];
    writeFileSync(join(counts.path, 'manifest.json'), JSON.stringify({ ...m, tables: { ...m.tables, 'booking.bookings': n + 1 }, rows: m.rows + 1 }));
    await failsNaming(counts, custom.id, 'counts', new RegExp(`booking\\.bookings has ${n} rows restored, the manifest says ${n + 1}`));
    const [run] = await db.sql`select status, detail from ops.runs where command = 'restore-verify' order by id desc limit 1`;
    expect(run.status).toBe('failed');
    expect(run.detail).toMatchObject({ backupId: custom.id, verdict: 'failed', failedStep: 'counts' });
    expect(JSON.parse(readFileSync(join(counts.path, 'verify.json'), 'utf8'))).toMatchObject({ result: 'failed', failedStep: 'counts' });
  });

  it('SIGTERM once the scratch database is being restored drops the scratch database and records the run as failed', async () => {
    const scratch = scratchDatabaseName(db.name, directory.id);
    const admin = postgres(adminUrl(), { max: 1, onnotice: () => undefined });
    const child = spawn(process.execPath, [join(repoRoot, 'bin/bookingdb.js'), 'restore-verify', '--dir', root, '--backup', directory.id, '--jobs', '1', '--database-url', db.url],
      { cwd: scratchDir(), env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    try {
      // wait until pg_restore (the first session in it) is writing into the scratch database
      for (let i = 0; i < 400; i++) {
        const rows = await admin`select 1 from pg_stat_activity where datname = ${scratch}`;
        if (rows.length) break;
        await new Promise((r) => setTimeout(r, 25));
      }
      child.kill('SIGTERM');
      expect(await exited).toBe(1);
    } finally {
      child.kill('SIGKILL');
    }
    expect(stderr).toMatch(/SIGTERM: stopping; dropping the scratch database/);
    expect(stderr).toMatch(/failed at step [a-z-]+: interrupted/);
    expect(await admin`select 1 from pg_database where datname = ${scratch}`).toEqual([]);
    await admin.end();
    const [run] = await db.sql`select status, detail from ops.runs where command = 'restore-verify' order by id desc limit 1`;
    expect(run.status).toBe('failed');
    expect(run.detail).toMatchObject({ backupId: directory.id, interrupted: true, verdict: 'failed' });
  });

  it('restore refuses a non-empty database, restores into a new one and says to deploy next', async () => {
    const refused = await runCli(['restore', '--dir', root, '--backup', custom.id, '--target', db.name, '--yes', '--database-url', db.url]);
    expect(refused.code).toBe(4);
    expect(refused.stderr).toMatch(new RegExp(`^error: database ${db.name} is not empty \\(\\d+ objects\\): restore refuses to write over it$`, 'm'));
    expect(refused.stderr).toContain('--force');

    const target = uniqueName('bkrestored');
    const admin = postgres(adminUrl(), { max: 1, onnotice: () => undefined });
    try {
      const ok = await runCli(['restore', '--dir', root, '--backup', custom.id, '--target', target, '--yes', '--database-url', db.url], { timeoutMs: 120_000 });
      expect(ok.code, ok.stderr).toBe(0);
      expect(ok.stdout).toContain(`restored backup ${custom.id} into new database ${target}`);
      expect(ok.stdout).toMatch(/post-deploy verification: \d+ checks ok/);
      expect(ok.stdout).toMatch(new RegExp(`bookingdb deploy --database-url 'postgres://[^']*/${target}'`));
      expect(ok.stdout + ok.stderr).not.toContain(new URL(db.url).password);
      const restored = postgres(withDatabase(adminUrl(), target), { max: 1, onnotice: () => undefined });
      const [{ n }] = await restored`select count(*)::int as n from booking.bookings`;
      await restored.end();
      expect(n).toBe(custom.manifest.tables['booking.bookings']);

      const damaged = copyBackup(custom.path, custom.id);
      flipByte(join(damaged.path, 'dump.pgdump'), 100);
      const again = await runCli(['restore', '--dir', damaged.root, '--backup', custom.id, '--target', uniqueName('bknever'), '--yes', '--database-url', db.url]);
      expect(again.code).toBe(1);
      expect(again.stderr).toMatch(/^error: backup \S+ is damaged: \S+dump\.pgdump has SHA-256/m);
    } finally {
      await admin.unsafe(`drop database if exists "${target}" with (force)`);
      await admin.end();
    }
  });
});
