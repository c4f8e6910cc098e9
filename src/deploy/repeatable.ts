import type { ReservedSql } from 'postgres';
import { BookingDbError, isPgError } from '../errors.js';
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
    else if (options.all) plan.push({ file: f.name, sha256: f.sha256, reason: 'migrations-applied' });
  }
  return { files, plan };
}

/** Applies the planned files in order and records their checksums. */
export async function applyRepeatable(conn: ReservedSql, files: SqlFile[], plan: RepeatablePlanItem[], rolePrefix: string): Promise<void> {
  const wanted = new Set(plan.map((p) => p.file));
  for (const f of files) {
    if (!wanted.has(f.name)) continue;
    try {
      await conn.unsafe(renderRoles(f.text, rolePrefix));
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
