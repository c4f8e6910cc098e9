import type { ReservedSql } from 'postgres';
import { BookingDbError, isPgError } from '../errors.js';
import { lineOfPosition, renderRoles } from '../sql-files.js';
import { paths } from '../paths.js';
import { listMigrationFiles, MIGRATIONS_SCHEMA, MIGRATIONS_TABLE, type MigrationFile } from './ledger.js';

/**
 * Runs node-pg-migrate inside the caller's transaction. node-pg-migrate wraps each
 * migration in BEGIN/COMMIT; the adapter below turns those into no-ops so the whole
 * deploy (roles aside) commits or rolls back as one unit, and rewrites role names
 * for the configured prefix. Errors carry the migration file and line.
 */
export interface RunMigrationsOptions {
  direction: 'up' | 'down';
  count?: number;
  rolePrefix: string;
  dir?: string;
  log?: (message: string) => void;
  /** The migration files when the caller has just read them (else read from dir). */
  files?: MigrationFile[];
}

export interface RanMigration {
  name: string;
  sha256: string;
}

const TX_CONTROL = /^\s*(BEGIN|COMMIT|ROLLBACK|START TRANSACTION)\s*;?\s*$/i;

function locate(files: MigrationFile[], text: string, position?: number): string | undefined {
  const probe = text.trim().slice(0, 120);
  const file = files.find((f) => probe && f.text.includes(probe));
  if (!file) return undefined;
  if (!position) return file.name;
  const offset = file.text.indexOf(probe);
  return `${file.name}:${lineOfPosition(file.text, offset + position)}`;
}

export async function runMigrations(conn: ReservedSql, options: RunMigrationsOptions): Promise<RanMigration[]> {
  const dir = options.dir ?? paths.migrations;
  const files = options.files ?? (await listMigrationFiles(dir));
  const adapter = {
    query: async (queryTextOrConfig: string | { text: string }, values?: unknown[]) => {
      const text = typeof queryTextOrConfig === 'string' ? queryTextOrConfig : queryTextOrConfig.text;
      if (TX_CONTROL.test(text)) return { rows: [] };
      try {
        const rows = await conn.unsafe(renderRoles(text, options.rolePrefix), (values ?? []) as never[]);
        return { rows: [...rows] };
      } catch (error) {
        if (isPgError(error)) {
          const where = locate(files, text, Number(error.position) || undefined);
          throw new BookingDbError('migration_failed', `migration ${where ?? ''} failed: ${error.message} (${error.code})`.replace('  ', ' '), {
            hint: [error.detail, error.hint].filter(Boolean).join('; ') || 'fix the migration and deploy again; nothing was applied',
            cause: error,
          });
        }
        throw error;
      }
    },
  };
  const { runner } = await import('node-pg-migrate');
  const silent = { debug: () => undefined, info: (m: string) => options.log?.(m), warn: () => undefined, error: () => undefined };
  let ran;
  try {
   ran = await runner({
    dbClient: adapter as never,
    dir,
    direction: options.direction,
    count: options.count ?? (options.direction === 'up' ? Infinity : 1),
    migrationsTable: MIGRATIONS_TABLE,
    migrationsSchema: MIGRATIONS_SCHEMA,
    noLock: true,
    checkOrder: true,
    singleTransaction: false,
    // Ignore dot-files and anything that is not .sql (anchored by node-pg-migrate).
    ignorePattern: '(\\..*|.*(?<!\\.sql))',
    logger: silent,
  });
  } catch (error) {
    if (error instanceof BookingDbError) throw error;
    throw new BookingDbError('migration_failed', `migrations could not run: ${(error as Error).message}`, {
      hint: 'fix the migrations folder and try again; nothing was applied',
      cause: error,
    });
  }
  const byName = new Map(files.map((f) => [f.migration, f]));
  const result = ran.map((m) => ({ name: m.name, sha256: byName.get(m.name)?.sha256 ?? '' }));
  if (options.direction === 'up') {
    for (const m of result) {
      await conn`update ops.pgmigrations set sha256 = ${m.sha256} where name = ${m.name}`;
    }
  }
  return result;
}
