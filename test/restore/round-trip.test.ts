import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import postgres from 'postgres';
import { describe, expect, it } from 'vitest';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { createTestDatabase, adminUrl, pool } from '../helpers/database.js';
import { runCli, scratchDir } from '../helpers/cli.js';
import { withDatabase } from '../../src/db/url.js';
import { verdictSchema } from '../../src/backup/manifest.js';
import { scratchDatabaseName } from '../../src/restore/scratch.js';
import { makeBackup } from './fixture.js';
import { restoreVerify, scratchDatabases, seed } from './helpers.js';

/** A sample of rows as one digest: the same query on source and restore must agree. */
async function sample(sql: postgres.Sql): Promise<string> {
  const [row] = await sql`
    select md5(string_agg(b::text, '|' order by b.id)) as d, count(*)::int as n
      from (select * from booking.bookings order by id limit 150) b`;
  return `${row.n}:${row.d}`;
}

// The round trip on a real server with the real pg_dump/pg_restore: a seeded clone is
// backed up (custom, directory, encrypted), restore-verify restores and checks it,
// writes verify.json and records the run in the source's ops.runs.
describe('restore-verify: round trip', async () => {
  const db = await createTestDatabase();
  await seed(db);
  const root = join(scratchDir(), 'backups');

  it('passes on a custom-format backup; the kept scratch database has the source\'s counts and rows; ops.runs and verify.json say passed', async () => {
    const b = await makeBackup(db.url, root);
    expect(b.manifest.tables['booking.bookings']).toBeGreaterThan(0);
    const r = await restoreVerify(db, root, b.id, ['--keep', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.verdict.result).toBe('passed');
    expect(doc.verdict.steps.map((s: { name: string; status: string }) => `${s.name}:${s.status}`)).toEqual([
      'manifest:ok', 'files:ok', 'toc:ok', 'restore:ok', 'counts:ok', 'verify:ok', 'booking-checks:ok', 'migrations:ok', 'amcheck:ok', 'drop:skipped']);
    // the custom file is read by pg_restore -j 2 (not streamed through one job)
    expect(doc.verdict.steps.find((s: { name: string }) => s.name === 'restore').detail).toMatchObject({ jobs: 2, format: 'custom' });
    const scratch = scratchDatabaseName(db.name, b.id);
    expect(doc.dropCommand).toBe(`DROP DATABASE ${scratch} WITH (FORCE);`);
    const restored = pool(withDatabase(adminUrl(), scratch), 1);
    // the booking data, counted again here in the source and the restore; ops.* moves on
    // in both (health counters written by the checks, the ledger), which the counts step compared
    const booking = Object.entries(b.manifest.tables).filter(([t]) => t.startsWith('booking.'));
    expect(booking.length).toBeGreaterThan(5);
    for (const [table, n] of booking) {
      const [schema, name] = table.split('.');
      const [dst] = await restored.unsafe(`select count(*)::int as c from "${schema}"."${name}"`);
      const [src] = await db.sql.unsafe(`select count(*)::int as c from "${schema}"."${name}"`);
      expect([table, dst.c, src.c]).toEqual([table, n, n]);
    }
    expect(await sample(restored)).toBe(await sample(db.sql));
    await restored.end();
    const admin = postgres(adminUrl(), { max: 1, onnotice: () => undefined });
    await admin.unsafe(doc.dropCommand);
    await admin.end();

    const verdict = verdictSchema.parse(JSON.parse(readFileSync(join(b.path, 'verify.json'), 'utf8')));
    expect([verdict.result, verdict.backupId, verdict.target]).toEqual(['passed', b.id, scratch]);
    expect(verdict.totalMs).toBeGreaterThan(0);
    const [run] = await db.sql`select status, detail from ops.runs where command = 'restore-verify' order by id desc limit 1`;
    expect(run.status).toBe('ok');
    expect(run.detail).toMatchObject({ backupId: b.id, verdict: 'passed', failedStep: null });
    expect(run.detail.totalMs).toBe(verdict.totalMs);
    // the manifest is never rewritten
    expect(JSON.parse(readFileSync(join(b.path, 'manifest.json'), 'utf8'))).toEqual(b.manifest);
  });

  it('passes on an encrypted directory-format backup (decrypted into a private directory, pg_restore -j; --overlap) and drops its scratch database', async () => {
    const identity = await generateIdentity();
    const keyFile = join(scratchDir(), 'backup.key');
    writeFileSync(keyFile, `# created: test\n# public key: ${await identityToRecipient(identity)}\n${identity}\n`, { mode: 0o600 });
    const b = await makeBackup(db.url, root, { format: 'directory', encryptTo: [await identityToRecipient(identity)] });
    expect(b.manifest.files.every((f) => f.path.startsWith('dump/') && f.path.endsWith('.age'))).toBe(true);
    const r = await restoreVerify(db, root, b.id, ['--identity-file', keyFile, '--overlap']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`backup ${b.id} passed restore-verify in [0-9.]+ s \\(the measured RTO\\)`));
    expect(await scratchDatabases(db, b.id)).toEqual([]);
  }, 120_000);

  it('passes on an encrypted custom-format backup (decrypted once into a private file, pg_restore -j 2); a wrong or missing identity fails clearly', async () => {
    const identity = await generateIdentity();
    const keyFile = join(scratchDir(), 'backup.key');
    writeFileSync(keyFile, `${identity}\n`, { mode: 0o600 });
    const encryptedCustom = await makeBackup(db.url, root, { encryptTo: [await identityToRecipient(identity)] });
    const ok = await restoreVerify(db, root, encryptedCustom.id, ['--identity-file', keyFile, '--json']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout).verdict.steps.find((s: { name: string }) => s.name === 'restore').detail).toMatchObject({ jobs: 2, format: 'custom' });

    // a key of someone else: one clear line, exit 1, nothing left behind
    const other = await generateIdentity();
    const wrongFile = join(scratchDir(), 'other.key');
    writeFileSync(wrongFile, `${other}\n`);
    const wrong = await restoreVerify(db, root, encryptedCustom.id, ['--identity-file', wrongFile]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/^error: restore-verify of backup \S+ failed at step toc: cannot decrypt \S+dump\.pgdump\.age with the identity in \S+other\.key: /m);
    expect(await scratchDatabases(db, encryptedCustom.id)).toEqual([]);
    const none = await restoreVerify(db, root, encryptedCustom.id);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('failed at step manifest: backup');
    expect(none.stderr).toContain('pass --identity-file');
  }, 120_000);
});
