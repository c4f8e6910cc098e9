import type { ReservedSql } from 'postgres';
import { BookingDbError, isPgError } from '../errors.js';
import { withTransaction } from '../db/scoped.js';
import { describeBlockers, watchBlockers, type Blocker } from '../deploy/blockers.js';
import type { MaintainTaskContext } from './task.js';

/**
 * Session advisory-lock key of `bookingdb maintain`, in the 'bkdb' namespace of
 * src/db/scoped.ts LockKey ('mntn' in the low 32 bits): one maintain at a time per
 * database. Kept here rather than in scoped.ts so the maintain area owns its key.
 */
export const MAINTAIN_LOCK_KEY = (0x626b6462n << 32n) | 0x6d6e746en;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs fn in one transaction on a connection of its own under SET LOCAL lock_timeout
 * (ctx.lockTimeoutMs), retrying up to ctx.lockAttempts times when a lock wait times
 * out (55P03), with a short pause between attempts. After the last attempt it throws
 * BookingDbError('skipped') naming the blocking pid and query (watched from a second
 * connection while fn waits), so the runner records the task as skipped and goes on:
 * maintenance never queues booking traffic behind it for longer than lock_timeout.
 */
export async function withLockTimeout<T>(ctx: MaintainTaskContext, what: string, fn: (tx: ReservedSql) => Promise<T>): Promise<T> {
  const conn = await ctx.sql.reserve();
  try {
    const [{ pid }] = await conn`select pg_catalog.pg_backend_pid() as pid`;
    const interval = Math.max(10, Math.min(200, Math.floor(ctx.lockTimeoutMs / 5)));
    let seen: Blocker[] = [];
    for (let attempt = 1; ; attempt++) {
      const watch = watchBlockers(ctx.sql, Number(pid), interval);
      try {
        return await withTransaction(conn, async () => {
          await conn`select pg_catalog.set_config('lock_timeout', ${`${Math.trunc(ctx.lockTimeoutMs)}ms`}, true)`;
          return fn(conn);
        });
      } catch (error) {
        if (!(isPgError(error) && error.code === '55P03')) throw error;
        const blockers = await watch.stop();
        if (blockers.length > 0) seen = blockers;
        if (attempt >= ctx.lockAttempts) {
          throw new BookingDbError('skipped', `${what}: no lock within ${ctx.lockTimeoutMs} ms in ${attempt} attempts; blocked by ${describeBlockers(seen)}`, {
            details: { kind: 'lock_timeout', lockTimeoutMs: ctx.lockTimeoutMs, attempts: attempt, blockers: seen },
          });
        }
        ctx.progress(`${what}: lock timeout (attempt ${attempt}/${ctx.lockAttempts}), blocked by ${describeBlockers(blockers)}; retrying`);
        await sleep(Math.min(250 * attempt, ctx.lockTimeoutMs));
      } finally {
        await watch.stop();
      }
    }
  } finally {
    conn.release();
  }
}
