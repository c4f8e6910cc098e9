import type { ReservedSql, Sql } from 'postgres';
import { BookingDbError } from '../errors.js';
import { listSqlFiles, type SqlFile } from '../sql-files.js';
import { paths } from '../paths.js';

/**
 * The migration ledger is node-pg-migrate's table, ops.pgmigrations, with one column
 * added: sha256 of the LF-normalised file as it was applied. Repeatable SQL has its
 * own ledger, ops.repeatable_files. Both are created on first deploy.
 */
export const MIGRATIONS_SCHEMA = 'ops';
export const MIGRATIONS_TABLE = 'pgmigrations';

export interface AppliedMigration {
  name: string;
  sha256: string | null;
  runOn: string;
}

export interface MigrationFile extends SqlFile {
  /** node-pg-migrate's name: the file name without .sql */
  migration: string;
}

export type MigrationState = 'applied' | 'pending' | 'changed' | 'missing-file';

export interface MigrationStatus {
  name: string;
  state: MigrationState;
  /** Checksum recorded when applied (null for pending, or for rows recorded before checksums). */
  appliedSha256: string | null;
  fileSha256: string | null;
  runOn: string | null;
}

/** The versioned migration files, in node-pg-migrate's order (numeric prefix). */
export async function listMigrationFiles(dir = paths.migrations): Promise<MigrationFile[]> {
  const files = (await listSqlFiles(dir)).filter((f) => !f.name.includes('/'));
  return files
    .map((f) => ({ ...f, migration: f.name.replace(/\.sql$/, '') }))
    .sort((a, b) => prefixOf(a.migration) - prefixOf(b.migration) || a.migration.localeCompare(b.migration));
}

function prefixOf(name: string): number {
  const m = /^(\d+)/.exec(name);
  return m ? Number(m[1]) : Number.MAX_SAFE_INTEGER;
}

async function tableExists(conn: Sql | ReservedSql, schema: string, table: string): Promise<boolean> {
  const [row] = await conn`select pg_catalog.to_regclass(${`${schema}.${table}`}) is not null as ok`;
  return Boolean(row.ok);
}

/** Applied migrations in order; empty when the ledger does not exist yet. */
export async function readMigrationLedger(conn: Sql | ReservedSql): Promise<AppliedMigration[]> {
  if (!(await tableExists(conn, MIGRATIONS_SCHEMA, MIGRATIONS_TABLE))) return [];
  const hasSha = await conn`
    select 1 from pg_catalog.pg_attribute
     where attrelid = 'ops.pgmigrations'::regclass and attname = 'sha256' and not attisdropped`;
  const rows = hasSha.length
    ? await conn`select name, sha256, run_on::text as run_on from ops.pgmigrations order by run_on, id`
    : await conn`select name, null::text as sha256, run_on::text as run_on from ops.pgmigrations order by run_on, id`;
  return rows.map((r) => ({ name: String(r.name), sha256: (r.sha256 as string | null) ?? null, runOn: String(r.run_on) }));
}

/** Compares the ledger with the files: applied, pending, changed, or applied but missing. */
export function compareMigrations(applied: AppliedMigration[], files: MigrationFile[]): MigrationStatus[] {
  const byName = new Map(files.map((f) => [f.migration, f]));
  const appliedNames = new Set(applied.map((a) => a.name));
  const result: MigrationStatus[] = applied.map((a) => {
    const file = byName.get(a.name);
    const state: MigrationState = !file ? 'missing-file' : a.sha256 !== null && a.sha256 !== file.sha256 ? 'changed' : 'applied';
    return { name: a.name, state, appliedSha256: a.sha256, fileSha256: file?.sha256 ?? null, runOn: a.runOn };
  });
  for (const f of files) {
    if (!appliedNames.has(f.migration)) result.push({ name: f.migration, state: 'pending', appliedSha256: null, fileSha256: f.sha256, runOn: null });
  }
  return result;
}

/** Applied migrations whose file changed or vanished (what `migrate verify` reports). */
export function driftedMigrations(statuses: MigrationStatus[]): MigrationStatus[] {
  return statuses.filter((s) => s.state === 'changed' || s.state === 'missing-file');
}

/** One line naming a drifted migration and how it drifted. */
export function describeDrift(s: MigrationStatus): string {
  return s.state === 'changed'
    ? `migrations/${s.name}.sql changed after it was applied (applied ${s.appliedSha256?.slice(0, 12)}, file now ${s.fileSha256?.slice(0, 12)})`
    : `migrations/${s.name}.sql was applied but the file is gone`;
}

/** Exit 1 naming every drifted migration: deploy and migrate up never apply over drift. */
export function refuseDrift(statuses: MigrationStatus[], what: 'deploy' | 'migrate'): void {
  const bad = driftedMigrations(statuses);
  if (bad.length === 0) return;
  throw new BookingDbError('migration_changed', `refusing to ${what}: applied migrations do not match their files:\n${bad.map((s) => `  ${describeDrift(s)}`).join('\n')}`, {
    hint: 'restore the original file (git checkout) and put the change in a new migration (`bookingdb migrate create NAME`)',
    details: { migrations: bad },
  });
}

/** Creates the ledgers (as the current role) when missing; DDL only when needed. */
export async function ensureLedgers(conn: ReservedSql): Promise<void> {
  if (!(await tableExists(conn, MIGRATIONS_SCHEMA, MIGRATIONS_TABLE))) {
    await conn.unsafe(`CREATE TABLE ops.pgmigrations (
      id serial PRIMARY KEY, name varchar(255) NOT NULL, run_on timestamp NOT NULL, sha256 text)`);
    await conn.unsafe(`COMMENT ON TABLE ops.pgmigrations IS 'versioned migrations applied by node-pg-migrate; sha256 of the LF-normalised file'`);
  } else {
    const has = await conn`select 1 from pg_catalog.pg_attribute where attrelid = 'ops.pgmigrations'::regclass and attname = 'sha256' and not attisdropped`;
    if (!has.length) await conn.unsafe('ALTER TABLE ops.pgmigrations ADD COLUMN sha256 text');
  }
  if (!(await tableExists(conn, 'ops', 'repeatable_files'))) {
    await conn.unsafe(`CREATE TABLE ops.repeatable_files (
      file text PRIMARY KEY, sha256 text NOT NULL, applied_at timestamptz NOT NULL DEFAULT pg_catalog.now())`);
    await conn.unsafe(`COMMENT ON TABLE ops.repeatable_files IS 'repeatable SQL (sql/schema) last applied, by checksum'`);
  }
}

/** Repeatable files as last applied: file -> sha256. */
export async function readRepeatableLedger(conn: Sql | ReservedSql): Promise<Map<string, string>> {
  if (!(await tableExists(conn, 'ops', 'repeatable_files'))) return new Map();
  const rows = await conn`select file, sha256 from ops.repeatable_files`;
  return new Map(rows.map((r) => [String(r.file), String(r.sha256)]));
}
