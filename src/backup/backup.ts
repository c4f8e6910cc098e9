import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream';
import type { Sql } from 'postgres';
import { BookingDbError, ExitCode, usageError } from '../errors.js';
import type { ConnectionTarget } from '../db/url.js';
import { packageVersion } from '../version.js';
import { withRun } from '../runs/ledger.js';
import { MANIFEST_FILE, MANIFEST_FORMAT, manifestSchema, type BackupManifest } from './manifest.js';
import { findPgTool, type PgTool } from './pg-tools.js';
import { hashAndSyncFile, listFiles, syncDir, writeStreamHashed, type WrittenFile } from './durable.js';
import { pgDumpConnection, startPgDump } from './pg-dump.js';
import { AgeEncryptStream, parseRecipient } from './age-stream.js';
import { beginSnapshot, checkBackupRole, countRows } from './snapshot.js';
import { WRITER_FILE, createPartial, removeLeftovers, type PartialState } from './leftovers.js';
import { pruneBackups, type PruneReport } from './prune.js';
import type { KeepCounts } from './retention.js';

/**
 * `bookingdb backup`: one pg_dump in the snapshot that the row counts were taken in,
 * written atomically under `<dir>/.partial-<id>/`, fsynced, manifest last, renamed to
 * `<dir>/<id>/`; then, and only then, retention pruning. Recorded in ops.runs.
 * The core never prints: progress and log lines go to the callbacks.
 */
export interface BackupOptions {
  root: string;
  connection: ConnectionTarget;
  connectTimeoutSeconds: number;
  rolePrefix: string;
  format: 'custom' | 'directory';
  jobs: number;
  compress: string | null;
  recipients: string[];
  keep: KeepCounts;
  prune: boolean;
  timeZone: string;
  lockTimeoutMs?: number;
  countTimeoutMs?: number;
  onProgress?: (bytes: number, elapsedMs: number) => void;
  log?: (message: string) => void;
  signal?: AbortSignal;
}

export interface BackupReceipt {
  id: string;
  path: string;
  format: 'custom' | 'directory';
  encrypted: boolean;
  bytes: number;
  rows: number;
  tables: number;
  durationMs: number;
  runId: number;
  pgDump: { path: string; version: string };
  removedLeftovers: string[];
  activePartials: { name: string; reason: string }[];
  prune: PruneReport | null;
  pruneError: string | null;
}

/** `20261201T223015Z-3fa9`: the start in UTC plus a random suffix, so ids sort by time. */
export function newBackupId(at: Date): string {
  return `${at.toISOString().slice(0, 19).replace(/[-:]/g, '')}Z-${randomBytes(2).toString('hex')}`;
}

/** pg_dump before 16 takes only a level 0-9 for --compress. */
export function checkCompress(spec: string | null, tool: PgTool): void {
  if (spec === null) return;
  if (tool.major < 16 && !/^\d$/.test(spec)) {
    throw new BookingDbError('usage', `--compress ${spec}: pg_dump ${tool.version} takes only a level from 0 to 9`, {
      exitCode: ExitCode.usage, hint: 'give a level such as --compress 6, or install postgresql-client-16 or newer for gzip:N, lz4 or zstd',
    });
  }
}

function pgDumpFailed(result: { code: number | null; signal: NodeJS.Signals | null; stderr: string[] }, aborted: boolean): BookingDbError {
  const how = result.signal ? `was stopped by ${result.signal}` : `failed with exit code ${result.code}`;
  const lines = result.stderr.slice(-20);
  return new BookingDbError('pg_dump_failed', `pg_dump ${how}${aborted ? ' (bookingdb was interrupted)' : ''}${lines.length ? `:\n${lines.map((l) => `  ${l}`).join('\n')}` : ''}`, {
    hint: 'the partial backup was removed and nothing was pruned; fix the cause and run the backup again',
    details: { pgDumpStderr: lines, exitCode: result.code, signal: result.signal },
  });
}

/** A failed write of the archive (a full disk, above all) as one line naming the directory. */
function writeFailed(error: unknown, root: string): unknown {
  const e = error as NodeJS.ErrnoException;
  if (!e?.code || !e.syscall) return error;
  const what = e.code === 'ENOSPC' ? 'no space left on the device' : e.code === 'EDQUOT' ? 'disk quota exceeded' : e.message;
  return new BookingDbError('backup_write_failed', `cannot write the backup in ${root}: ${what} (${e.code})`, {
    hint: 'the partial backup was removed and nothing was pruned; free space there (or use --dir elsewhere) and run the backup again', cause: error,
  });
}

async function writeManifest(partial: string, manifest: BackupManifest): Promise<void> {
  const checked = manifestSchema.parse(manifest); // a bug here must not write a manifest restore cannot read
  const handle = await open(join(partial, MANIFEST_FILE), 'wx', 0o600);
  try {
    await handle.writeFile(`${JSON.stringify(checked, null, 2)}\n`, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
}

interface DumpResult {
  manifest: BackupManifest;
  path: string;
}

/** The dump itself: snapshot, pg_dump and counts at once, files, manifest, rename. */
async function dumpOnce(sql: Sql, tool: PgTool, options: BackupOptions): Promise<DumpResult> {
  const started = new Date();
  const id = newBackupId(started);
  const partial = await createPartial(options.root, id);
  const conn = await sql.reserve();
  let kill: (() => void) | undefined;
  try {
    const info = await beginSnapshot(conn, { lockTimeoutMs: options.lockTimeoutMs ?? 5000, countTimeoutMs: options.countTimeoutMs ?? 3_600_000 });
    const invocation = pgDumpConnection(options.connection, options.connectTimeoutSeconds);
    const common = [`--snapshot=${info.snapshot}`, `--lock-wait-timeout=${options.lockTimeoutMs ?? 5000}`, ...(options.compress !== null ? [`--compress=${options.compress}`] : [])];
    const encrypted = options.recipients.length > 0;
    const fileName = encrypted ? 'dump.pgdump.age' : 'dump.pgdump';
    const args = options.format === 'custom'
      ? ['--format=custom', ...common]
      : ['--format=directory', `--jobs=${options.jobs}`, `--file=${join(partial, 'dump')}`, ...common];
    const dump = startPgDump(tool.path, invocation, args);
    let aborted = false;
    kill = () => { if (dump.child.exitCode === null && dump.child.signalCode === null) dump.child.kill('SIGTERM'); };
    const onAbort = () => { aborted = true; kill?.(); };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    let bytes = 0;
    const t0 = Date.now();
    const timer = options.onProgress ? setInterval(() => options.onProgress!(bytes, Date.now() - t0), 1000) : undefined;
    try {
      let writing: Promise<WrittenFile[]>;
      if (options.format === 'custom') {
        let source: AsyncIterable<Uint8Array> = dump.child.stdout;
        if (encrypted) {
          // age in native crypto, a Node stream with backpressure; an error in either
          // destroys the other, and the write loop below sees it.
          const encrypt = new AgeEncryptStream(options.recipients);
          pipeline(dump.child.stdout, encrypt, () => undefined);
          source = encrypt;
        }
        writing = writeStreamHashed(join(partial, fileName), fileName, source, (n) => { bytes = n; }).then((f) => [f]);
      } else {
        dump.child.stdout.resume();
        writing = Promise.resolve([]);
      }
      const counting = countRows(conn, info.tables);
      writing.catch(() => kill?.());
      counting.catch(() => kill?.());
      const [w, d, c] = await Promise.allSettled([writing, dump.done, counting]);
      if (w.status === 'rejected') throw writeFailed(w.reason, options.root);
      if (d.status === 'rejected') throw d.reason;
      if (d.value.code !== 0) throw pgDumpFailed(d.value, aborted);
      if (c.status === 'rejected') throw c.reason;
      await conn.unsafe('COMMIT');
      let files = w.value;
      if (options.format === 'directory') {
        const names = await listFiles(join(partial, 'dump'), partial);
        files = [];
        for (const name of names) files.push(await hashAndSyncFile(partial, name));
        await syncDir(join(partial, 'dump'));
        bytes = files.reduce((s, f) => s + f.bytes, 0);
      }
      options.onProgress?.(bytes, Date.now() - t0);
      const tables = c.value;
      const manifest: BackupManifest = {
        format: MANIFEST_FORMAT, id, database: info.database, server: info.server,
        pgDump: { version: tool.version, path: tool.path }, bookingdbVersion: packageVersion(), migrations: info.migrations,
        startedAt: started.toISOString(), finishedAt: new Date().toISOString(),
        dump: { format: options.format, compress: options.compress, jobs: options.format === 'directory' ? options.jobs : 1, snapshot: info.snapshot },
        encryption: encrypted ? { format: 'age', recipients: [...options.recipients] } : null,
        files: files.sort((a, b) => (a.path < b.path ? -1 : 1)),
        bytes: files.reduce((s, f) => s + f.bytes, 0),
        tables, rows: Object.values(tables).reduce((s, n) => s + n, 0),
      };
      await unlink(join(partial, WRITER_FILE));
      await writeManifest(partial, manifest);
      await syncDir(partial);
      const final = join(options.root, id);
      await rename(partial, final);
      await syncDir(options.root);
      return { manifest, path: final };
    } finally {
      if (timer) clearInterval(timer);
      options.signal?.removeEventListener('abort', onAbort);
    }
  } catch (error) {
    kill?.();
    await conn.unsafe('ROLLBACK').catch(() => undefined);
    await rm(partial, { recursive: true, force: true }).catch(() => undefined);
    throw error;
  } finally {
    conn.release();
  }
}

/** Every recipient is a valid age X25519 public key (bech32 checksum included), before anything is written: exit 2. */
function checkRecipients(recipients: string[]): void {
  for (const r of recipients) {
    try {
      parseRecipient(r);
    } catch (error) {
      throw usageError(`"${r.slice(0, 80)}" is not a valid age public key: ${(error as Error).message}`, 'give the age1... line that `age-keygen -y KEYFILE` prints (--encrypt-to or backup.encryptTo)');
    }
  }
}

export async function runBackup(sql: Sql, options: BackupOptions): Promise<BackupReceipt> {
  const t0 = Date.now();
  checkRecipients(options.recipients);
  await mkdir(options.root, { recursive: true, mode: 0o700 });
  const leftovers = await removeLeftovers(options.root);
  for (const name of leftovers.removed) options.log?.(`removed ${name}: the leftover of a backup that did not complete`);
  const activePartials = leftovers.active.map((p: PartialState) => ({ name: p.name, reason: p.activeReason! }));
  for (const p of activePartials) options.log?.(`left ${p.name} alone: ${p.reason}`);
  const [v] = await sql`select pg_catalog.current_setting('server_version_num')::int / 10000 as major`;
  const tool = await findPgTool('pg_dump', Number(v.major));
  checkCompress(options.compress, tool);
  const probe = await sql.reserve();
  try {
    await checkBackupRole(probe, `${options.rolePrefix}_backup`);
  } finally {
    probe.release();
  }
  options.log?.(`dumping ${options.format === 'custom' ? 'a custom-format archive' : `a directory-format archive with ${options.jobs} job${options.jobs === 1 ? '' : 's'}`} with ${tool.path} (${tool.version})${options.recipients.length ? `, encrypted to ${options.recipients.length} age recipient(s)` : ''}`);
  let dumped: DumpResult | undefined;
  const { run } = await withRun(sql, 'backup', null, async (r) => {
    dumped = await dumpOnce(sql, tool, options);
    const m = dumped.manifest;
    return { id: m.id, dir: options.root, format: m.dump.format, encrypted: m.encryption !== null, bytes: m.bytes, rows: m.rows, tables: Object.keys(m.tables).length, durationMs: Date.now() - t0, runId: r.id };
  });
  const m = dumped!.manifest;
  let prune: PruneReport | null = null;
  let pruneError: string | null = null;
  if (options.prune) {
    try {
      prune = await pruneBackups(options.root, { keep: options.keep, timeZone: options.timeZone, now: new Date(), dryRun: false });
    } catch (error) {
      pruneError = (error as Error).message;
    }
  }
  return {
    id: m.id, path: dumped!.path, format: m.dump.format, encrypted: m.encryption !== null, bytes: m.bytes, rows: m.rows,
    tables: Object.keys(m.tables).length, durationMs: Date.now() - t0, runId: run.id, pgDump: { path: tool.path, version: tool.version },
    removedLeftovers: leftovers.removed, activePartials, prune, pruneError,
  };
}
