import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import type { Sql } from 'postgres';
import { describeConnectionError } from '../db/connect.js';
import { quoteIdent } from '../db/ident.js';
import { tlsOptions } from '../db/tls.js';
import type { ConnectionTarget } from '../db/url.js';
import { lookupPgpass } from '../db/pgpass.js';
import { createLoginRole } from '../roles/login-roles.js';

/**
 * The bench's worker connections. By default a LOGIN member of <prefix>_app made for
 * the run (random name, password generated in memory and sent only as a SCRAM
 * verifier, see src/roles/set-verifier.ts) and dropped after it; never printed.
 */
export interface BenchLogin {
  name: string;
  /** The target with the login's credentials (kept in memory only). */
  target: ConnectionTarget;
}

/** Role names of the bench's temporary logins start with this (tests look for leftovers). */
export const BENCH_LOGIN_PREFIX = 'bookingdb_bench_';

/** As `roles create app` sets them: a runaway statement or an idle transaction cannot hold on. */
const LIMITS = { statementTimeout: { ms: 30_000, text: '30s' }, idleInTransactionTimeout: { ms: 60_000, text: '60s' } };

export async function createBenchLogin(admin: Sql, prefix: string, target: ConnectionTarget): Promise<BenchLogin> {
  const name = `${BENCH_LOGIN_PREFIX}${randomBytes(5).toString('hex')}`;
  const { password } = await createLoginRole(admin, prefix, 'app', name, { limits: LIMITS });
  return { name, target: { ...target, user: name, password } };
}

/**
 * Drops a bench login: its sessions are ended first (a pool that did not close in time
 * would keep the role in use). Safe to call twice; never throws on a role already gone.
 */
export async function dropBenchLogin(admin: Sql, name: string): Promise<void> {
  await admin.begin(async (tx) => {
    await tx.unsafe("SET LOCAL lock_timeout = '5s'; SET LOCAL statement_timeout = '30s'");
    await tx`select pg_catalog.pg_terminate_backend(pid) from pg_catalog.pg_stat_activity where usename = ${name} and pid <> pg_catalog.pg_backend_pid()`;
  });
  for (let attempt = 0; ; attempt++) {
    try {
      await admin.unsafe(`DROP ROLE IF EXISTS ${quoteIdent(name)}`);
      return;
    } catch (error) {
      // 55006: a terminated session has not gone away yet
      if ((error as { code?: string }).code !== '55006' || attempt >= 20) throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/**
 * A pool of `max` worker connections. Prepared statements unless `prepare` is false
 * (PgBouncer in transaction pooling). Unlike the CLI's own connections (src/db/connect.ts,
 * always unprepared) the workers use them by default, as an app on postgres.js does.
 * Proves one connection before returning (exit 3 on failure, password never shown).
 */
export async function openWorkerPool(target: ConnectionTarget, max: number, prepare: boolean, connectTimeoutSeconds: number): Promise<Sql> {
  const password = target.password ?? lookupPgpass({ host: target.host, port: target.port, database: target.database, user: target.user }, process.env, () => undefined, target.params.passfile);
  const sql = postgres({
    host: target.host,
    port: target.port,
    database: target.database,
    user: target.user,
    pass: () => password ?? '',
    ssl: tlsOptions(target) as never,
    max,
    prepare,
    connect_timeout: connectTimeoutSeconds,
    idle_timeout: 60,
    onnotice: () => undefined,
    connection: { application_name: 'bookingdb-bench', search_path: 'pg_catalog, pg_temp' },
  } as postgres.Options<{}>);
  try {
    await sql`select 1`;
  } catch (error) {
    await sql.end({ timeout: 0 }).catch(() => undefined);
    throw describeConnectionError(error, target, { timeoutSeconds: connectTimeoutSeconds });
  }
  return sql;
}
