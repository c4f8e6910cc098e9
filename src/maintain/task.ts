import type { Sql } from 'postgres';

/**
 * The shape of one `bookingdb maintain` task (issue 8). A task is data plus one
 * function: the runner (src/maintain/runner.ts) runs the selected tasks in the fixed
 * order of the registry, each inside withRun(sql, 'maintain', task.name, ...) so every
 * task is one ops.runs row, and renders the results. A task never prints.
 *
 * A task that cannot do its work for a reason that is not a failure (it could not get a
 * lock within lock_timeout, there is nothing to do, a precondition is absent) throws
 * BookingDbError('skipped', message, { details }): the run records `skipped` and goes on.
 * Anything else thrown is `failed`, and maintain exits 1 naming the task.
 */
export interface MaintainTaskContext {
  /** A pool on the target database (superuser or a member of the owner role). */
  sql: Sql;
  /** List what would be done (counts, names) and change nothing. */
  dryRun: boolean;
  /** lock_timeout for every statement that takes a lock (default 2000 ms). */
  lockTimeoutMs: number;
  /** Attempts when a statement hits lock_timeout before the task is skipped (default 3). */
  lockAttempts: number;
  /** Epoch ms by which the task must have returned (--max-duration), or undefined. */
  deadline?: number;
  /** Progress for the operator (a spinner line on a TTY, a timestamped line otherwise). */
  progress(message: string): void;
  /** The task's own section of the config file's `maintain` section, already validated. */
  options: Record<string, unknown>;
}

export interface MaintainTask {
  /** Stable kebab-case name: a contract (`maintain --only NAME`, ops.runs.task). */
  name: string;
  /** One line for `maintain --help` and the README. */
  description: string;
  /** False for opt-in tasks (idle-sessions): run only when named in --only. */
  defaultEnabled: boolean;
  /** Does the work (or, with dryRun, says what it would do) and returns counts and names: the run's detail. */
  run(ctx: MaintainTaskContext): Promise<Record<string, unknown>>;
}
