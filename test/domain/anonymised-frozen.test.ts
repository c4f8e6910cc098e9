import { describe, expect, it } from 'vitest';
import { createTestDatabase } from '../helpers/database.js';
import { appPool, createTenant, inTenant } from './helpers.js';

// The app holds UPDATE (email, full_name, phone) on booking.customers to edit contact
// details. It could write a name back into a customer that retention or an erasure
// request had anonymised, undoing the erasure (found in a review: it used to succeed).
// A restrictive UPDATE policy hides anonymised rows from the app's UPDATEs.
const db = await createTestDatabase();
const { sql: app } = await appPool(db, 2);

async function anonymise(tenantId: string, customerId: string): Promise<void> {
  await db.sql`update booking.customers set anonymized_at = now(), email = null, phone = null, full_name = 'anonymised'
                where tenant_id = ${tenantId} and id = ${customerId}`;
}

describe('an anonymised customer stays anonymised', () => {
  it('the app cannot write personal data back into an anonymised customer: the UPDATE changes no row', async () => {
    const fx = await createTenant(db.sql);
    const [customer] = fx.customers;
    await anonymise(fx.tenantId, customer);
    for (const set of [{ full_name: 'Jane Doe' }, { email: 'jane@example.com' }, { phone: '+49 30 1234567' }]) {
      const r = await inTenant(app, fx.tenantId, (tx) => tx`update booking.customers set ${tx(set)} where id = ${customer}`);
      expect(r.count).toBe(0);
    }
    const [row] = await db.sql`select full_name, email, phone from booking.customers where tenant_id = ${fx.tenantId} and id = ${customer}`;
    expect(row).toEqual({ full_name: 'anonymised', email: null, phone: null });
  });

  it('the app still edits customers that are not anonymised, and other roles still write anonymised rows', async () => {
    const fx = await createTenant(db.sql);
    const [live, gone] = fx.customers;
    const updated = await inTenant(app, fx.tenantId, (tx) => tx`update booking.customers set full_name = 'New Name' where id = ${live} returning full_name`);
    expect(updated.map((r) => r.full_name)).toEqual(['New Name']);
    await anonymise(fx.tenantId, gone);
    // other roles still write it (retention, as the owner, clears a pii column added after
    // anonymising: test/maintain/retention.test.ts)
    const again = await db.sql`update booking.customers set phone = null where tenant_id = ${fx.tenantId} and id = ${gone} returning id`;
    expect(again.length).toBe(1);
  });
});
