import { describe, expect, it } from 'vitest';
import { createTestDatabase } from '../helpers/database.js';
import { appPool, at, bookingApi, createTenant, futureDate, pgError, sleep } from './helpers.js';

// A customer anonymised by maintain's retention batch while a booking for them is being
// made: the batch holds the customer row FOR UPDATE until it commits. book() must then
// refuse (BK002, "unknown or anonymised customer"), not create a booking for a customer
// whose personal data was just erased (it used to: its check read the row before the
// batch committed, and the foreign-key check only waited for the commit).
const db = await createTestDatabase();
const { sql: app } = await appPool(db, 2);

describe('book against a concurrent anonymisation of its customer', () => {
  it('waits for the anonymising transaction and then refuses with BK002; no booking is made', async () => {
    const fx = await createTenant(db.sql);
    const api = bookingApi(app, fx.tenantId);
    const customer = fx.customers[0];
    let release!: () => void;
    const held = new Promise<void>((r) => { release = r; });
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => { locked = r; });
    const batch = db.sql.begin(async (tx) => {
      await tx`select id from booking.customers where tenant_id = ${fx.tenantId} and id = ${customer} for update`;
      await tx`update booking.customers set anonymized_at = now(), email = null, phone = null, full_name = 'anonymised'
                where tenant_id = ${fx.tenantId} and id = ${customer}`;
      locked();
      await held;
    });
    await isLocked;
    const booking = pgError(api.book({ service: fx.services.cut, resource: fx.resources[0], customer, start: at(futureDate(5), '10:00', '+05:30') }));
    const waiting = async () => Number((await db.sql`select count(*)::int as n from pg_stat_activity
      where datname = current_database() and wait_event_type = 'Lock' and query like '%booking.book%'`)[0].n);
    for (let i = 0; i < 250 && (await waiting()) === 0; i++) await sleep(20);
    expect(await waiting()).toBe(1);
    release();
    await batch;
    const e = await booking;
    expect([e.code, e.message]).toEqual(['BK002', `unknown or anonymised customer ${customer}`]);
    const [{ n }] = await db.sql`select count(*)::int as n from booking.bookings where tenant_id = ${fx.tenantId} and customer_id = ${customer}`;
    expect(n).toBe(0);
  });
});
