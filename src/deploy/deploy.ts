import type { ReservedSql, Sql } from 'postgres';
import { BookingDbError, ExitCode, isPgError } from '../errors.js';
import { connect } from '../db/connect.js';
import { quoteIdent } from '../db/ident.js';
import { parseDatabaseUrl, redactUrl, withDatabase } from '../db/url.js';
import { LockKey, withAdvisoryLock, withTransaction } from '../db/scoped.js';
import { compareMigrations, ensureLedgers, listMigrationFiles, readMigrationLedger, refuseDrift } from '../migrate/ledger.js';
import { runMigrations, type RanMigration } from '../migrate/runner.js';
import { ensureGroupRoles, planGroupRoles, roleName, type RoleChange } from './group-roles.js';
import { preflight, REQUIRED_EXTENSIONS } from './preflight.js';
import { applyRepeatable, listRepeatableFiles, planRepeatable, type RepeatablePlanItem } from './repeatable.js';
import { assertVerified, runVerification, type VerifyResult } from './verify.js';
import { describeBlockers, watchBlockers } from './blockers.js';
import { refuseThroughPooler } from '../db/pooler.js';
import { ensureDatabasePrivileges } from './database-privileges.js';

/**
 * `bookingdb deploy`: preflight, create the database, group roles, then in ONE
 * transaction: schemas, extensions, versioned migrations, repeatable SQL and the
 * post-deploy verification. A failure (or kill -9) anywhere in that transaction
 * leaves the database as it was. Serialised by a session advisory lock; DDL runs
 * under lock_timeout with a few retries so traffic never queues behind a deploy.
 */
export interface DeployOptions {
  url: string;
  rolePrefix: string;
  dryRun?: boolean;
  lockWaitSeconds: number;
  lockTimeoutMs: number;
  connectTimeoutSeconds: number;
  /** Attempts when DDL hits lock_timeout (default 3). */
  attempts?: number;
  log?: (message: string) => void;
  /** Asked with the plan before anything changes; false aborts (exit 1). */
  confirm?: (plan: DeployPlan) => Promise<boolean>;
}

export const SCHEMAS = ['ext', 'booking', 'ops', 'reporting'];

export interface DeployPlan {
  createDatabase: boolean;
  schemas: string[];
  extensions: string[];
  roles: RoleChange[];
  migrations: { name: string; sha256: string }[];
  repeatable: RepeatablePlanItem[];
}

export interface DeployReceipt {
  target: string;
  database: string;
  serverVersion: string;
  dryRun: boolean;
  noop: boolean;
  plan: DeployPlan;
  applied: { databaseCreated: boolean; roles: string[]; extensions: string[]; migrations: RanMigration[]; repeatable: string[] };
  verification: VerifyResult[];
  warnings: string[];
  durationsMs: Record<string, number>;
}

async function tryConnect(url: string, timeout: number): Promise<Sql | undefined> {
  try {
    return await connect(url, { connectTimeoutSeconds: timeout, max: 2 });
  } catch (error) {
    if (error instanceof BookingDbError && error.code === 'database_missing') return undefined;
    throw error;
  }
}

async function connectMaintenance(url: string, timeout: number): Promise<Sql> {
  try {
    return await connect(withDatabase(url, 'postgres'), { connectTimeoutSeconds: timeout, max: 1 });
  } catch (error) {
    if (error instanceof BookingDbError && error.code === 'database_missing') {
      return connect(withDatabase(url, 'template1'), { connectTimeoutSeconds: timeout, max: 1 });
    }
    throw error;
  }
}

async function createDatabase(admin: Sql, name: string): Promise<boolean> {
  try {
    await admin.unsafe(`CREATE DATABASE ${quoteIdent(name)}`);
    return true;
  } catch (error) {
    // Another deploy created it between our check and now.
    if (isPgError(error) && (error.code === '42P04' || error.code === '23505')) return false;
    throw error;
  }
}

async function missingSchemas(conn: Sql | ReservedSql): Promise<string[]> {
  const rows = await conn`select nspname from pg_catalog.pg_namespace where nspname = any(${SCHEMAS})`;
  const have = new Set(rows.map((r) => String(r.nspname)));
  return SCHEMAS.filter((s) => !have.has(s));
}

async function computePlan(conn: Sql | ReservedSql | undefined, admin: Sql, prefix: string, missingExt: string[]): Promise<DeployPlan> {
  const files = await listMigrationFiles();
  if (!conn) {
    const plan = (await listRepeatableFiles()).map((f) => ({ file: f.name, sha256: f.sha256, reason: 'new' as const }));
    return {
      createDatabase: true, schemas: [...SCHEMAS], extensions: [...REQUIRED_EXTENSIONS], roles: await planGroupRoles(admin, prefix),
      migrations: files.map((f) => ({ name: f.migration, sha256: f.sha256 })), repeatable: plan,
    };
  }
  const statuses = compareMigrations(await readMigrationLedger(conn), files);
  refuseDrift(statuses, 'deploy');
  const pending = statuses.filter((s) => s.state === 'pending').map((s) => ({ name: s.name, sha256: s.fileSha256 ?? '' }));
  const { plan } = await planRepeatable(conn as ReservedSql, { all: pending.length > 0 });
  return {
    createDatabase: false, schemas: await missingSchemas(conn), extensions: missingExt, roles: await planGroupRoles(conn, prefix),
    migrations: pending, repeatable: plan,
  };
}

export function isNoop(plan: DeployPlan): boolean {
  return !plan.createDatabase && !plan.schemas.length && !plan.extensions.length && !plan.roles.length && !plan.migrations.length && !plan.repeatable.length;
}

interface ApplyResult {
  migrations: RanMigration[];
  repeatable: string[];
  extensions: string[];
  verification: VerifyResult[];
  durations: Record<string, number>;
}

/** The transactional body: everything after the group roles. */
async function applyInTransaction(conn: ReservedSql, options: DeployOptions): Promise<ApplyResult> {
  const owner = quoteIdent(roleName(options.rolePrefix, 'owner'));
  const durations: Record<string, number> = {};
  let t = Date.now();
  await conn.unsafe(`SET LOCAL lock_timeout = '${Math.trunc(options.lockTimeoutMs)}ms'`);
  await conn.unsafe(`SET LOCAL statement_timeout = 0`);
  for (const schema of await missingSchemas(conn)) {
    await conn.unsafe(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)} AUTHORIZATION ${owner}`);
  }
  const installed = await conn`select extname from pg_catalog.pg_extension where extname = any(${REQUIRED_EXTENSIONS})`;
  const have = new Set(installed.map((r) => String(r.extname)));
  const extensions = REQUIRED_EXTENSIONS.filter((e) => !have.has(e));
  for (const ext of extensions) await conn.unsafe(`CREATE EXTENSION IF NOT EXISTS ${quoteIdent(ext)} WITH SCHEMA ext`);
  for (const statement of await ensureDatabasePrivileges(conn, options.rolePrefix)) options.log?.(`database privileges: ${statement}`);
  durations.prepare = Date.now() - t;

  // Everything from here on is created by, and so owned by, the owner role. The
  // search_path puts pg_catalog first so an unqualified CREATE fails loudly.
  await conn.unsafe(`SET LOCAL ROLE ${owner}`);
  await conn.unsafe(`SET LOCAL search_path = pg_catalog, ext`);
  await ensureLedgers(conn);
  t = Date.now();
  const migrationFiles = await listMigrationFiles();
  const statuses = compareMigrations(await readMigrationLedger(conn), migrationFiles);
  refuseDrift(statuses, 'deploy');
  const pending = statuses.some((s) => s.state === 'pending');
  const migrations = pending ? await runMigrations(conn, { direction: 'up', rolePrefix: options.rolePrefix, log: options.log, files: migrationFiles }) : [];
  durations.migrations = Date.now() - t;

  t = Date.now();
  const { files, plan } = await planRepeatable(conn, { all: migrations.length > 0 });
  await applyRepeatable(conn, files, plan, options.rolePrefix);
  durations.repeatable = Date.now() - t;
  await conn.unsafe('RESET ROLE');

  t = Date.now();
  const verification = await runVerification(conn, options.rolePrefix);
  durations.verify = Date.now() - t;
  assertVerified(verification);
  return { migrations, repeatable: plan.map((p) => p.file), extensions, verification, durations };
}

/** Runs the transactional body, retrying when DDL could not get its locks in time. */
async function applyWithRetries(sql: Sql, conn: ReservedSql, options: DeployOptions): Promise<ApplyResult> {
  const attempts = options.attempts ?? 3;
  const [{ pid }] = await conn`select pg_catalog.pg_backend_pid() as pid`;
  for (let attempt = 1; ; attempt++) {
    const watch = watchBlockers(sql, Number(pid));
    try {
      return await withTransaction(conn, () => applyInTransaction(conn, options));
    } catch (error) {
      const cause = error instanceof BookingDbError ? (error.cause as unknown) : error;
      const lockTimeout = isPgError(cause) && cause.code === '55P03';
      if (!lockTimeout) throw error;
      const blockers = await watch.stop();
      if (attempt >= attempts) {
        throw new BookingDbError('lock_timeout', `deploy could not take its locks within ${options.lockTimeoutMs} ms (${attempts} attempts); blocked by ${describeBlockers(blockers)}`, {
          hint: 'the deploy was rolled back; end or wait for the blocking transaction, then deploy again (or raise --lock-timeout)',
          details: { blockers },
        });
      }
      options.log?.(`lock timeout (attempt ${attempt}/${attempts}), blocked by ${describeBlockers(blockers)}; retrying`);
      await new Promise((r) => setTimeout(r, 500 * attempt));
    } finally {
      await watch.stop();
    }
  }
}

export async function deploy(options: DeployOptions): Promise<DeployReceipt> {
  const started = Date.now();
  const durationsMs: Record<string, number> = {};
  const database = parseDatabaseUrl(options.url).database;
  let sql = await tryConnect(options.url, options.connectTimeoutSeconds);
  const admin = sql ? undefined : await connectMaintenance(options.url, options.connectTimeoutSeconds);
  try {
    await refuseThroughPooler((sql ?? admin)!, 'deploy');
    const pre = await preflight((sql ?? admin)!, options.url, options.rolePrefix);
    durationsMs.preflight = Date.now() - started;
    const plan = await computePlan(sql, (sql ?? admin)!, options.rolePrefix, pre.missingExtensions);
    const receipt: DeployReceipt = {
      target: redactUrl(options.url), database, serverVersion: pre.serverVersion, dryRun: Boolean(options.dryRun), noop: isNoop(plan), plan,
      applied: { databaseCreated: false, roles: [], extensions: [], migrations: [], repeatable: [] },
      verification: [], warnings: pre.warnings, durationsMs,
    };
    if (options.dryRun) return receipt;
    if (options.confirm && !(await options.confirm(plan))) {
      throw new BookingDbError('aborted', 'deploy aborted: nothing was changed', { exitCode: ExitCode.failed });
    }
    if (!sql) {
      receipt.applied.databaseCreated = await createDatabase(admin!, database);
      sql = await connect(options.url, { connectTimeoutSeconds: options.connectTimeoutSeconds, max: 2 });
    }
    const live = sql;
    const conn = await live.reserve();
    try {
      const t = Date.now();
      await withAdvisoryLock(conn, LockKey.deploy, 'deploy', options.lockWaitSeconds, async () => {
        durationsMs.lockWait = Date.now() - t;
        receipt.applied.roles = (await ensureGroupRoles(conn, options.rolePrefix)).map((c) => c.statement);
        const result = await applyWithRetries(live, conn, options);
        Object.assign(durationsMs, result.durations);
        Object.assign(receipt.applied, { migrations: result.migrations, repeatable: result.repeatable, extensions: result.extensions });
        receipt.verification = result.verification;
      });
    } finally {
      conn.release();
    }
    receipt.noop = !receipt.applied.databaseCreated && !receipt.applied.roles.length && !receipt.applied.extensions.length
      && !receipt.applied.migrations.length && !receipt.applied.repeatable.length;
    durationsMs.total = Date.now() - started;
    return receipt;
  } finally {
    await sql?.end({ timeout: 5 });
    await admin?.end({ timeout: 5 });
  }
}
