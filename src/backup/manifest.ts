import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';

/**
 * The on-disk contract of a bookingdb backup (DESIGN.md "Backups on disk"), shared by
 * `backup`, `backup list|prune`, `restore-verify` and `restore`. Field names are a
 * contract once released: scripts key on them.
 *
 * Layout under the backup directory (`--dir`, config `backup.dir`, default ./backups):
 *
 *   <dir>/<id>/dump.pgdump        custom format (`dump.pgdump.age` when encrypted)
 *   <dir>/<id>/dump/...           directory format (pg_dump -Fd): toc.dat and the data files
 *   <dir>/<id>/manifest.json      written last: a backup without it is incomplete
 *   <dir>/<id>/verify.json        the newest restore-verify verdict (atomically replaced;
 *                                 the manifest itself is never rewritten)
 *   <dir>/.partial-<id>/          a backup being written (or a leftover of one that died)
 *
 * The id is the backup's start time in UTC plus a random suffix, so ids sort by time:
 * `20261201T223015Z-3fa9`.
 */
export const MANIFEST_FILE = 'manifest.json';
export const VERIFY_FILE = 'verify.json';
export const PARTIAL_PREFIX = '.partial-';
export const MANIFEST_FORMAT = 'bookingdb-backup/1';
export const BACKUP_ID = /^\d{8}T\d{6}Z-[0-9a-f]{4}$/;

const sha256 = z.string().regex(/^[0-9a-f]{64}$/);
const isoTime = z.string().datetime({ offset: true });

export const manifestSchema = z.strictObject({
  format: z.literal(MANIFEST_FORMAT),
  id: z.string().regex(BACKUP_ID),
  /** Name of the source database. */
  database: z.string().min(1),
  server: z.strictObject({
    /** server_version, e.g. "15.18". */
    version: z.string(),
    /** server_version_num, e.g. 150018. */
    versionNum: z.number().int(),
    /** system_identifier of the source cluster (pg_control_system()), or null if not readable. */
    systemIdentifier: z.string().nullable(),
  }),
  pgDump: z.strictObject({
    /** `pg_dump --version`'s number, e.g. "15.18". */
    version: z.string(),
    path: z.string(),
  }),
  bookingdbVersion: z.string(),
  migrations: z.strictObject({
    /** Name of the newest applied migration in ops.pgmigrations (e.g. "0009_health_counters"), or null. */
    latest: z.string().nullable(),
    count: z.number().int().min(0),
  }),
  startedAt: isoTime,
  finishedAt: isoTime,
  dump: z.strictObject({
    format: z.enum(['custom', 'directory']),
    /** pg_dump --compress SPEC as given (e.g. "zstd:3", "gzip:6", "0"), or null for pg_dump's default. */
    compress: z.string().nullable(),
    jobs: z.number().int().min(1),
    /** The exported snapshot the dump and the row counts were both taken in. */
    snapshot: z.string(),
  }),
  /** null: not encrypted. Otherwise every file is an age file to these recipients. */
  encryption: z.strictObject({
    format: z.literal('age'),
    recipients: z.array(z.string()).min(1),
  }).nullable(),
  /** Every file of the backup except manifest.json and verify.json, paths relative to the backup directory, sorted. */
  files: z.array(z.strictObject({
    path: z.string().min(1),
    bytes: z.number().int().min(0),
    /** SHA-256 of the bytes on disk (of the encrypted file when encrypted). */
    sha256,
  })).min(1),
  /** Sum of files[].bytes. */
  bytes: z.number().int().min(0),
  /** Exact row count per table ("schema.table"), counted in the dump's snapshot. */
  tables: z.record(z.string(), z.number().int().min(0)),
  /** Sum of tables. */
  rows: z.number().int().min(0),
});

export type BackupManifest = z.infer<typeof manifestSchema>;

export const verdictSchema = z.strictObject({
  backupId: z.string().regex(BACKUP_ID),
  verifiedAt: isoTime,
  result: z.enum(['passed', 'failed']),
  /** The step that failed and what it found (file or table named), when failed. */
  failedStep: z.string().nullable(),
  message: z.string().nullable(),
  /** Each step with its duration. */
  steps: z.array(z.strictObject({
    name: z.string(),
    status: z.enum(['ok', 'failed', 'skipped']),
    durationMs: z.number().min(0),
    detail: z.record(z.string(), z.unknown()).optional(),
  })),
  /** Whole verification, the measured RTO of this backup. */
  totalMs: z.number().min(0),
  /** Where it was restored (database name; never a URL with a password). */
  target: z.string(),
});

export type VerifyVerdict = z.infer<typeof verdictSchema>;

export interface BackupEntry {
  id: string;
  /** Absolute path of the backup's directory. */
  path: string;
  manifest: BackupManifest;
  /** The newest verdict, or null when never verified (or verify.json unreadable). */
  verdict: VerifyVerdict | null;
}

/** Reads and validates <backupDir>/manifest.json; throws with the file and the bad key named. */
export async function readManifest(backupDir: string): Promise<BackupManifest> {
  const file = join(backupDir, MANIFEST_FILE);
  const text = await readFile(file, 'utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`${file} is not valid JSON: ${(error as Error).message}`);
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${file} is not a bookingdb manifest: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return parsed.data;
}

export async function readVerdict(backupDir: string): Promise<VerifyVerdict | null> {
  try {
    const parsed = verdictSchema.safeParse(JSON.parse(await readFile(join(backupDir, VERIFY_FILE), 'utf8')));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/**
 * The complete backups under root, oldest first: directories named like a backup id
 * that hold a valid manifest.json. Partial directories and anything else are ignored
 * here (see listPartials); an unreadable manifest is returned in `invalid`.
 */
export async function listBackups(root: string): Promise<{ backups: BackupEntry[]; invalid: { id: string; path: string; error: string }[] }> {
  let names: string[];
  try {
    names = await readdir(root);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { backups: [], invalid: [] };
    throw error;
  }
  const backups: BackupEntry[] = [];
  const invalid: { id: string; path: string; error: string }[] = [];
  for (const id of names.filter((n) => BACKUP_ID.test(n)).sort()) {
    const path = join(root, id);
    try {
      const manifest = await readManifest(path);
      if (manifest.id !== id) throw new Error(`${join(path, MANIFEST_FILE)} names backup ${manifest.id}, not ${id}`);
      backups.push({ id, path, manifest, verdict: await readVerdict(path) });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        invalid.push({ id, path, error: `${join(path, MANIFEST_FILE)} is missing: the backup is incomplete` });
      } else {
        invalid.push({ id, path, error: (error as Error).message });
      }
    }
  }
  return { backups, invalid };
}

/** Leftover directories of backups that never completed (`.partial-<id>`). */
export async function listPartials(root: string): Promise<string[]> {
  try {
    return (await readdir(root)).filter((n) => n.startsWith(PARTIAL_PREFIX)).sort().map((n) => join(root, n));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** A backup by id, or the newest with "latest"; undefined when there is none. */
export async function findBackup(root: string, idOrLatest: string): Promise<BackupEntry | undefined> {
  const { backups } = await listBackups(root);
  if (idOrLatest === 'latest') return backups.at(-1);
  return backups.find((b) => b.id === idOrLatest);
}
