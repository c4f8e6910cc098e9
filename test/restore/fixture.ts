import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { Encrypter } from 'age-encryption';
import postgres from 'postgres';
import { MANIFEST_FILE, MANIFEST_FORMAT, manifestSchema, type BackupManifest } from '../../src/backup/manifest.js';
import { findPgTool } from '../../src/backup/pg-tools.js';
import { parseDatabaseUrl } from '../../src/db/url.js';
import { libpqEnv } from '../../src/db/libpq-env.js';
import { runTool } from '../../src/restore/run-tool.js';

/**
 * Backups for the restore tests until `bookingdb backup` lands: pg_dump of the test
 * database and a manifest written per src/backup/manifest.ts, the row counts taken in
 * the dump's own snapshot (REPEATABLE READ, pg_export_snapshot, pg_dump --snapshot),
 * optionally every file age-encrypted (checksums of the encrypted bytes).
 */
export interface FixtureOptions {
  format?: 'custom' | 'directory';
  encryptTo?: string[];
  jobs?: number;
}

function backupId(): string {
  return `${new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${randomBytes(2).toString('hex')}`;
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...await walk(p));
    else out.push(p);
  }
  return out;
}

async function encryptFile(path: string, recipients: string[]): Promise<void> {
  const e = new Encrypter();
  for (const r of recipients) e.addRecipient(r);
  const source = Readable.toWeb(createReadStream(path)) as unknown as ReadableStream<Uint8Array>;
  const encrypted = await e.encrypt(source);
  await pipeline(Readable.fromWeb(encrypted as unknown as WebReadableStream<Uint8Array>), createWriteStream(`${path}.age`));
  await rm(path);
}

async function sha256(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path)) h.update(c as Buffer);
  return h.digest('hex');
}

export async function makeBackup(url: string, root: string, options: FixtureOptions = {}): Promise<{ id: string; path: string; manifest: BackupManifest }> {
  const format = options.format ?? 'custom';
  const id = backupId();
  const partial = join(root, `.partial-${id}`);
  await mkdir(partial, { recursive: true });
  const target = parseDatabaseUrl(url);
  const pgDump = await findPgTool('pg_dump', 15);
  const sql = postgres(url, { max: 1, onnotice: () => undefined });
  const startedAt = new Date().toISOString();
  let tables: Record<string, number> = {};
  let migrations = { latest: null as string | null, count: 0 };
  let server = { version: '', versionNum: 0 };
  let snapshot = '';
  try {
    await sql.begin('isolation level repeatable read', async (tx) => {
      [{ snapshot }] = await tx`select pg_export_snapshot() as snapshot`;
      const names = await tx`
        select n.nspname || '.' || c.relname as t, n.nspname as s, c.relname as r
          from pg_class c join pg_namespace n on n.oid = c.relnamespace
         where c.relkind = 'r' and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname !~ '^pg_'
         order by 1`;
      tables = {};
      for (const n of names) {
        const [{ c }] = await tx.unsafe(`select count(*)::int as c from "${n.s}"."${n.r}"`);
        tables[n.t] = c;
      }
      const [mg] = await tx`select count(*)::int as count, (select name from ops.pgmigrations order by run_on desc, id desc limit 1) as latest from ops.pgmigrations`;
      migrations = { latest: mg.latest, count: mg.count };
      const [v] = await tx`select current_setting('server_version') as v, current_setting('server_version_num')::int as n`;
      server = { version: String(v.v).split(' ')[0], versionNum: v.n };
      const out = format === 'custom' ? join(partial, 'dump.pgdump') : join(partial, 'dump');
      const args = [`--snapshot=${snapshot}`, format === 'custom' ? '-Fc' : '-Fd', ...(format === 'directory' ? ['-j', String(options.jobs ?? 2)] : []), '-f', out, '--no-password'];
      const r = await runTool(pgDump.path, args, { env: libpqEnv(target, target.database) });
      if (r.code !== 0) throw new Error(`pg_dump failed: ${r.stderr}`);
    });
  } finally {
    await sql.end({ timeout: 5 });
  }
  let paths = await walk(partial);
  if (options.encryptTo?.length) {
    for (const p of paths) await encryptFile(p, options.encryptTo);
    paths = await walk(partial);
  }
  const files = [];
  for (const p of paths.sort()) files.push({ path: relative(partial, p), bytes: (await stat(p)).size, sha256: await sha256(p) });
  files.sort((a, b) => a.path.localeCompare(b.path));
  const manifest = manifestSchema.parse({
    format: MANIFEST_FORMAT, id, database: target.database,
    server: { ...server, systemIdentifier: null },
    pgDump: { version: pgDump.version, path: pgDump.path },
    bookingdbVersion: '0.1.0', migrations, startedAt, finishedAt: new Date().toISOString(),
    dump: { format, compress: null, jobs: format === 'directory' ? options.jobs ?? 2 : 1, snapshot },
    encryption: options.encryptTo?.length ? { format: 'age', recipients: options.encryptTo } : null,
    files, bytes: files.reduce((s, f) => s + f.bytes, 0), tables, rows: Object.values(tables).reduce((s, n) => s + n, 0),
  });
  await writeFile(join(partial, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  const path = join(root, id);
  await rename(partial, path);
  return { id, path, manifest };
}
