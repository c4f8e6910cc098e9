import type { ReservedSql, Sql } from 'postgres';
import { readManifest, type BackupManifest } from '../backup/manifest.js';
import { findPgTool } from '../backup/pg-tools.js';
import { connect } from '../db/connect.js';
import { quoteIdent } from '../db/ident.js';
import { formatDatabaseUrl, type ConnectionTarget } from '../db/url.js';
import { ensureDatabasePrivileges } from '../deploy/database-privileges.js';
import { runVerification, type VerifyResult } from '../deploy/verify.js';
import { BookingDbError, preconditionError } from '../errors.js';
import type { AgeIdentities } from './age-decrypt.js';
import { openArchive, restoreArchive } from './archive.js';
import { checkFiles, checkManifestConsistency } from './files.js';
import { libpqEnv } from '../db/libpq-env.js';
import { resolveBackup } from './locate.js';
import { restoreOptions } from './verify.js';

/**
 * restore (issue 9): a backup into a new (or empty) database on the server of the usual
 * connection. Checksums first (a damaged backup is refused before anything is created),
 * a non-empty target is refused unless `force` (then pg_restore --clean --if-exists),
 * the caller confirms (the CLI asks on a TTY), and the post-deploy verification runs on
 * the result. The next step is `deploy`, which brings the database to the current
 * migrations and re-asserts roles and grants.
 */
export interface RestoreOptions {
  dir: string;
  backup: string;
  target: string;
  force: boolean;
  server: ConnectionTarget;
  identities?: AgeIdentities;
  rolePrefix: string;
  jobs: number;
  maintenanceWorkMem: string;
  maxParallelMaintenanceWorkers: number;
  connectTimeoutSeconds: number;
  /** Asked after the checks, before anything is written; false aborts. */
  confirm?: (plan: RestorePlan) => Promise<boolean>;
  signal?: AbortSignal;
}

export interface RestorePlan {
  backupId: string;
  target: string;
  exists: boolean;
  objects: number;
  manifest: BackupManifest;
}

export interface RestoreResult {
  backupId: string;
  target: string;
  created: boolean;
  cleaned: boolean;
  durationMs: number;
  verification: VerifyResult[];
  /** The deploy command to run next (URL redacted). */
  next: string;
}

/** Objects a database holds beyond a fresh CREATE DATABASE (relations, functions, types, non-default schemas and extensions). */
async function countObjects(sql: Sql): Promise<number> {
  const [row] = await sql`
    with ns as (select oid from pg_catalog.pg_namespace
                 where nspname not in ('pg_catalog', 'information_schema', 'pg_toast') and nspname !~ '^pg_(toast_)?temp_')
    select (select count(*) from pg_catalog.pg_class where relnamespace in (select oid from ns))
         + (select count(*) from pg_catalog.pg_proc where pronamespace in (select oid from ns))
         + (select count(*) from pg_catalog.pg_type t where typnamespace in (select oid from ns) and t.typrelid = 0 and t.typelem = 0)
         + (select count(*) from pg_catalog.pg_namespace where oid in (select oid from ns) and nspname <> 'public')
         + (select count(*) from pg_catalog.pg_extension where extname <> 'plpgsql') as n`;
  return Number(row.n);
}

export async function restoreBackup(o: RestoreOptions): Promise<RestoreResult> {
  const started = performance.now();
  const located = await resolveBackup(o.dir, o.backup);
  const m = await readManifest(located.path).catch((error: NodeJS.ErrnoException) => {
    throw new BookingDbError('manifest_invalid', error.code === 'ENOENT' ? `${located.path}/manifest.json is missing: the backup is incomplete` : error.message, { hint: 'restore another backup (`bookingdb backup list`)' });
  });
  const problem = checkManifestConsistency(located.path, located.id, m) ?? (await checkFiles(located.path, m)).problem;
  if (problem) throw new BookingDbError('backup_damaged', `backup ${located.id} is damaged: ${problem.message}`, { hint: 'nothing was restored; restore another backup (`bookingdb backup list`)', details: { file: problem.file } });
  if (m.encryption && !o.identities) throw new BookingDbError('identity_missing', `backup ${located.id} is encrypted: pass --identity-file with the key of one of ${m.encryption.recipients.join(', ')}`, { exitCode: 2 });

  const admin = await connect(o.server, { connectTimeoutSeconds: o.connectTimeoutSeconds, max: 1 });
  let conn: ReservedSql | undefined;
  try {
    const [v] = await admin`select pg_catalog.current_setting('server_version_num')::int as n,
      exists (select 1 from pg_catalog.pg_database where datname = ${o.target}) as exists`;
    const pgRestore = await findPgTool('pg_restore', Math.max(Math.floor(v.n / 10000), Number(m.pgDump.version.split('.')[0])));
    const targetConn = { ...o.server, database: o.target };
    let objects = 0;
    if (v.exists) {
      const t = await connect(targetConn, { connectTimeoutSeconds: o.connectTimeoutSeconds, max: 1 });
      try { objects = await countObjects(t); } finally { await t.end({ timeout: 5 }); }
      if (objects > 0 && !o.force) {
        throw preconditionError('target_not_empty', `database ${o.target} is not empty (${objects} objects): restore refuses to write over it`, 'restore into a new database name, or pass --force to drop and replace the objects the backup holds (pg_restore --clean)');
      }
    }
    if (o.confirm && !(await o.confirm({ backupId: located.id, target: o.target, exists: v.exists, objects, manifest: m }))) {
      throw new BookingDbError('aborted', 'restore aborted at the prompt: nothing was changed', { hint: 'run again and confirm, or pass --yes' });
    }
    if (!v.exists) {
      conn = await admin.reserve();
      await conn.unsafe("SET lock_timeout = '5s'; SET statement_timeout = '60s'");
      await conn.unsafe(`CREATE DATABASE ${quoteIdent(o.target)} TEMPLATE template0`);
    }
    const archive = await openArchive(located.path, m, o.identities, o.signal);
    try {
      const env = libpqEnv(o.server, o.target, restoreOptions(o.maintenanceWorkMem, o.maxParallelMaintenanceWorkers).replace(' -c synchronous_commit=off', ''));
      await restoreArchive(pgRestore, archive, o.target, { jobs: o.jobs, env, clean: objects > 0, signal: o.signal });
    } finally {
      await archive.cleanup();
    }
    const t = await connect(targetConn, { connectTimeoutSeconds: o.connectTimeoutSeconds, max: 1 });
    let verification: VerifyResult[];
    try {
      const r = await t.reserve();
      try { await ensureDatabasePrivileges(r, o.rolePrefix); } finally { r.release(); }
      verification = await runVerification(t, o.rolePrefix);
    } finally {
      await t.end({ timeout: 5 });
    }
    return {
      backupId: located.id, target: o.target, created: !v.exists, cleaned: objects > 0,
      durationMs: Math.round(performance.now() - started), verification,
      next: `bookingdb deploy --database-url '${formatDatabaseUrl(targetConn, { redact: true })}'`,
    };
  } finally {
    conn?.release();
    await admin.end({ timeout: 5 });
  }
}
