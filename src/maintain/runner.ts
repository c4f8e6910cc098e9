import type { Sql } from 'postgres';
import { BookingDbError, ExitCode } from '../errors.js';
import { findLockHolder, type LockHolder } from '../db/scoped.js';
import { refuseThroughPooler } from '../db/pooler.js';
import { withRun } from '../runs/ledger.js';
import { MAINTAIN_LOCK_KEY } from './locks.js';
import { selectTasks } from './registry.js';
import type { MaintainTaskContext } from './task.js';

/**
 * `bookingdb maintain`: runs the selected tasks in the registry's fixed order, each as
 * one ops.runs row (withRun(sql, 'maintain', task, ...)), while this session holds the
 * maintain advisory lock (one maintain at a time per database; the lock goes with the
 * connection, so a killed run never leaves it behind). A task that throws
 * BookingDbError('skipped') is recorded skipped; any other error is recorded failed;
 * either way the remaining tasks still run (a failed vacuum must not keep the ledger
 * from being pruned), and the report's exit code is 1 when any task failed.
 * A dry run records nothing in ops.runs and changes nothing. Returns data; never prints.
 * The pool needs at least 4 connections: the lock, a run's ledger row, the task, and
 * the lock-wait watcher.
 */
export interface MaintainOptions {
  only?: string[];
  skip?: string[];
  dryRun?: boolean;
  /** Another maintain holds the lock: return a `busy` report (exit 0) instead of exit 5. */
  skipIfBusy?: boolean;
  lockTimeoutMs?: number;
  lockAttempts?: number;
  /** Epoch ms by which tasks should have returned (--max-duration). */
  deadline?: number;
  /** Each task's config sub-section (maintain.partitions, maintain.prune, ...). */
  taskOptions?: Record<string, Record<string, unknown>>;
  progress?: (task: string, message: string) => void;
}

export type TaskStatus = 'ok' | 'skipped' | 'failed';

export interface TaskResult {
  name: string;
  status: TaskStatus;
  /** The ops.runs id (null in a dry run). */
  runId: number | null;
  durationMs: number;
  detail: Record<string, unknown>;
  /** Why it was skipped or failed. */
  reason?: string;
}

export interface MaintainReport {
  status: 'ok' | 'failed' | 'busy';
  exitCode: number;
  dryRun: boolean;
  tasks: TaskResult[];
  /** The session holding the maintain lock, when status is busy. */
  holder?: LockHolder;
  durationMs: number;
}

function describeHolder(holder: LockHolder | undefined): string {
  return holder
    ? `pid ${holder.pid} (${holder.applicationName || 'unknown application'}${holder.clientAddr ? ` from ${holder.clientAddr}` : ''}, since ${holder.since})`
    : 'another session';
}

export async function runMaintain(sql: Sql, options: MaintainOptions = {}): Promise<MaintainReport> {
  const started = Date.now();
  const tasks = selectTasks(options.only, options.skip);
  const max = Number((sql.options as { max?: number }).max ?? 1);
  if (max < 4) throw new Error(`runMaintain needs a pool of at least 4 connections, got ${max}`); // a bug, not a user error
  const dryRun = Boolean(options.dryRun);
  await refuseThroughPooler(sql, 'maintain');
  const lock = await sql.reserve();
  try {
    const [got] = await lock`select pg_catalog.pg_try_advisory_lock(${MAINTAIN_LOCK_KEY.toString()}::bigint) as ok`;
    if (!got.ok) {
      const holder = await findLockHolder(lock, MAINTAIN_LOCK_KEY);
      if (options.skipIfBusy) {
        return { status: 'busy', exitCode: ExitCode.ok, dryRun, tasks: [], holder, durationMs: Date.now() - started };
      }
      throw new BookingDbError('busy', `another maintain is running: ${describeHolder(holder)} holds the maintain lock`, {
        exitCode: ExitCode.busy,
        hint: 'wait for it to finish; from cron, pass --skip-if-busy to exit 0 instead',
        details: holder ? { holder } : undefined,
      });
    }
    try {
      const results: TaskResult[] = [];
      for (const task of tasks) {
        const ctx: MaintainTaskContext = {
          sql, dryRun,
          lockTimeoutMs: options.lockTimeoutMs ?? 2000,
          lockAttempts: options.lockAttempts ?? 3,
          deadline: options.deadline,
          progress: (message) => options.progress?.(task.name, message),
          options: options.taskOptions?.[task.name] ?? {},
        };
        options.progress?.(task.name, dryRun ? 'planning' : 'running');
        results.push(dryRun ? await planTask(task, ctx) : await runTask(sql, task, ctx));
      }
      const failed = results.some((r) => r.status === 'failed');
      return { status: failed ? 'failed' : 'ok', exitCode: failed ? ExitCode.failed : ExitCode.ok, dryRun, tasks: results, durationMs: Date.now() - started };
    } finally {
      await lock`select pg_catalog.pg_advisory_unlock(${MAINTAIN_LOCK_KEY.toString()}::bigint)`.catch(() => undefined);
    }
  } finally {
    lock.release();
  }
}

type Task = ReturnType<typeof selectTasks>[number];

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function runTask(sql: Sql, task: Task, ctx: MaintainTaskContext): Promise<TaskResult> {
  const t = Date.now();
  let skipped: BookingDbError | undefined;
  let runId: number | null = null;
  try {
    const { run, status, result } = await withRun(sql, 'maintain', task.name, async (r) => {
      runId = r.id;
      try {
        return await task.run(ctx);
      } catch (error) {
        if (error instanceof BookingDbError && error.code === 'skipped') skipped = error;
        throw error;
      }
    });
    return {
      name: task.name, status, runId: run.id, durationMs: Date.now() - t,
      detail: status === 'skipped' ? { ...skipped?.details } : (result ?? {}),
      ...(status === 'skipped' ? { reason: skipped?.message } : {}),
    };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return {
      name: task.name, status: 'failed', runId, durationMs: Date.now() - t, reason: reasonOf(error),
      detail: typeof code === 'string' ? { code } : {},
    };
  }
}

async function planTask(task: Task, ctx: MaintainTaskContext): Promise<TaskResult> {
  const t = Date.now();
  try {
    const detail = await task.run(ctx); // awaited before the duration is taken
    return { name: task.name, status: 'ok', runId: null, durationMs: Date.now() - t, detail };
  } catch (error) {
    const skipped = error instanceof BookingDbError && error.code === 'skipped';
    return {
      name: task.name, status: skipped ? 'skipped' : 'failed', runId: null, durationMs: Date.now() - t, reason: reasonOf(error),
      detail: skipped ? { ...error.details } : {},
    };
  }
}
