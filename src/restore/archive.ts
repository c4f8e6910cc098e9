import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BackupManifest } from '../backup/manifest.js';
import type { PgTool } from '../backup/pg-tools.js';
import { BookingDbError } from '../errors.js';
import { openDecrypted, type AgeIdentities } from './age-decrypt.js';
import { runTool, tail } from './run-tool.js';

/**
 * The archive of a backup as pg_restore reads it. Custom format: the file itself (pg_restore
 * seeks in it, so -j works), or, when encrypted, its plaintext streamed into stdin (one
 * job: a pipe cannot seek). Directory format: the directory (pg_restore -j N), or, when
 * encrypted, a plaintext copy in a private temporary directory removed afterwards.
 */
export interface Archive {
  format: 'custom' | 'directory';
  /** A path for pg_restore, or null when the archive comes on stdin. */
  path: string | null;
  /** A fresh plaintext stream for stdin (custom format, encrypted). */
  open?: () => Promise<Readable>;
  /** Removes any temporary plaintext. */
  cleanup(): Promise<void>;
}

export const CUSTOM_FILE = 'dump.pgdump';
export const DIRECTORY = 'dump';

export async function openArchive(backupDir: string, m: BackupManifest, identities: AgeIdentities | undefined, signal?: AbortSignal): Promise<Archive> {
  const encrypted = m.encryption !== null;
  if (m.dump.format === 'custom') {
    const file = join(backupDir, CUSTOM_FILE + (encrypted ? '.age' : ''));
    if (!encrypted) return { format: 'custom', path: file, cleanup: async () => undefined };
    return { format: 'custom', path: null, open: () => openDecrypted(file, identities!), cleanup: async () => undefined };
  }
  if (!encrypted) return { format: 'directory', path: join(backupDir, DIRECTORY), cleanup: async () => undefined };
  const scratch = await mkdtemp(join(tmpdir(), 'bookingdb-restore-'));
  const cleanup = () => rm(scratch, { recursive: true, force: true });
  try {
    for (const f of m.files.filter((x) => x.path.startsWith(`${DIRECTORY}/`))) {
      if (signal?.aborted) throw new Error('interrupted');
      const out = join(scratch, f.path.replace(/\.age$/, ''));
      await mkdir(dirname(out), { recursive: true, mode: 0o700 });
      await pipeline(await openDecrypted(join(backupDir, f.path), identities!), createWriteStream(out, { mode: 0o600 }));
    }
  } catch (error) {
    await cleanup();
    throw error;
  }
  return { format: 'directory', path: join(scratch, DIRECTORY), cleanup };
}

/** The archive's table of contents: `pg_restore --list`; entries and TABLE DATA entries counted. */
export async function readToc(pgRestore: PgTool, archive: Archive, signal?: AbortSignal): Promise<{ entries: number; tableData: string[] }> {
  const args = ['--list', ...(archive.path ? [archive.path] : [])];
  const stdin = archive.path ? undefined : await archive.open!();
  const r = await runTool(pgRestore.path, args, { env: process.env, stdin, signal });
  if (r.code !== 0) {
    throw new BookingDbError('toc_unreadable', `pg_restore --list cannot read the archive: ${tail(r.stderr) || `exit ${r.code ?? r.signal}`}`);
  }
  const lines = r.stdout.split('\n').filter((l) => /^\d+;/.test(l));
  const tableData = lines
    .map((l) => /^\d+; \d+ \d+ TABLE DATA (\S+) (\S+) /.exec(l))
    .filter((x): x is RegExpExecArray => x !== null)
    .map((x) => `${x[1]}.${x[2]}`);
  return { entries: lines.length, tableData };
}

/** conninfo `dbname='...'`, so a database name can never be read as a connection string. */
export function dbnameArg(name: string): string {
  return `dbname='${name.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/**
 * Restores the archive into `database` with --exit-on-error (any error fails the
 * restore: a verification must not pass over a half-restored object). `env` carries
 * the connection (libpqEnv) and the restore sessions' PGOPTIONS.
 */
export async function restoreArchive(pgRestore: PgTool, archive: Archive, database: string, options: { jobs: number; env: NodeJS.ProcessEnv; clean?: boolean; signal?: AbortSignal }): Promise<{ jobs: number }> {
  const jobs = archive.path ? Math.max(1, options.jobs) : 1;
  const args = ['--exit-on-error', '--no-password', '-d', dbnameArg(database), ...(jobs > 1 ? ['-j', String(jobs)] : []), ...(options.clean ? ['--clean', '--if-exists'] : [])];
  if (archive.path) args.push(archive.path);
  const stdin = archive.path ? undefined : await archive.open!();
  const r = await runTool(pgRestore.path, args, { env: options.env, stdin, signal: options.signal });
  if (options.signal?.aborted) throw new BookingDbError('interrupted', 'interrupted while pg_restore ran');
  if (r.code !== 0) {
    throw new BookingDbError('restore_failed', `pg_restore failed: ${tail(r.stderr) || `exit ${r.code ?? r.signal}`}`);
  }
  return { jobs };
}
