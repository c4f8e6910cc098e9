import type { ReservedSql, Sql } from 'postgres';
import { quoteIdent } from '../db/ident.js';
import { BookingDbError, ExitCode } from '../errors.js';

/**
 * The scratch database restore-verify restores into: `<db>_verify_<id>`, lower case,
 * [a-z0-9_] only (so the printed DROP command needs no quoting), at most 63 bytes.
 * One run per scratch name at a time: a session advisory lock on the admin connection;
 * holding it, a scratch database that already exists is the leftover of a run that was
 * killed (kill -9) and is dropped before this run starts.
 */
export function scratchDatabaseName(database: string, backupId: string): string {
  const safe = (s: string) => s.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  const suffix = `_verify_${safe(backupId)}`;
  return `${safe(database).slice(0, 63 - suffix.length)}${suffix}`;
}

/** classid of the scratch locks ('bkrv'); objid is hashtext(name). */
const SCRATCH_LOCK_CLASS = 0x626b7276;
const DDL_TIMEOUTS = "SET lock_timeout = '5s'; SET statement_timeout = '60s'";

export async function lockScratch(admin: ReservedSql, name: string): Promise<void> {
  const [row] = await admin`select pg_catalog.pg_try_advisory_lock(${SCRATCH_LOCK_CLASS}, pg_catalog.hashtext(${name})) as ok`;
  if (!row.ok) {
    throw new BookingDbError('busy', `another restore-verify of this backup is running (it holds the lock on scratch database ${name})`, {
      exitCode: ExitCode.busy, hint: 'wait for it to finish, or verify another backup',
    });
  }
}

export async function scratchExists(admin: Sql | ReservedSql, name: string): Promise<boolean> {
  const rows = await admin`select 1 from pg_catalog.pg_database where datname = ${name}`;
  return rows.length > 0;
}

export async function createScratch(admin: ReservedSql, name: string): Promise<void> {
  await admin.unsafe(DDL_TIMEOUTS);
  await admin.unsafe(`CREATE DATABASE ${quoteIdent(name)} TEMPLATE template0`);
}

/** DROP DATABASE ... WITH (FORCE): sessions a killed pg_restore left are ended too. */
export async function dropScratch(admin: ReservedSql, name: string): Promise<void> {
  await admin.unsafe(DDL_TIMEOUTS);
  await admin.unsafe(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
}

export function dropCommand(name: string): string {
  return `DROP DATABASE ${name} WITH (FORCE);`;
}
