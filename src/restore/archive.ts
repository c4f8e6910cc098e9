import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { BackupManifest } from '../backup/manifest.js';
import type { PgTool } from '../backup/pg-tools.js';
import { BookingDbError } from '../errors.js';
import { openDecrypted, type AgeIdentities } from './age-decrypt.js';
import { runTool, tail } from './run-tool.js';

/**
 * The archive of a backup as pg_restore reads it: the custom-format file or the directory
 * itself, so pg_restore -j N works (it seeks in the custom file; a pipe could take one job
 * only). Encrypted: a plaintext copy, decrypted once, in a private temporary directory
 * (0700, files 0600) removed afterwards, which needs the archive's size in free space
 * under the temporary directory (TMPDIR).
 */
export interface Archive {
  format: 'custom' | 'directory';
  /** The file or directory pg_restore reads. */
  path: string;
  /** Removes any temporary plaintext. */
  cleanup(): Promise<void>;
}

export const CUSTOM_FILE = 'dump.pgdump';
export const DIRECTORY = 'dump';

export async function openArchive(backupDir: string, m: BackupManifest, identities: AgeIdentities | undefined, signal?: AbortSignal): Promise<Archive> {
  const encrypted = m.encryption !== null;
  if (!encrypted) return { format: m.dump.format, path: join(backupDir, m.dump.format === 'custom' ? CUSTOM_FILE : DIRECTORY), cleanup: async () => undefined };
  const scratch = await mkdtemp(join(tmpdir(), 'bookingdb-restore-'));
  const cleanup = () => rm(scratch, { recursive: true, force: true });
  const prefix = m.dump.format === 'custom' ? CUSTOM_FILE : `${DIRECTORY}/`;
  try {
    for (const f of m.files.filter((x) => x.path.startsWith(prefix))) {
      if (signal?.aborted) throw new Error('interrupted');
      const out = join(scratch, f.path.replace(/\.age$/, ''));
      await mkdir(dirname(out), { recursive: true, mode: 0o700 });
      await pipeline(await openDecrypted(join(backupDir, f.path), identities!), createWriteStream(out, { mode: 0o600 }));
    }
  } catch (error) {
    await cleanup();
    throw error;
  }
  return { format: m.dump.format, path: join(scratch, m.dump.format === 'custom' ? CUSTOM_FILE : DIRECTORY), cleanup };
}

/** The archive's table of contents: `pg_restore --list`; entries and TABLE DATA entries counted. */
export async function readToc(pgRestore: PgTool, archive: Archive, signal?: AbortSignal): Promise<{ entries: number; tableData: string[] }> {
  const r = await runTool(pgRestore.path, ['--list', archive.path], { env: process.env, signal });
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
  const jobs = Math.max(1, options.jobs);
  const args = ['--exit-on-error', '--no-password', '-d', dbnameArg(database), ...(jobs > 1 ? ['-j', String(jobs)] : []), ...(options.clean ? ['--clean', '--if-exists'] : [])];
  args.push(archive.path);
  const r = await runTool(pgRestore.path, args, { env: options.env, signal: options.signal });
  if (options.signal?.aborted) throw new BookingDbError('interrupted', 'interrupted while pg_restore ran');
  if (r.code !== 0) {
    throw new BookingDbError('restore_failed', `pg_restore failed: ${tail(r.stderr) || `exit ${r.code ?? r.signal}`}`);
  }
  return { jobs };
}
