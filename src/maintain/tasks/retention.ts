import type { ReservedSql, Sql } from 'postgres';
import { BookingDbError } from '../../errors.js';
import { withLockTimeout } from '../locks.js';
import type { MaintainTask, MaintainTaskContext } from '../task.js';

interface Settings { months: number; batchSize: number }

interface Due { tenantId: string; slug: string; retention: string; cutoff: string; customersDue: number; erasureRequestsDue: number }

type Kind = 'erasure' | 'retention';

function settings(ctx: MaintainTaskContext): Settings {
  const o = ctx.options as { months?: number; batchSize?: number };
  return { months: o.months ?? 24, batchSize: o.batchSize ?? 1000 };
}

/** Per tenant with work: its retention, cutoff and counts (ops.maintain_retention_due). */
async function readDue(sql: Sql | ReservedSql, months: number): Promise<Due[]> {
  const rows = await sql`
    select tenant_id, slug, retention::text as retention, cutoff::text as cutoff, customers_due, erasures_due
      from ops.maintain_retention_due(pg_catalog.make_interval(months => ${months}::int))`;
  return rows.map((r) => ({
    tenantId: String(r.tenant_id), slug: String(r.slug), retention: String(r.retention), cutoff: String(r.cutoff),
    customersDue: Number(r.customers_due), erasureRequestsDue: Number(r.erasures_due),
  }));
}

function remainingOf(due: Due[]): { customers: number; erasureRequests: number } {
  return {
    customers: due.reduce((n, d) => n + d.customersDue, 0),
    erasureRequests: due.reduce((n, d) => n + d.erasureRequestsDue, 0),
  };
}

interface Totals { tenants: number; customersAnonymised: number; erasureRequestsDone: number; rowsCleared: number; batches: number; longestBatchMs: number }

/**
 * Runs the batches of one kind for one tenant until the tenant has no more, or the
 * deadline passes (returns false then). Each batch is one call of
 * ops.maintain_retention_batch in its own transaction under lock_timeout.
 */
async function drain(ctx: MaintainTaskContext, s: Settings, due: Due, kind: Kind, totals: Totals): Promise<boolean> {
  let after: { at: string | null; id: string | null } = { at: null, id: null };
  for (;;) {
    if (ctx.deadline !== undefined && Date.now() >= ctx.deadline) return false;
    const [row] = await withLockTimeout(ctx, `retention (${kind})`, (tx) => tx`
      select selected, customers, erasures, rows_cleared, last_at::text as last_at, last_id, xact_ms
        from ops.maintain_retention_batch(${due.tenantId}::uuid, ${kind}, ${due.cutoff}::timestamptz,
                                          ${after.at}::timestamptz, ${after.id}::uuid, ${s.batchSize}::int)`);
    const selected = Number(row.selected);
    if (selected > 0) {
      totals.batches += 1;
      totals.longestBatchMs = Math.max(totals.longestBatchMs, Math.ceil(Number(row.xact_ms))); // the transaction's own age: its locks
      totals.customersAnonymised += Number(row.customers);
      totals.erasureRequestsDone += Number(row.erasures);
      totals.rowsCleared += Number(row.rows_cleared);
      ctx.progress(`retention: ${totals.customersAnonymised} customers anonymised, ${totals.erasureRequestsDone} erasure requests done`);
    }
    if (selected < s.batchSize) return true;
    after = { at: String(row.last_at), id: String(row.last_id) }; // text: keeps the microseconds
  }
}

/**
 * `retention` (GDPR): per tenant, completes the pending erasure requests, then
 * anonymises the customers with no booking activity for the tenant's retention
 * (booking.tenants.customer_retention, else `months`, default 24): every column tagged
 * 'pii' in the catalog is overwritten, on the customer and on the rows tied to it
 * (bookings.cancel_reason, erasure_requests.note, ...), anonymized_at set; booking
 * facts (times, prices, statuses) stay. In batches of `batchSize` customers, each one
 * transaction under lock_timeout that locks its customers FOR UPDATE SKIP LOCKED (a
 * customer a booking holds is passed over, never waited on) and writes one audit row
 * with counts only. A batch is all or nothing, so a killed run leaves only whole
 * batches done, and the next run goes on from what is left. Stops between batches at
 * the deadline and reports what remains. Dry run: counts per tenant.
 */
export const retentionTask: MaintainTask = {
  name: 'retention',
  description: 'anonymise customers without booking activity for the retention period and complete erasure requests (GDPR), in short batches',
  defaultEnabled: true,
  async run(ctx) {
    const s = settings(ctx);
    const plan = await readDue(ctx.sql, s.months);
    if (ctx.dryRun) {
      const total = remainingOf(plan);
      return {
        dryRun: true, retentionMonths: s.months, batchSize: s.batchSize,
        wouldAnonymise: total.customers, wouldCompleteErasureRequests: total.erasureRequests,
        tenants: plan.map((d) => ({ tenant: d.tenantId, slug: d.slug, retention: d.retention, customersDue: d.customersDue, erasureRequestsDue: d.erasureRequestsDue })),
      };
    }
    const totals: Totals = { tenants: 0, customersAnonymised: 0, erasureRequestsDone: 0, rowsCleared: 0, batches: 0, longestBatchMs: 0 };
    const base = { retentionMonths: s.months, batchSize: s.batchSize };
    try {
      for (const due of plan) {
        const finished = (due.erasureRequestsDue === 0 || await drain(ctx, s, due, 'erasure', totals))
          && (due.customersDue === 0 || await drain(ctx, s, due, 'retention', totals));
        if (!finished) {
          return { ...base, ...totals, stoppedAtDeadline: true, remaining: remainingOf(await readDue(ctx.sql, s.months)) };
        }
        totals.tenants += 1;
      }
    } catch (error) {
      // the committed batches stay done: report them with the skip
      if (error instanceof BookingDbError && error.code === 'skipped') {
        throw new BookingDbError('skipped', error.message, { details: { ...error.details, ...base, ...totals } });
      }
      throw error;
    }
    return { ...base, ...totals };
  },
};
