import { usageError } from '../errors.js';
import type { MaintainTask } from './task.js';
import { expireHoldsTask } from './tasks/expire-holds.js';
import { partitionsTask } from './tasks/partitions.js';
import { pruneTask } from './tasks/prune.js';
import { refreshTask } from './tasks/refresh.js';
import { vacuumTask } from './tasks/vacuum.js';
import { reindexTask } from './tasks/reindex.js';
import { idleSessionsTask } from './tasks/idle-sessions.js';
import { retentionTask } from './tasks/retention.js';

/**
 * The tasks of `bookingdb maintain`, in the fixed order they run (a contract, documented
 * in the README): expire-holds, partitions, retention, refresh, vacuum, reindex, prune,
 * then the opt-in idle-sessions. Holds go first (freed slots are offered at once), then
 * the audit partitions the later tasks write into, retention before refresh (so the
 * reporting views never show anonymised-away data), vacuum and reindex after the tasks
 * that make dead tuples, prune last (it trims the ledger this run writes into).
 * Only the tasks that exist are registered; each new one goes in its place here.
 */
export const MAINTAIN_TASKS: readonly MaintainTask[] = [
  expireHoldsTask,
  partitionsTask,
  retentionTask,
  refreshTask,
  vacuumTask,
  reindexTask,
  pruneTask,
  idleSessionsTask,
];

export const TASK_NAMES: readonly string[] = MAINTAIN_TASKS.map((t) => t.name);

/**
 * The tasks to run, in registry order: those named in `only` (opt-in tasks run only
 * when named there), else every default-enabled task; minus those in `skip`. An unknown
 * name is exit 2, before anything connects.
 */
export function selectTasks(only: string[] = [], skip: string[] = []): MaintainTask[] {
  for (const [flag, names] of [['--only', only], ['--skip', skip]] as const) {
    const unknown = names.filter((n) => !TASK_NAMES.includes(n));
    if (unknown.length > 0) {
      throw usageError(`${flag}: unknown task${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => `"${n}"`).join(', ')}`, `tasks, in the order they run: ${TASK_NAMES.join(', ')}`);
    }
  }
  const selected = MAINTAIN_TASKS.filter((t) => (only.length > 0 ? only.includes(t.name) : t.defaultEnabled) && !skip.includes(t.name));
  if (selected.length === 0) throw usageError('no task left to run: --skip removed every selected task', `tasks: ${TASK_NAMES.join(', ')}`);
  return selected;
}
