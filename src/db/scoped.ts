import type { ReservedSql, Sql, TransactionSql } from 'postgres';
import { BookingDbError, ExitCode } from '../errors.js';
import { redactLiterals } from './redact-literals.js';

/**
 * Scoped resources: each helper releases what it took in `finally`, so nothing leaks
 * when the body throws.
 */

/** Explicit BEGIN/COMMIT on a reserved connection; ROLLBACK when fn throws. */
export async function withTransaction<T>(conn: ReservedSql, fn: () => Promise<T>): Promise<T> {
  await conn.unsafe('BEGIN');
  try {
    const result = await fn();
    await conn.unsafe('COMMIT');
    return result;
  } catch (error) {
    await conn.unsafe('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/**
 * SET LOCAL statement_timeout and lock_timeout for the caller's transaction, as values
 * (parameters), in one round trip: what every operations statement runs under, so a check,
 * a metric or a maintenance step never holds a backend or queues behind DDL for long.
 */
export async function setLocalTimeouts(tx: Sql | ReservedSql | TransactionSql, statementTimeoutMs: number, lockTimeoutMs: number): Promise<void> {
  await tx.unsafe('select pg_catalog.set_config($1, $2, true), pg_catalog.set_config($3, $4, true)',
    ['statement_timeout', `${Math.trunc(statementTimeoutMs)}ms`, 'lock_timeout', `${Math.trunc(lockTimeoutMs)}ms`]);
}

/** Session advisory-lock keys: one per kind of run, namespaced by 'bkdb' (high 32 bits). */
export const LockKey = {
  deploy: 0x626b6462_00000001n,
} as const;

export interface LockHolder {
  pid: number;
  applicationName: string;
  clientAddr: string | null;
  since: string | null;
  query: string;
}

/** Who holds a session advisory lock with this key in the current database. */
export async function findLockHolder(conn: Sql | ReservedSql, key: bigint): Promise<LockHolder | undefined> {
  const classid = Number(key >> 32n);
  const objid = Number(key & 0xffffffffn);
  const rows = await conn`
    select a.pid, coalesce(a.application_name, '') as application_name, a.client_addr::text as client_addr,
           a.backend_start::text as since, left(coalesce(a.query, ''), 200) as query
      from pg_catalog.pg_locks l
      join pg_catalog.pg_stat_activity a on a.pid = l.pid
     where l.locktype = 'advisory' and l.granted and l.classid = ${classid} and l.objid = ${objid} and l.objsubid = 1
       and l.database = (select oid from pg_catalog.pg_database where datname = current_database())
     limit 1`;
  const r = rows[0];
  return r
    ? { pid: Number(r.pid), applicationName: String(r.application_name), clientAddr: r.client_addr as string | null, since: r.since as string | null, query: redactLiterals(String(r.query)).text }
    : undefined;
}

/**
 * Takes a session advisory lock on conn, waiting up to waitSeconds, then runs fn.
 * Busy past the wait is exit 5, naming the holder. The lock goes with the
 * connection, so a killed run never leaves it behind.
 */
export async function withAdvisoryLock<T>(conn: ReservedSql, key: bigint, what: string, waitSeconds: number, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + waitSeconds * 1000;
  for (;;) {
    const [row] = await conn`select pg_catalog.pg_try_advisory_lock(${key.toString()}::bigint) as ok`;
    if (row.ok) break;
    if (Date.now() >= deadline) {
      const holder = await findLockHolder(conn, key);
      const who = holder
        ? `pid ${holder.pid} (${holder.applicationName || 'unknown application'}${holder.clientAddr ? ` from ${holder.clientAddr}` : ''}, since ${holder.since})`
        : 'another session';
      throw new BookingDbError('busy', `another ${what} is running: ${who} holds the ${what} lock`, {
        exitCode: ExitCode.busy,
        hint: `wait for it to finish, or raise --lock-wait (waited ${waitSeconds} s)`,
        details: holder ? { holder } : undefined,
      });
    }
    await new Promise((r) => setTimeout(r, Math.min(250, Math.max(10, deadline - Date.now()))));
  }
  try {
    return await fn();
  } finally {
    await conn`select pg_catalog.pg_advisory_unlock(${key.toString()}::bigint)`.catch(() => undefined);
  }
}
