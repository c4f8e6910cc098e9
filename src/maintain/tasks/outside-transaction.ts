import type { ReservedSql } from 'postgres';
import { isPgError } from '../../errors.js';
import { describeBlockers, watchBlockers, type Blocker, type BlockerWatch } from '../../deploy/blockers.js';
import type { MaintainTaskContext } from '../task.js';

/**
 * One maintenance statement that cannot run in a transaction block (VACUUM, REINDEX
 * CONCURRENTLY, DROP INDEX CONCURRENTLY), run on a reserved connection of its own as a
 * single simple-protocol statement, never inside BEGIN. Its session runs it under
 * lock_timeout (ctx.lockTimeoutMs; these statements wait for SHARE UPDATE EXCLUSIVE or
 * stronger, so a blocked one never queues booking traffic behind it for longer than
 * that), retried ctx.lockAttempts times while a second connection watches who blocks
 * it, and under statement_timeout = the smaller of `timeoutMs` and the time left before
 * ctx.deadline: the --max-duration budget bounds the statement itself, not only when it
 * starts. A statement with less than MIN_START_MS of budget left is not started.
 * Both settings are reset before the connection goes back to the pool.
 */
export type StatementOutcome =
  | { status: 'done'; durationMs: number; attempts: number }
  | { status: 'blocked'; durationMs: number; attempts: number; blockers: Blocker[]; reason: string }
  | { status: 'cut short'; durationMs: number; attempts: number; reason: string }
  | { status: 'not started'; durationMs: 0; attempts: 0; reason: string };

/** Less budget than this left: the statement is not started at all. */
export const MIN_START_MS = 250;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Milliseconds left before ctx.deadline (Infinity without --max-duration). */
export function budgetLeft(ctx: MaintainTaskContext): number {
  return ctx.deadline === undefined ? Number.POSITIVE_INFINITY : ctx.deadline - Date.now();
}

async function setSessionTimeouts(conn: ReservedSql, statementMs: number, lockMs: number): Promise<void> {
  await conn.unsafe('select pg_catalog.set_config($1, $2, false), pg_catalog.set_config($3, $4, false)',
    ['statement_timeout', `${Math.max(1, Math.trunc(statementMs))}ms`, 'lock_timeout', `${Math.max(1, Math.trunc(lockMs))}ms`]);
}

/**
 * Session settings a statement runs under besides the timeouts (e.g. VACUUM's
 * vacuum_cost_delay and vacuum_cost_limit), as values, never pasted into SQL; each is
 * reset before the connection goes back to the pool.
 */
export type SessionSettings = Readonly<Record<string, string>>;

/** Runs `statement` (already quoted by the caller: identifiers only, no values) as described above. */
export async function runOutsideTransaction(ctx: MaintainTaskContext, what: string, statement: string, timeoutMs: number,
  settings: SessionSettings = {}): Promise<StatementOutcome> {
  const started = Date.now();
  if (budgetLeft(ctx) < MIN_START_MS) return { status: 'not started', durationMs: 0, attempts: 0, reason: 'the --max-duration budget was spent' };
  const conn = await ctx.sql.reserve();
  const names = Object.keys(settings);
  try {
    for (const name of names) await conn.unsafe('select pg_catalog.set_config($1, $2, false)', [name, settings[name]]);
    const [{ pid }] = await conn`select pg_catalog.pg_backend_pid() as pid`;
    const interval = Math.max(10, Math.min(200, Math.floor(ctx.lockTimeoutMs / 5)));
    let seen: Blocker[] = [];
    for (let attempt = 1; ; attempt++) {
      const left = budgetLeft(ctx);
      if (left < MIN_START_MS) {
        return { status: 'cut short', durationMs: Date.now() - started, attempts: attempt - 1, reason: 'the --max-duration budget ran out while retrying the lock' };
      }
      const byBudget = left < timeoutMs;
      await setSessionTimeouts(conn, Math.min(left, timeoutMs), ctx.lockTimeoutMs);
      // the watcher starts only for a statement still running after `interval` (a lock
      // wait lasts lockTimeoutMs, so it is still seen); short ones cost no extra round trips
      let watch: BlockerWatch | undefined;
      const timer = setTimeout(() => { watch = watchBlockers(ctx.sql, Number(pid), interval); }, interval);
      const stopWatch = async () => { clearTimeout(timer); return watch ? watch.stop() : []; };
      try {
        await conn.unsafe(statement).simple();
        return { status: 'done', durationMs: Date.now() - started, attempts: attempt };
      } catch (error) {
        if (!isPgError(error)) throw error;
        if (error.code === '57014' && /statement timeout/.test(error.message)) {
          return {
            status: 'cut short', durationMs: Date.now() - started, attempts: attempt,
            reason: byBudget ? 'cancelled at the --max-duration deadline' : `cancelled after its own timeout of ${timeoutMs} ms`,
          };
        }
        if (error.code !== '55P03') throw error;
        const blockers = await stopWatch();
        if (blockers.length > 0) seen = blockers;
        if (attempt >= ctx.lockAttempts) {
          return {
            status: 'blocked', durationMs: Date.now() - started, attempts: attempt, blockers: seen,
            reason: `no lock within ${ctx.lockTimeoutMs} ms in ${attempt} attempts; blocked by ${describeBlockers(seen)}`,
          };
        }
        ctx.progress(`${what}: lock timeout (attempt ${attempt}/${ctx.lockAttempts}), blocked by ${describeBlockers(blockers)}; retrying`);
        await sleep(Math.min(250 * attempt, ctx.lockTimeoutMs, Math.max(0, budgetLeft(ctx))));
      } finally {
        await stopWatch();
      }
    }
  } finally {
    await conn.unsafe('reset statement_timeout').catch(() => undefined);
    await conn.unsafe('reset lock_timeout').catch(() => undefined);
    for (const name of names) await conn.unsafe('select pg_catalog.set_config(s.name, s.reset_val, false) from pg_catalog.pg_settings s where s.name = $1', [name]).catch(() => undefined);
    conn.release();
  }
}
