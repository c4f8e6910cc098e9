import { hostname } from 'node:os';
import type { ReservedSql, Sql } from 'postgres';
import { BookingDbError, isPgError } from '../errors.js';
import { packageVersion } from '../version.js';
import { withTransaction } from '../db/scoped.js';

/**
 * The operations ledger, ops.runs (DESIGN.md): every run of `maintain` (one row per
 * task), `metrics --store`, `backup` and `restore-verify` is a row. A run is inserted
 * as `running` in its own committed transaction, on a reserved connection that then
 * holds a session advisory lock keyed by the run id until the run is finished; a run
 * whose process died keeps status `running`, but its lock is gone, and readers
 * (ops.run_history, readRuns) show it as `interrupted`. Ledger statements run under a
 * short statement_timeout and lock_timeout: the ledger must never be what stalls a
 * production server.
 */
export type RunStatus = 'ok' | 'failed' | 'skipped';
export type RunState = 'running' | 'interrupted' | RunStatus;

/** classid of the run locks ('bkru'); objid is the run id. */
export const RUN_LOCK_CLASS = 0x626b7275;

const LEDGER_TIMEOUTS = "SET LOCAL statement_timeout = '5s'; SET LOCAL lock_timeout = '2s'";

export interface Run {
  readonly id: number;
  readonly command: string;
  readonly task: string | null;
  /** Records the outcome, releases the run lock and the connection. Idempotent. */
  finish(status: RunStatus, detail?: Record<string, unknown>): Promise<void>;
}

export interface RunRecord {
  id: number;
  command: string;
  task: string | null;
  state: RunState;
  startedAt: string;
  finishedAt: string | null;
  durationMs: number;
  detail: Record<string, unknown>;
  client: string | null;
}

/** Who ran it, for the `client` column: bookingdb version, host and pid. */
export function clientLabel(): string {
  return `bookingdb ${packageVersion()} on ${hostname()} pid ${process.pid}`;
}

function runKey(id: number): string {
  return ((BigInt(RUN_LOCK_CLASS) << 32n) | BigInt(id)).toString();
}

function notDeployed(error: unknown): BookingDbError | undefined {
  if (isPgError(error) && error.code === '42P01') {
    return new BookingDbError('not_deployed', 'this database has no ops.runs ledger: it was not deployed with this version of bookingdb', {
      exitCode: 4, hint: 'run `bookingdb deploy` first', cause: error,
    });
  }
  return undefined;
}

/**
 * Starts a run: inserts the `running` row and takes its lock in one transaction, so a
 * reader never sees the row without the lock. The returned Run owns a reserved
 * connection until finish() is called.
 */
export async function startRun(sql: Sql, command: string, task: string | null = null, detail: Record<string, unknown> = {}): Promise<Run> {
  const conn: ReservedSql = await sql.reserve();
  let id: number;
  try {
    id = await withTransaction(conn, async () => {
      await conn.unsafe(LEDGER_TIMEOUTS);
      const [row] = await conn`
        insert into ops.runs (command, task, detail, client)
        values (${command}, ${task}, ${conn.json(detail as never)}, ${clientLabel()})
        returning id`;
      await conn`select pg_catalog.pg_advisory_lock(${runKey(Number(row.id))}::bigint)`;
      return Number(row.id);
    });
  } catch (error) {
    conn.release();
    throw notDeployed(error) ?? error;
  }
  let finished = false;
  return {
    id, command, task,
    async finish(status, finalDetail) {
      if (finished) return;
      finished = true;
      try {
        await withTransaction(conn, async () => {
          await conn.unsafe(LEDGER_TIMEOUTS);
          await conn`
            update ops.runs
               set status = ${status}, finished_at = pg_catalog.clock_timestamp(),
                   detail = detail || ${conn.json((finalDetail ?? {}) as never)}
             where id = ${id}`;
        });
      } finally {
        await conn`select pg_catalog.pg_advisory_unlock(${runKey(id)}::bigint)`.catch(() => undefined);
        conn.release();
      }
    },
  };
}

/**
 * Runs fn as one ledger run: `ok` with the detail fn returns, `failed` with the error
 * message (the error is rethrown), and the lock released in every case. A BookingDbError
 * with code 'skipped' records `skipped` and is not rethrown.
 */
export async function withRun<T extends Record<string, unknown> | void>(
  sql: Sql, command: string, task: string | null, fn: (run: Run) => Promise<T>,
): Promise<{ run: Run; status: RunStatus; result?: T }> {
  const run = await startRun(sql, command, task);
  try {
    const result = await fn(run);
    await run.finish('ok', (result ?? {}) as Record<string, unknown>);
    return { run, status: 'ok', result };
  } catch (error) {
    if (error instanceof BookingDbError && error.code === 'skipped') {
      await run.finish('skipped', { reason: error.message, ...error.details });
      return { run, status: 'skipped' };
    }
    const message = error instanceof Error ? error.message : String(error);
    const code = (error as { code?: unknown }).code;
    await run.finish('failed', { error: message.slice(0, 2000), ...(typeof code === 'string' ? { code } : {}) }).catch(() => undefined);
    throw error;
  }
}

function toRecord(r: Record<string, unknown>): RunRecord {
  return {
    id: Number(r.id), command: String(r.command), task: (r.task as string | null) ?? null, state: r.state as RunState,
    startedAt: new Date(r.started_at as string).toISOString(),
    finishedAt: r.finished_at ? new Date(r.finished_at as string).toISOString() : null,
    durationMs: Math.round(Number(r.duration_ms)), detail: (r.detail ?? {}) as Record<string, unknown>, client: (r.client as string | null) ?? null,
  };
}

/** The newest runs, newest first, with interrupted runs told apart from running ones. */
export async function readRuns(sql: Sql | ReservedSql, options: { command?: string; task?: string; state?: RunState; limit?: number } = {}): Promise<RunRecord[]> {
  const limit = Math.min(Math.max(options.limit ?? 50, 1), 1000);
  try {
    const rows = await sql`
      select id, command, task, state, started_at, finished_at,
             (extract(epoch from duration) * 1000)::float8 as duration_ms, detail, client
        from ops.run_history
       where (${options.command ?? null}::text is null or command = ${options.command ?? null})
         and (${options.task ?? null}::text is null or task = ${options.task ?? null})
         and (${options.state ?? null}::text is null or state = ${options.state ?? null})
       order by started_at desc, id desc
       limit ${limit}`;
    return rows.map(toRecord);
  } catch (error) {
    throw notDeployed(error) ?? error;
  }
}

/** The newest `ok` run of a command (and task), or undefined: what freshness checks read. */
export async function lastOkRun(sql: Sql | ReservedSql, command: string, task?: string): Promise<RunRecord | undefined> {
  const [run] = await readRuns(sql, { command, task, state: 'ok', limit: 1 });
  return run;
}
