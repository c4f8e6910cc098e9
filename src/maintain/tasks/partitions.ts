import type { ReservedSql, Sql } from 'postgres';
import { BookingDbError } from '../../errors.js';
import { withLockTimeout } from '../locks.js';
import type { MaintainTask, MaintainTaskContext } from '../task.js';

interface PlanRow { action: 'create' | 'drop' | 'default'; partition: string; rows: number }

function settings(ctx: MaintainTaskContext): { monthsAhead: number; retentionMonths: number } {
  const o = ctx.options as { monthsAhead?: number; retentionMonths?: number };
  return { monthsAhead: o.monthsAhead ?? 3, retentionMonths: o.retentionMonths ?? 13 };
}

async function readPlan(tx: Sql | ReservedSql, s: { monthsAhead: number; retentionMonths: number }): Promise<PlanRow[]> {
  const rows = await tx`select action, partition, rows from ops.maintain_audit_partition_plan(${s.monthsAhead}::int, ${s.retentionMonths}::int)`;
  return rows.map((r) => ({ action: r.action, partition: String(r.partition), rows: Number(r.rows) }));
}

function names(plan: PlanRow[], action: PlanRow['action']): string[] {
  return plan.filter((p) => p.action === action).map((p) => p.partition);
}

function sum(plan: PlanRow[], action: PlanRow['action']): number {
  return plan.filter((p) => p.action === action).reduce((n, p) => n + p.rows, 0);
}

/**
 * `partitions`: audit-log partitions for this month and `monthsAhead` more (rows that
 * landed in the default partition for such a month are moved into it: a row there
 * would block creating the partition), and monthly partitions older than
 * `retentionMonths` dropped, through the owner's ops.ensure_audit_partitions() and
 * ops.drop_audit_partitions() (sql/schema/40-maintenance). Two transactions, each under
 * lock_timeout with retries: creating and dropping never wait on booking traffic for
 * long. What to do comes from ops.maintain_audit_partition_plan(), also the dry run.
 */
export const partitionsTask: MaintainTask = {
  name: 'partitions',
  description: 'create audit-log partitions months ahead, moving default-partition rows into them; drop those past the retention',
  defaultEnabled: true,
  async run(ctx) {
    const s = settings(ctx);
    if (ctx.dryRun) {
      const plan = await readPlan(ctx.sql, s);
      return {
        dryRun: true, ...s, wouldCreate: names(plan, 'create'), wouldMoveRows: sum(plan, 'create'),
        wouldDrop: names(plan, 'drop'), defaultRowsLeft: sum(plan, 'default'),
      };
    }
    const ensured = await withLockTimeout(ctx, 'partitions (create)', async (tx) => {
      const plan = await readPlan(tx, s);
      const [row] = await tx`select ops.ensure_audit_partitions(${s.monthsAhead}::int) as n`;
      return { created: names(plan, 'create'), count: Number(row.n), moved: sum(plan, 'create'), defaultRowsLeft: sum(plan, 'default') };
    });
    ctx.progress(`created ${ensured.count}, moved ${ensured.moved} rows from the default partition`);
    const done = { ...s, created: ensured.created, movedRows: ensured.moved, defaultRowsLeft: ensured.defaultRowsLeft };
    try {
      const dropped = await withLockTimeout(ctx, 'partitions (drop)', async (tx) => {
        const plan = await readPlan(tx, s);
        const [row] = await tx`select ops.drop_audit_partitions(${s.retentionMonths}::int) as n`;
        return { names: names(plan, 'drop'), count: Number(row.n) };
      });
      return { ...done, dropped: dropped.names };
    } catch (error) {
      if (error instanceof BookingDbError && error.code === 'skipped') {
        throw new BookingDbError('skipped', error.message, { details: { ...error.details, ...done } });
      }
      throw error;
    }
  },
};
