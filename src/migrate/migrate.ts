import { writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BookingDbError, ExitCode, usageError } from '../errors.js';
import { connect } from '../db/connect.js';
import { connectDirect } from '../db/pooler.js';
import { quoteIdent } from '../db/ident.js';
import { LockKey, withAdvisoryLock, withTransaction } from '../db/scoped.js';
import { paths } from '../paths.js';
import { roleName } from '../deploy/group-roles.js';
import { compareMigrations, ensureLedgers, listMigrationFiles, readMigrationLedger, refuseDrift, type MigrationStatus } from './ledger.js';
export { driftedMigrations, describeDrift } from './ledger.js';
import { runMigrations, type RanMigration } from './runner.js';

/**
 * `bookingdb migrate ...`: the versioned migrations alone (deploy runs them too, plus
 * everything else). Up and down take the deploy lock and run in one transaction as
 * the owner role; an applied migration whose file changed stops `up`.
 */
export interface MigrateOptions {
  url: string;
  rolePrefix: string;
  connectTimeoutSeconds: number;
  lockWaitSeconds: number;
  count?: number;
  log?: (m: string) => void;
}

export async function migrationStatus(url: string, connectTimeoutSeconds: number): Promise<MigrationStatus[]> {
  const sql = await connect(url, { connectTimeoutSeconds, max: 1 });
  try {
    return compareMigrations(await readMigrationLedger(sql), await listMigrationFiles());
  } finally {
    await sql.end({ timeout: 5 });
  }
}

export async function migrate(direction: 'up' | 'down', options: MigrateOptions): Promise<RanMigration[]> {
  const sql = await connectDirect(options.url, { connectTimeoutSeconds: options.connectTimeoutSeconds }, 'migrate');
  const conn = await sql.reserve();
  try {
    const [schemaRow] = await conn`select count(*)::int as n from pg_catalog.pg_namespace where nspname in ('booking', 'ops', 'ext')`;
    if (Number(schemaRow.n) < 3) {
      throw new BookingDbError('not_deployed', 'the database has no bookingdb schemas yet', {
        exitCode: ExitCode.precondition,
        hint: 'run `bookingdb deploy` first: it creates roles, schemas and extensions, then migrates',
      });
    }
    return await withAdvisoryLock(conn, LockKey.deploy, 'deploy or migration', options.lockWaitSeconds, () =>
      withTransaction(conn, async () => {
        await conn.unsafe(`SET LOCAL ROLE ${quoteIdent(roleName(options.rolePrefix, 'owner'))}`);
        await conn.unsafe('SET LOCAL search_path = pg_catalog, ext');
        await ensureLedgers(conn);
        const files = await listMigrationFiles();
        if (direction === 'up') refuseDrift(compareMigrations(await readMigrationLedger(conn), files), 'migrate');
        return runMigrations(conn, { direction, count: options.count, rolePrefix: options.rolePrefix, log: options.log, files });
      }),
    );
  } finally {
    conn.release();
    await sql.end({ timeout: 5 });
  }
}

const TEMPLATE = (name: string) => `-- Up Migration
-- ${name}: write the change here. Schema-qualify every object (booking., ops.).
-- Tables with tenant_id get RLS and the tenant policy from sql/schema automatically.


-- Down Migration
-- Reverse the change above.

`;

/** What `migrate create` wrote: the file, the name in it, and the name as given. */
export interface CreatedMigration {
  file: string;
  name: string;
  given: string;
  /** True when '-' in the given name became '_' in the file name. */
  renamed: boolean;
}

/**
 * Writes migrations/NNNN_name.sql with Up/Down sections. '-' becomes '_' in the file
 * name (one spelling for every migration name in the ledger); the result says so.
 */
export async function createMigration(given: string, dir = paths.migrations): Promise<CreatedMigration> {
  if (!/^[a-z0-9][a-z0-9_-]{0,80}$/.test(given)) {
    throw usageError(`invalid migration name "${given}"`, 'use lower-case letters, digits, - and _, starting with a letter or digit (e.g. add_room_capacity)');
  }
  const name = given.replace(/-/g, '_');
  const files = await listMigrationFiles(dir);
  const last = files.reduce((max, f) => Math.max(max, Number(/^(\d+)/.exec(f.migration)?.[1] ?? 0)), 0);
  const file = join(dir, `${String(last + 1).padStart(4, '0')}_${name}.sql`);
  if (existsSync(file)) throw usageError(`${file} already exists`, 'pick another name, or edit that file');
  await writeFile(file, TEMPLATE(name), { flag: 'wx' });
  return { file, name, given, renamed: name !== given };
}
