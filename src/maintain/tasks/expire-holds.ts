import { BookingDbError } from '../../errors.js';
import { withLockTimeout } from '../locks.js';
import type { MaintainTask } from '../task.js';

/**
 * Tenants walked per transaction: each call of ops.maintain_expire_holds is one short
 * transaction, and ends early after the first tenant whose holds it expired.
 */
const TENANTS_PER_BATCH = 100;

/**
 * `expire-holds`: cancels the pending bookings whose hold has lapsed, in every tenant,
 * through ops.maintain_expire_holds() (owned by bookingdb_ops; per tenant it calls the
 * API's own booking.expire_tenant_holds, so slots are freed and offered to the waitlist
 * exactly as `cancel` does). Tenants are walked in id order, up to TENANTS_PER_BATCH
 * per transaction, each under lock_timeout, and a transaction expires the holds of one
 * tenant at most, so the waitlist offers' resource locks are held for one tenant's
 * backlog, never for every tenant's. Dry run: ops.maintain_holds_due() counts.
 */
export const expireHoldsTask: MaintainTask = {
  name: 'expire-holds',
  description: 'cancel pending bookings past their hold in every tenant, freeing the slots and offering them to the waitlist',
  defaultEnabled: true,
  async run(ctx) {
    if (ctx.dryRun) {
      const [due] = await ctx.sql`select tenants, holds from ops.maintain_holds_due()`;
      return { dryRun: true, tenantsWithExpired: Number(due.tenants), wouldExpire: Number(due.holds) };
    }
    const totals = { tenants: 0, tenantsWithExpired: 0, expired: 0, offered: 0, batches: 0 };
    let after: string | null = null;
    for (;;) {
      let row;
      try {
        [row] = await withLockTimeout(ctx, 'expire-holds', (tx) =>
          tx`select tenants, tenants_expired, expired, offered, last_tenant from ops.maintain_expire_holds(${after}::uuid, ${TENANTS_PER_BATCH})`);
      } catch (error) {
        // what the committed batches did stays done: report it with the skip
        if (error instanceof BookingDbError && error.code === 'skipped') {
          throw new BookingDbError('skipped', error.message, { details: { ...error.details, ...totals } });
        }
        throw error;
      }
      totals.batches += 1;
      totals.tenants += Number(row.tenants);
      totals.tenantsWithExpired += Number(row.tenants_expired);
      totals.expired += Number(row.expired);
      totals.offered += Number(row.offered);
      ctx.progress(`${totals.tenants} tenants, ${totals.expired} holds expired`);
      // done: no tenant left, or the last tenants walked had nothing to expire (a batch
      // that ended early, at a tenant it expired holds of, goes on after that tenant)
      if (row.last_tenant === null || (Number(row.tenants) < TENANTS_PER_BATCH && Number(row.tenants_expired) === 0)) break;
      after = String(row.last_tenant);
    }
    return totals;
  },
};
