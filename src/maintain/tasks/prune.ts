import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../paths.js';
import { pruneMetricSnapshots } from '../../metrics/store.js';
import { withLockTimeout } from '../locks.js';
import type { MaintainTask, MaintainTaskContext } from '../task.js';

/** Rows deleted per transaction: short transactions, short row locks. */
const BATCH = 5000;

function query(name: 'prune-runs' | 'prune-plan'): string {
  return readFileSync(join(packageRoot, 'sql', 'queries', 'maintain', `${name}.sql`), 'utf8').replace(/\r\n?/g, '\n');
}

function settings(ctx: MaintainTaskContext): { runsRetentionDays: number; metricsRetentionDays: number } {
  const o = ctx.options as { runsRetentionDays?: number; metricsRetentionDays?: number };
  return { runsRetentionDays: o.runsRetentionDays ?? 90, metricsRetentionDays: o.metricsRetentionDays ?? 14 };
}

/**
 * `prune`: trims the ops.runs ledger to runsRetentionDays (never a run that is still
 * running: its session holds the run lock; an interrupted one goes like a finished
 * one) and the stored metric snapshots to metricsRetentionDays (never the newest:
 * src/metrics/store.ts pruneMetricSnapshots), BATCH rows per transaction, each under
 * lock_timeout. Dry run: the counts (sql/queries/maintain/prune-plan.sql).
 */
export const pruneTask: MaintainTask = {
  name: 'prune',
  description: 'trim ops.runs and the stored metric snapshots to their retention',
  defaultEnabled: true,
  async run(ctx) {
    const s = settings(ctx);
    if (ctx.dryRun) {
      const [row] = await ctx.sql.unsafe(query('prune-plan'), [s.runsRetentionDays, s.metricsRetentionDays]);
      return { dryRun: true, ...s, wouldDeleteRuns: Number(row.runs), wouldDeleteSnapshots: Number(row.snapshots) };
    }
    const text = query('prune-runs');
    let runs = 0;
    for (;;) {
      const deleted = await withLockTimeout(ctx, 'prune (ops.runs)', async (tx) => (await tx.unsafe(text, [s.runsRetentionDays, BATCH])).length);
      runs += deleted;
      if (deleted < BATCH) break;
      ctx.progress(`${runs} runs deleted`);
    }
    const snapshots = await pruneMetricSnapshots(ctx.sql, s.metricsRetentionDays, BATCH);
    return { ...s, runsDeleted: runs, snapshotsDeleted: snapshots };
  },
};
