import type { ReservedSql } from 'postgres';
import { BookingDbError, ExitCode } from '../errors.js';
import { quoteIdent } from '../db/ident.js';
import { readMigrationLedger } from '../migrate/ledger.js';

/**
 * The backup's own transaction: REPEATABLE READ, READ ONLY, with an exported snapshot
 * that pg_dump imports (--snapshot), so the row counts taken here and the rows in the
 * archive are the same rows. The transaction stays open until pg_dump has finished.
 *
 * Under live traffic: the tables pg_dump will read are locked ACCESS SHARE up front
 * (what pg_dump itself takes, under a lock_timeout), so a count never queues behind DDL
 * that queued behind pg_dump; row_security is off, so a role that RLS would filter gets
 * an error instead of a silently short count; idle_in_transaction_session_timeout is
 * off for this transaction only, because it sits idle while pg_dump works.
 */
export interface SnapshotInfo {
  snapshot: string;
  database: string;
  server: { version: string; versionNum: number; systemIdentifier: string | null };
  migrations: { latest: string | null; count: number };
  /** "schema.table" of every table whose rows pg_dump dumps, sorted. */
  tables: { key: string; schema: string; name: string }[];
}

export interface SnapshotOptions {
  lockTimeoutMs: number;
  /** Per count(*) (a full read of one table, like pg_dump's COPY of it). */
  countTimeoutMs: number;
}

/** Tables with rows for pg_dump: ordinary tables and leaf partitions outside the system schemas and extensions. */
const TABLES_SQL = `
  select n.nspname as schema, c.relname as name
    from pg_catalog.pg_class c
    join pg_catalog.pg_namespace n on n.oid = c.relnamespace
   where c.relkind = 'r' and c.relpersistence <> 't'
     and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname !~ '^pg_(toast|temp_)'
     and not exists (select 1 from pg_catalog.pg_depend d
                      where d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass and d.objid = c.oid and d.deptype = 'e')
   order by 1, 2`;

/** Checks the role can read every row (superuser or BYPASSRLS): else exit 4 before anything is written. */
export async function checkBackupRole(conn: ReservedSql, backupRole: string): Promise<void> {
  const [r] = await conn`select current_user as name, rolsuper, rolbypassrls from pg_catalog.pg_roles where rolname = current_user`;
  if (r.rolsuper || r.rolbypassrls) return;
  throw new BookingDbError('backup_role', `role ${r.name} cannot back up every tenant: it is neither a superuser nor BYPASSRLS, and the tables force row level security`, {
    exitCode: ExitCode.precondition,
    hint: `connect as a superuser or a login made by \`bookingdb roles create backup\` (a member of ${backupRole})`,
  });
}

/** BEGIN, export the snapshot, read what the manifest records, lock the tables. Caller commits/rolls back. */
export async function beginSnapshot(conn: ReservedSql, options: SnapshotOptions): Promise<SnapshotInfo> {
  await conn.unsafe('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
  await conn.unsafe(
    'select pg_catalog.set_config($1, $2, true), pg_catalog.set_config($3, $4, true), pg_catalog.set_config($5, $6, true), pg_catalog.set_config($7, $8, true)',
    ['lock_timeout', `${options.lockTimeoutMs}ms`, 'statement_timeout', `${options.countTimeoutMs}ms`,
      'row_security', 'off', 'idle_in_transaction_session_timeout', '0'],
  );
  const [s] = await conn`select pg_catalog.pg_export_snapshot() as snapshot, pg_catalog.current_database() as database,
    pg_catalog.current_setting('server_version') as version, pg_catalog.current_setting('server_version_num')::int as num`;
  let systemIdentifier: string | null = null;
  try {
    await conn.unsafe('savepoint sysid');
    const [id] = await conn`select system_identifier::text as id from pg_catalog.pg_control_system()`;
    systemIdentifier = String(id.id);
    await conn.unsafe('release savepoint sysid');
  } catch {
    await conn.unsafe('rollback to savepoint sysid'); // not readable by this role: recorded as null
  }
  const ledger = await readMigrationLedger(conn);
  const rows = await conn.unsafe(TABLES_SQL);
  const tables = rows.map((r) => ({ key: `${r.schema}.${r.name}`, schema: String(r.schema), name: String(r.name) }));
  if (tables.length > 0) {
    await conn.unsafe(`LOCK TABLE ${tables.map((t) => `${quoteIdent(t.schema)}.${quoteIdent(t.name)}`).join(', ')} IN ACCESS SHARE MODE`);
  }
  return {
    snapshot: String(s.snapshot),
    database: String(s.database),
    server: { version: String(s.version).split(' ')[0], versionNum: Number(s.num), systemIdentifier },
    migrations: { latest: ledger.at(-1)?.name ?? null, count: ledger.length },
    tables,
  };
}

/** Exact count(*) of each table in the snapshot's transaction, one after another. */
export async function countRows(conn: ReservedSql, tables: SnapshotInfo['tables']): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const t of tables) {
    const [r] = await conn.unsafe(`select count(*)::int8 as n from ${quoteIdent(t.schema)}.${quoteIdent(t.name)}`);
    counts[t.key] = Number(r.n);
  }
  return counts;
}
