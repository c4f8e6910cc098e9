import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createTestDatabase } from '../helpers/database.js';
import { appPool, at, bookingApi, createTenant, futureDate, inTenant, settle, type Outcome, type Sql } from './helpers.js';

// Many app connections at once against one tenant: the claims of DESIGN.md under
// contention (exactly one winner, 23P01 for the rest, never a deadlock or a double
// booking, idempotency keys and waitlist offers that hold when calls race).
const db = await createTestDatabase();
const { sql: app } = await appPool(db, 32);
const IST = '+05:30';

/** Opens n connections of the pool up front, so a burst really runs in parallel. */
async function warm(sql: Sql, n: number) {
  await Promise.all(Array.from({ length: n }, () => sql`select pg_sleep(0.05)`));
}

const codes = (rs: Outcome<unknown>[]) => rs.filter((r) => !r.ok).map((r) => (r as { code: string }).code);

/** Overlapping active allocations and overlapping live bookings of one tenant (as superuser). */
async function doubleBookings(tenantId: string) {
  const [r] = await db.sql`select
    (select count(*)::int from booking.booking_allocations a join booking.booking_allocations b
        on b.tenant_id = a.tenant_id and b.resource_id = a.resource_id and a.id < b.id and a.blocked && b.blocked
      where a.tenant_id = ${tenantId} and a.active and b.active) as allocations,
    (select count(*)::int from booking.bookings a join booking.bookings b
        on b.tenant_id = a.tenant_id and b.resource_id = a.resource_id and a.id < b.id and a.during && b.during
      where a.tenant_id = ${tenantId}
        and (a.status = 'confirmed' or (a.status = 'pending' and a.hold_expires_at > now()))
        and (b.status = 'confirmed' or (b.status = 'pending' and b.hold_expires_at > now()))) as bookings,
    (select count(*)::int from booking.bookings bk
      where bk.tenant_id = ${tenantId} and bk.status in ('pending', 'confirmed')
        and (select count(*) from booking.booking_allocations a
              where a.tenant_id = bk.tenant_id and a.booking_id = bk.id and a.active
                and a.resource_id = bk.resource_id and a.blocked @> bk.during) <> 1) as live_without_one_allocation,
    (select count(*)::int from booking.booking_allocations a join booking.bookings bk
        on bk.tenant_id = a.tenant_id and bk.id = a.booking_id
      where a.tenant_id = ${tenantId} and a.active and bk.status not in ('pending', 'confirmed')) as dead_but_allocated`;
  return r;
}

describe('races', () => {
  it('32 clients book the same slot: exactly one wins, 31 get 23P01 naming the resource, nothing else', async () => {
    const fx = await createTenant(db.sql, { customers: 32 });
    const api = bookingApi(app, fx.tenantId);
    const start = at(futureDate(5), '10:00', IST);
    await warm(app, 32);
    const rs = await Promise.all(fx.customers.map((customer) =>
      settle(api.book({ service: fx.services.cut, resource: fx.resources[0], customer, start }))));
    expect(rs.filter((r) => r.ok)).toHaveLength(1);
    expect(codes(rs).filter((c) => c !== '23P01')).toEqual([]);
    expect(codes(rs)).toHaveLength(31);
    for (const r of rs) if (!r.ok) expect(r.message).toContain(fx.resourceNames[0]);
    const [{ n, a }] = await db.sql`select (select count(*)::int from booking.bookings where tenant_id = ${fx.tenantId}) as n,
      (select count(*)::int from booking.booking_allocations where tenant_id = ${fx.tenantId} and active) as a`;
    expect([n, a]).toEqual([1, 1]);
  });

  it('16 clients book, hold, cancel and reschedule random slots for 5 seconds: no double booking, no unexpected error', async () => {
    const fx = await createTenant(db.sql, {
      resources: 4,
      customers: 16,
      hours: [['09:00', '17:00']],
      services: { cut: { duration: '60 minutes' }, color: { duration: '30 minutes', bufferBefore: '10 minutes', bufferAfter: '5 minutes' } },
    });
    const api = bookingApi(app, fx.tenantId);
    const day = futureDate(6);
    const services = [fx.services.cut, fx.services.color];
    const pick = <T>(xs: T[]) => xs[Math.floor(Math.random() * xs.length)];
    const randomStart = () => at(day, `${String(9 + Math.floor(Math.random() * 8)).padStart(2, '0')}:${pick(['00', '15', '30', '45'])}`, IST);
    const tally = { booked: 0, cancelled: 0, rescheduled: 0, taken: 0 };
    const unexpected: string[] = [];
    const allowed = new Set(['23P01', 'BK001', 'BK004']);
    const deadline = Date.now() + 5_000;
    await warm(app, 16);
    await Promise.all(fx.customers.map(async (customer) => {
      const mine: string[] = [];
      for (let i = 0; i < 5_000 && Date.now() < deadline; i++) {
        const roll = Math.random();
        let r: Outcome<unknown>;
        if (roll < 0.6 || mine.length === 0) {
          r = await settle(api.book({ service: pick(services), resource: pick(fx.resources), customer, start: randomStart(), hold: Math.random() < 0.2 ? '1 second' : null }));
          if (r.ok) { mine.push(r.value as string); tally.booked++; }
        } else if (roll < 0.8) {
          r = await settle(api.cancel(mine.splice(Math.floor(Math.random() * mine.length), 1)[0]));
          if (r.ok) tally.cancelled++;
        } else {
          r = await settle(api.reschedule(pick(mine), randomStart(), pick(fx.resources)));
          if (r.ok) tally.rescheduled++;
        }
        if (!r.ok) {
          if (r.code === '23P01') tally.taken++;
          if (!allowed.has(r.code)) unexpected.push(`${r.code}: ${r.message}`);
        }
      }
    }));
    expect(unexpected).toEqual([]);
    expect(tally.booked).toBeGreaterThan(20);
    expect(tally.taken).toBeGreaterThan(20);
    expect(tally.cancelled + tally.rescheduled).toBeGreaterThan(10);
    expect(await doubleBookings(fx.tenantId)).toEqual({ allocations: 0, bookings: 0, live_without_one_allocation: 0, dead_but_allocated: 0 });
  });

  it('16 concurrent calls with one idempotency key make one booking and all return its id', async () => {
    const fx = await createTenant(db.sql, { resources: 2, customers: 1 });
    const api = bookingApi(app, fx.tenantId);
    const day = futureDate(5);
    const key = `checkout-${randomUUID()}`;
    await warm(app, 16);
    const rs = await Promise.all(Array.from({ length: 16 }, () =>
      settle(api.book({ service: fx.services.cut, resource: fx.resources[0], customer: fx.customers[0], start: at(day, '10:00', IST), key }))));
    expect(codes(rs)).toEqual([]);
    const ids = new Set(rs.map((r) => (r as { value: string }).value));
    expect(ids.size).toBe(1);
    // retries that race with different arguments (a client changed its mind mid-retry) too
    const key2 = `checkout-${randomUUID()}`;
    const rs2 = await Promise.all(Array.from({ length: 16 }, (_, i) =>
      settle(api.book({ service: fx.services.cut, resource: fx.resources[i % 2], customer: fx.customers[0], start: at(day, `${11 + (i % 4)}:00`, IST), key: key2 }))));
    expect(codes(rs2)).toEqual([]);
    expect(new Set(rs2.map((r) => (r as { value: string }).value)).size).toBe(1);
    const rows = await db.sql`select b.idempotency_key, count(distinct b.id)::int as bookings, count(a.id)::int as allocations
      from booking.bookings b left join booking.booking_allocations a on a.tenant_id = b.tenant_id and a.booking_id = b.id and a.active
      where b.tenant_id = ${fx.tenantId} group by 1 order by 1`;
    const byKey = Object.fromEntries(rows.map((r) => [r.idempotency_key, [r.bookings, r.allocations]]));
    expect(byKey).toEqual({ [key]: [1, 1], [key2]: [1, 1] });
  });

  it('16 concurrent cancels with 6 waitlist entries: every entry is offered exactly once', async () => {
    const fx = await createTenant(db.sql, { resources: 4, customers: 22, hours: [['08:00', '20:00']] });
    const api = bookingApi(app, fx.tenantId);
    const day = futureDate(5);
    const bookings: string[] = [];
    for (let i = 0; i < 16; i++) {
      bookings.push(await api.book({ service: fx.services.cut, resource: fx.resources[i % 4], customer: fx.customers[i], start: at(day, `${10 + Math.floor(i / 4)}:00`, IST) }));
    }
    const waiting = fx.customers.slice(16);
    const entries: string[] = [];
    for (const customer of waiting) {
      entries.push(await api.joinWaitlist({ service: fx.services.cut, customer, from: at(day, '08:00', IST), to: at(day, '20:00', IST) }));
    }
    await warm(app, 16);
    const rs = await Promise.all(bookings.map((id) => settle(api.cancel(id))));
    expect(codes(rs)).toEqual([]);

    const offers = await db.sql`select e.id, e.status, e.customer_id, b.customer_id as booked_for, b.status as booking_status
      from booking.waitlist_entries e left join booking.bookings b on b.tenant_id = e.tenant_id and b.id = e.offered_booking_id
      where e.tenant_id = ${fx.tenantId} order by e.created_at`;
    expect(offers.map((o) => [o.status, o.booking_status, o.booked_for === o.customer_id])).toEqual(entries.map(() => ['offered', 'pending', true]));
    const [{ pending, offerAudits, maxPerEntry }] = await db.sql`select
      (select count(*)::int from booking.bookings where tenant_id = ${fx.tenantId} and status = 'pending') as pending,
      (select count(*)::int from ops.audit_log where tenant_id = ${fx.tenantId} and action = 'waitlist.offer') as "offerAudits",
      (select coalesce(max(n), 0)::int from (select count(*) as n from ops.audit_log
        where tenant_id = ${fx.tenantId} and action = 'waitlist.offer' group by entity_id) x) as "maxPerEntry"`;
    expect({ pending, offerAudits, maxPerEntry }).toEqual({ pending: 6, offerAudits: 6, maxPerEntry: 1 });
    expect(await doubleBookings(fx.tenantId)).toEqual({ allocations: 0, bookings: 0, live_without_one_allocation: 0, dead_but_allocated: 0 });
  });

  it('16 concurrent reschedules crossing between two resources in opposite directions: no deadlock, all land', async () => {
    const fx = await createTenant(db.sql, { resources: 2, customers: 16, hours: [['00:00', '24:00']] });
    const api = bookingApi(app, fx.tenantId);
    const day = futureDate(5);
    const [r0, r1] = fx.resources;
    const moves: Array<{ id: string; to: string; at: Date }> = [];
    for (let i = 0; i < 8; i++) {
      const hour = String(i).padStart(2, '0');
      const target = `${12 + i}:00`;
      const a = await api.book({ service: fx.services.cut, resource: r0, customer: fx.customers[i], start: at(day, `${hour}:00`, IST) });
      const b = await api.book({ service: fx.services.cut, resource: r1, customer: fx.customers[8 + i], start: at(day, `${hour}:00`, IST) });
      moves.push({ id: a, to: r1, at: at(day, target, IST) }, { id: b, to: r0, at: at(day, target, IST) });
    }
    await warm(app, 16);
    const rs = await Promise.all(moves.map((m) => settle(api.reschedule(m.id, m.at, m.to))));
    expect(codes(rs)).toEqual([]);
    const rows = await inTenant(app, fx.tenantId, (tx) => tx`select id, resource_id, lower(during) as s from booking.bookings`);
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const m of moves) {
      expect([byId.get(m.id)!.resource_id, byId.get(m.id)!.s.toISOString()]).toEqual([m.to, m.at.toISOString()]);
    }
    expect(await doubleBookings(fx.tenantId)).toEqual({ allocations: 0, bookings: 0, live_without_one_allocation: 0, dead_but_allocated: 0 });
  });
});
