import type { ReservedSql } from 'postgres';
import { BookingDbError, ExitCode, isPgError } from '../errors.js';
import { quoteIdent } from '../db/ident.js';
import { roleName } from './group-roles.js';
import { lineOfPosition, listSqlFiles, renderRoles, type SqlFile } from '../sql-files.js';
import { paths } from '../paths.js';
import { readRepeatableLedger } from '../migrate/ledger.js';

/**
 * Repeatable SQL (sql/schema/): functions, views, policies, grants. A file is
 * re-applied when its SHA-256 differs from the ledger; when versioned migrations ran
 * in the same deploy every file is re-applied, because objects such as policies and
 * grants must cover the new tables. Files run in path order inside the deploy's
 * transaction.
 */
export interface RepeatablePlanItem {
  file: string;
  sha256: string;
  reason: 'new' | 'changed' | 'migrations-applied';
}

export async function listRepeatableFiles(dir = paths.schema): Promise<SqlFile[]> {
  return listSqlFiles(dir);
}

export async function planRepeatable(conn: ReservedSql, options: { all: boolean; dir?: string }): Promise<{ files: SqlFile[]; plan: RepeatablePlanItem[] }> {
  const files = await listRepeatableFiles(options.dir);
  const ledger = await readRepeatableLedger(conn);
  const plan: RepeatablePlanItem[] = [];
  for (const f of files) {
    const previous = ledger.get(f.name);
    if (previous === undefined) plan.push({ file: f.name, sha256: f.sha256, reason: 'new' });
    else if (previous !== f.sha256) plan.push({ file: f.name, sha256: f.sha256, reason: 'changed' });
    // Files run as ops hold functions (late-bound) and views of their own, not the
    // policies and grants that new tables need: re-applied only when they change, so
    // a non-superuser deploy of a new migration never has to switch to ops.
    else if (options.all && !runsAsOps(f)) plan.push({ file: f.name, sha256: f.sha256, reason: 'migrations-applied' });
  }
  return { files, plan };
}

/**
 * A file whose first lines carry `-- bookingdb: run as ops` is applied as
 * bookingdb_ops (so what it creates is owned by the BYPASSRLS ops role: the audited
 * cross-tenant functions and the reporting materialized views); every other file as
 * bookingdb_owner. Only a superuser (or a member of bookingdb_ops, which verification
 * forbids) can switch to ops, so a non-superuser deploy that must change such a file
 * stops with exit 4 and rolls back.
 */
export function runsAsOps(file: SqlFile): boolean {
  return /^--\s*bookingdb:\s*run as ops\s*$/m.test(file.text.split('\n').slice(0, 5).join('\n'));
}

async function switchRole(conn: ReservedSql, role: string, file: SqlFile): Promise<void> {
  try {
    await conn.unsafe(`SET LOCAL ROLE ${quoteIdent(role)}`);
  } catch (error) {
    if (isPgError(error) && error.code === '42501') {
      throw new BookingDbError('needs_superuser', `sql/schema/${file.name} must be applied as ${role}, and this connection cannot switch to it`, {
        exitCode: ExitCode.precondition, cause: error,
        hint: 'run this deploy as a superuser (the file owns cross-tenant functions); nothing was changed',
      });
    }
    throw error;
  }
}

/** Applies the planned files in order and records their checksums. */
export async function applyRepeatable(conn: ReservedSql, files: SqlFile[], plan: RepeatablePlanItem[], rolePrefix: string): Promise<void> {
  const wanted = new Set(plan.map((p) => p.file));
  const owner = roleName(rolePrefix, 'owner');
  for (const f of files) {
    if (!wanted.has(f.name)) continue;
    const asOps = runsAsOps(f);
    try {
      if (asOps) await switchRole(conn, roleName(rolePrefix, 'ops'), f);
      await conn.unsafe(renderRoles(f.text, rolePrefix));
      if (asOps) await conn.unsafe(`SET LOCAL ROLE ${quoteIdent(owner)}`);
    } catch (error) {
      if (isPgError(error)) {
        const line = error.position ? `:${lineOfPosition(f.text, Number(error.position))}` : '';
        throw new BookingDbError('repeatable_failed', `sql/schema/${f.name}${line}: ${error.message} (${error.code})`, {
          hint: [error.detail, error.hint, error.where].filter(Boolean).join('; ') || 'fix the file and deploy again; the deploy was rolled back',
          cause: error,
        });
      }
      throw error;
    }
    await conn`
      insert into ops.repeatable_files (file, sha256, applied_at) values (${f.name}, ${f.sha256}, pg_catalog.now())
      on conflict (file) do update set sha256 = excluded.sha256, applied_at = excluded.applied_at`;
  }
}
