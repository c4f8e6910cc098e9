import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createTestDatabase } from '../helpers/database.js';
import {
  addMinutes, addService, appPool, at, bookingApi, createTenant, futureDate, inTenant, pgError, readBooking, sleep, startsOf,
} from './helpers.js';

// The booking API as the app calls it: a LOGIN member of bookingdb_app, one
// tenant-scoped transaction per call. Fixtures are in Asia/Kolkata (+05:30, no DST),
// so an implementation that confused local and UTC time would be off by 5.5 hours.
const db = await createTestDatabase();
const { sql: app, role: appRole } = await appPool(db, 6);
const IST = '+05:30';
const day = futureDate(7);
const L = (time: string, date = day) => at(date, time, IST);

async function tenant(options: Parameters<typeof createTenant>[1] = {}) {
  const fx = await createTenant(db.sql, options);
  return { fx, api: bookingApi(app, fx.tenantId), cut: fx.services.cut, r0: fx.resources[0], r1: fx.resources[1], c: fx.customers };
}

describe('book', () => {
  it('confirms a free slot and records the booking, its allocation, the price and the customer\'s last booking', async () => {
    const { fx, api, cut, r0, c } = await tenant();
    const id = await api.book({ service: cut, resource: r0, customer: c[0], start: L('10:00') });
    const b = await readBooking(app, fx.tenantId, id);
    expect(b).toMatchObject({ status: 'confirmed', resource_id: r0, customer_id: c[0], service_id: cut, hold_expires_at: null, price_cents: 2500 });
    expect([b!.starts.toISOString(), b!.ends.toISOString()]).toEqual([L('10:00').toISOString(), L('11:00').toISOString()]);
    expect(b!.allocations.map((a) => [a.resource_id, a.starts.toISOString(), a.ends.toISOString(), a.active]))
      .toEqual([[r0, L('10:00').toISOString(), L('11:00').toISOString(), true]]);
    const [cust] = await db.sql`select last_booking_at from booking.customers where id = ${c[0]}`;
    expect(cust.last_booking_at.toISOString()).toBe(L('10:00').toISOString());
  });

  it('a taken slot raises 23P01 naming the resource and the local time, also for a partial overlap', async () => {
    const { fx, api, cut, r0, r1, c } = await tenant();
    await api.book({ service: cut, resource: r0, customer: c[0], start: L('10:00') });
    const same = await pgError(api.book({ service: cut, resource: r0, customer: c[1], start: L('10:00') }));
    expect(same.code).toBe('23P01');
    expect(same.message).toContain(fx.resourceNames[0]);
    expect(same.message).toContain(`${day} 10:00`);
    const partial = await pgError(api.book({ service: cut, resource: r0, customer: c[1], start: L('10:30') }));
    expect(partial.code).toBe('23P01');
    expect(partial.message).toContain(`${day} 10:30`);
    // the same time on another resource is free
    await api.book({ service: cut, resource: r1, customer: c[1], start: L('10:00') });
    const [{ n }] = await db.sql`select count(*)::int as n from booking.bookings where tenant_id = ${fx.tenantId}`;
    expect(n).toBe(2);
  });

  it('back-to-back bookings fit: an allocation ends where the next one starts', async () => {
    const { fx, api, cut, r0, c } = await tenant();
    await api.book({ service: cut, resource: r0, customer: c[0], start: L('10:00') });
    await api.book({ service: cut, resource: r0, customer: c[1], start: L('11:00') });
    await api.book({ service: cut, resource: r0, customer: c[2], start: L('09:00') });
    const rows = await db.sql`select lower(blocked) as s from booking.booking_allocations
      where tenant_id = ${fx.tenantId} and active order by 1`;
    expect(rows.map((r) => r.s.toISOString())).toEqual(['09:00', '10:00', '11:00'].map((t) => L(t).toISOString()));
  });

  it('buffers block the time around a booking and must fit inside working hours', async () => {
    const { fx, api, cut, r0, c } = await tenant({
      services: { cut: { duration: '60 minutes' }, color: { duration: '30 minutes', bufferBefore: '15 minutes', bufferAfter: '15 minutes' } },
    });
    const color = fx.services.color;
    const id = await api.book({ service: color, resource: r0, customer: c[0], start: L('10:00') });
    const b = await readBooking(app, fx.tenantId, id);
    expect([b!.starts.toISOString(), b!.ends.toISOString()]).toEqual([L('10:00').toISOString(), L('10:30').toISOString()]);
    expect([b!.allocations[0].starts.toISOString(), b!.allocations[0].ends.toISOString()])
      .toEqual([L('09:45').toISOString(), L('10:45').toISOString()]);
    // 09:00-10:00 overlaps the buffer before, 10:30-11:30 the buffer after
    expect((await pgError(api.book({ service: cut, resource: r0, customer: c[1], start: L('09:00') }))).code).toBe('23P01');
    expect((await pgError(api.book({ service: cut, resource: r0, customer: c[1], start: L('10:30') }))).code).toBe('23P01');
    await api.book({ service: cut, resource: r0, customer: c[1], start: L('10:45') });
    await api.book({ service: cut, resource: r0, customer: c[2], start: L('11:45') });
    // the buffer before a 09:00 start would begin at 08:45, before the resource opens
    const early = await pgError(api.book({ service: color, resource: fx.resources[1], customer: c[3], start: L('09:00') }));
    expect(early.code).toBe('BK001');
    // and the buffer after a 16:30 start would end at 17:15, after it closes
    expect((await pgError(api.book({ service: color, resource: fx.resources[1], customer: c[3], start: L('16:30') }))).code).toBe('BK001');
    await api.book({ service: color, resource: fx.resources[1], customer: c[3], start: L('09:15') });
  });

  it('BK001 outside working hours, across a break, on a day off and in time off', async () => {
    const { fx, api, cut, r0, c } = await tenant({ hours: [['09:00', '12:00'], ['13:00', '17:00']] });
    for (const t of ['08:00', '08:30', '11:30', '12:00', '16:30', '17:00', '23:00']) {
      const e = await pgError(api.book({ service: cut, resource: r0, customer: c[0], start: L(t) }));
      expect(e.code, `start ${t}: ${e.message}`).toBe('BK001');
      expect(e.message).toMatch(/outside working hours/);
    }
    await db.sql`insert into booking.time_off (tenant_id, resource_id, during)
      values (${fx.tenantId}, ${r0}, tstzrange(${L('14:00')}::timestamptz, ${L('15:00')}::timestamptz))`;
    for (const t of ['13:30', '14:00', '14:30']) {
      const e = await pgError(api.book({ service: cut, resource: r0, customer: c[0], start: L(t) }));
      expect(e.code, `start ${t}: ${e.message}`).toBe('BK001');
      expect(e.message).toMatch(/time off/);
    }
    await api.book({ service: cut, resource: r0, customer: c[0], start: L('13:00') });
    await api.book({ service: cut, resource: r0, customer: c[0], start: L('15:00') });
    // a resource that works on one weekday only
    const weekday = new Date(`${day}T12:00:00Z`).getUTCDay() || 7;
    await db.sql`delete from booking.working_hours where resource_id = ${fx.resources[1]} and weekday <> ${weekday}`;
    const nextDay = futureDate(8);
    expect((await pgError(api.book({ service: cut, resource: fx.resources[1], customer: c[1], start: L('10:00', nextDay) }))).code).toBe('BK001');
    await api.book({ service: cut, resource: fx.resources[1], customer: c[1], start: L('10:00') });
  });

  it('BK002 for an unknown or inactive service, resource or customer, and a resource that does not offer the service', async () => {
    const { fx, api, cut, r0, c } = await tenant();
    const inactiveService = await addService(db.sql, fx.tenantId, 'retired', { duration: '60 minutes', active: false }, fx.resources);
    const otherService = await addService(db.sql, fx.tenantId, 'massage', { duration: '60 minutes' }, [fx.resources[1]]);
    const [inactiveResource] = await db.sql`insert into booking.resources (tenant_id, location_id, kind, name, active)
      values (${fx.tenantId}, ${fx.locationId}, 'staff', 'Gone', false) returning id`;
    await db.sql`insert into booking.service_resources values (${fx.tenantId}, ${cut}, ${inactiveResource.id})`;
    await db.sql`insert into booking.working_hours (tenant_id, resource_id, weekday, starts_local, ends_local)
      select ${fx.tenantId}, ${inactiveResource.id}, d, '00:00', '24:00' from generate_series(1, 7) d`;
    await db.sql`update booking.customers set email = null, phone = null, full_name = 'anonymised', anonymized_at = now() where id = ${c[5]}`;
    const cases: Array<[string, Parameters<typeof api.book>[0]]> = [
      ['unknown service', { service: randomUUID(), resource: r0, customer: c[0], start: L('10:00') }],
      ['inactive service', { service: inactiveService, resource: r0, customer: c[0], start: L('10:00') }],
      ['unknown resource', { service: cut, resource: randomUUID(), customer: c[0], start: L('10:00') }],
      ['inactive resource', { service: cut, resource: inactiveResource.id, customer: c[0], start: L('10:00') }],
      ['resource not offering the service', { service: otherService, resource: r0, customer: c[0], start: L('10:00') }],
      ['unknown customer', { service: cut, resource: r0, customer: randomUUID(), start: L('10:00') }],
      ['anonymised customer', { service: cut, resource: r0, customer: c[5], start: L('10:00') }],
    ];
    for (const [what, args] of cases) {
      const e = await pgError(api.book(args));
      expect(e.code, `${what}: ${e.message}`).toBe('BK002');
    }
    const [{ n }] = await db.sql`select count(*)::int as n from booking.bookings where tenant_id = ${fx.tenantId}`;
    expect(n).toBe(0);
  });

  it('BK003 for a start in the past, a missing argument, a bad hold or a bad idempotency key', async () => {
    const { api, cut, r0, c } = await tenant();
    const ok = { service: cut, resource: r0, customer: c[0], start: L('10:00') };
    const cases: Array<[string, Parameters<typeof api.book>[0]]> = [
      ['start in the past', { ...ok, start: new Date(Date.now() - 3_600_000) }],
      ['NULL service', { ...ok, service: null as unknown as string }],
      ['NULL resource', { ...ok, resource: null as unknown as string }],
      ['NULL customer', { ...ok, customer: null as unknown as string }],
      ['NULL start', { ...ok, start: null as unknown as Date }],
      ['zero hold', { ...ok, hold: '0 minutes' }],
      ['negative hold', { ...ok, hold: '-5 minutes' }],
      ['empty idempotency key', { ...ok, key: '' }],
      ['huge idempotency key', { ...ok, key: 'k'.repeat(201) }],
    ];
    for (const [what, args] of cases) {
      const e = await pgError(api.book(args));
      expect(e.code, `${what}: ${e.message}`).toBe('BK003');
    }
  });

  it('42501 when p_tenant_id is not the tenant of the transaction, or no tenant is set', async () => {
    const { fx, api, cut, r0, c } = await tenant();
    const other = await tenant();
    const mismatch = await pgError(api.book({ service: cut, resource: r0, customer: c[0], start: L('10:00'), asTenant: other.fx.tenantId }));
    expect(mismatch.code).toBe('42501');
    const unset = await pgError(inTenant(app, null, (tx) =>
      tx`select booking.book(${fx.tenantId}, ${cut}, ${r0}, ${c[0]}, ${L('10:00')}, null, null)`));
    expect(unset.code).toBe('42501');
    const [{ n }] = await db.sql`select count(*)::int as n from booking.bookings where tenant_id in (${fx.tenantId}, ${other.fx.tenantId})`;
    expect(n).toBe(0);
  });

  it('a repeated idempotency key returns the first booking\'s id and books nothing new', async () => {
    const { fx, api, cut, r0, r1, c } = await tenant();
    const key = `req-${randomUUID()}`;
    const first = await api.book({ service: cut, resource: r0, customer: c[0], start: L('10:00'), key });
    expect(await api.book({ service: cut, resource: r0, customer: c[0], start: L('10:00'), key })).toBe(first);
    // a retry with different arguments still returns the first booking and books nothing
    expect(await api.book({ service: cut, resource: r1, customer: c[1], start: L('14:00'), key })).toBe(first);
    const [{ n, a }] = await db.sql`select (select count(*)::int from booking.bookings where tenant_id = ${fx.tenantId}) as n,
      (select count(*)::int from booking.booking_allocations where tenant_id = ${fx.tenantId}) as a`;
    expect([n, a]).toEqual([1, 1]);
    await api.book({ service: cut, resource: r1, customer: c[1], start: L('14:00') });
    // keys are unique per tenant: another tenant's identical key is its own booking
    const other = await tenant();
    const theirs = await other.api.book({ service: other.cut, resource: other.r0, customer: other.c[0], start: L('10:00'), key });
    expect(theirs).not.toBe(first);
  });
});

describe('holds, confirm and expiry', () => {
  it('p_hold makes a pending booking that blocks the slot until hold_expires_at; confirm makes it confirmed', async () => {
    const { fx, api, cut, r0, c } = await tenant();
    const before = Date.now();
    const id = await api.book({ service: cut, resource: r0, customer: c[0], start: L('10:00'), hold: '15 minutes' });
    const after = Date.now();
    const held = await readBooking(app, fx.tenantId, id);
    expect(held!.status).toBe('pending');
    expect(held!.hold_expires_at!.getTime()).toBeGreaterThanOrEqual(before + 15 * 60_000 - 2_000);
    expect(held!.hold_expires_at!.getTime()).toBeLessThanOrEqual(after + 15 * 60_000 + 2_000);
    expect(held!.allocations[0].active).toBe(true);
    expect((await pgError(api.book({ service: cut, resource: r0, customer: c[1], start: L('10:00') }))).code).toBe('23P01');
    expect(startsOf(await api.slots(cut, L('09:00'), L('17:00'), [r0]))).not.toContain(L('10:00').toISOString());

    await api.confirm(id);
    const confirmed = await readBooking(app, fx.tenantId, id);
    expect(confirmed).toMatchObject({ status: 'confirmed', hold_expires_at: null });
    await api.confirm(id); // confirming again is a harmless retry
    expect((await readBooking(app, fx.tenantId, id))!.status).toBe('confirmed');
  });

  it('a hold never lasts past the start of its booking', async () => {
    // 30 minutes at a whole UTC hour (hh:30 local) always fits in one 00:00-24:00 block
    const { fx, api, cut, r0, c } = await tenant({ hours: [['00:00', '24:00']], services: { cut: { duration: '30 minutes' } } });
    const start = new Date(Math.ceil((Date.now() + 3 * 3_600_000) / 3_600_000) * 3_600_000);
    const id = await api.book({ service: cut, resource: r0, customer: c[0], start, hold: '7 days' });
    expect((await readBooking(app, fx.tenantId, id))!.hold_expires_at!.toISOString()).toBe(start.toISOString());
  });

  it('confirm: BK004 for an expired hold or a cancelled booking, BK002 unknown, BK003 NULL, 42501 other tenant', async () => {
    const { fx, api, cut, r0, c } = await tenant();
    const other = await tenant();
    const expired = await api.book({ service: cut, resource: r0, customer: c[0], start: L('10:00'), hold: '1 millisecond' });
    await sleep(50);
    const e = await pgError(api.confirm(expired));
    expect(e.code).toBe('BK004');
    expect(e.message).toMatch(/expired/);
    expect((await readBooking(app, fx.tenantId, expired))!.status).not.toBe('confirmed');
    const cancelled = await api.book({ service: cut, resource: r0, customer: c[1], start: L('12:00') });
    await api.cancel(cancelled);
    expect((await pgError(api.confirm(cancelled))).code).toBe('BK004');
    expect((await readBooking(app, fx.tenantId, cancelled))!.status).toBe('cancelled');
    expect((await pgError(api.confirm(randomUUID()))).code).toBe('BK002');
    expect((await pgError(api.confirm(null))).code).toBe('BK003');
    const pending = await api.book({ service: cut, resource: r0, customer: c[2], start: L('14:00'), hold: '15 minutes' });
    const mismatch = await pgError(inTenant(app, fx.tenantId, (tx) => tx`select booking.confirm(${other.fx.tenantId}, ${pending})`));
    expect(mismatch.code).toBe('42501');
    expect((await readBooking(app, fx.tenantId, pending))!.status).toBe('pending');
  });

  it('an expired hold no longer blocks: the slot can be booked and the hold is cancelled', async () => {
    const { fx, api, cut, r0, c } = await tenant();
    const hold = await api.book({ service: cut, resource: r0, customer: c[0], start: L('10:00'), hold: '1 millisecond' });
    await sleep(50);
    expect(startsOf(await api.slots(cut, L('09:00'), L('17:00'), [r0]))).toContain(L('10:00').toISOString());
    const id = await api.book({ service: cut, resource: r0, customer: c[1], start: L('10:00') });
    expect((await readBooking(app, fx.tenantId, id))!.status).toBe('confirmed');
    const old = await readBooking(app, fx.tenantId, hold);
    expect(old!.status).toBe('cancelled');
    expect(old!.allocations.every((a) => !a.active)).toBe(true);
  });

  it('an expired hold right before the slot\'s end does not hide a booking in the way: still 23P01, nothing written', async () => {
    // the unlocked pre-check reads only the allocation starting last before the slot ends
    // (11:00, an expired hold); the booking at 10:00 it cannot see must still refuse
    const { fx, api, cut, r0, c } = await tenant();
    const held = await api.book({ service: cut, resource: r0, customer: c[1], start: L('11:00'), hold: '1 millisecond' });
    const first = await api.book({ service: cut, resource: r0, customer: c[0], start: L('10:00') });
    await sleep(50);
    const refused = await pgError(api.book({ service: cut, resource: r0, customer: c[2], start: L('10:30') }));
    expect(refused.code).toBe('23P01');
    expect(refused.detail).toMatch(/^it is allocated from \S+ 10:00 \S+ to \S+ 11:00 \S+ \(buffers included\)$/);
    expect((await readBooking(app, fx.tenantId, first))!.status).toBe('confirmed');
    expect((await readBooking(app, fx.tenantId, held))!.status).toBe('pending'); // its expiry rolled back with the call
    const [{ n }] = await db.sql`select count(*)::int as n from booking.bookings where customer_id = ${c[2]}`;
    expect(n).toBe(0);
  });

  it('expire_holds cancels passed holds of the caller\'s tenant, frees their slots and leaves live holds alone', async () => {
    const a = await tenant();
    const b = await tenant();
    const h1 = await a.api.book({ service: a.cut, resource: a.r0, customer: a.c[0], start: L('10:00'), hold: '1 millisecond' });
    const h2 = await a.api.book({ service: a.cut, resource: a.r1, customer: a.c[1], start: L('11:00'), hold: '1 millisecond' });
    const live = await a.api.book({ service: a.cut, resource: a.r0, customer: a.c[2], start: L('14:00'), hold: '15 minutes' });
    const hb = await b.api.book({ service: b.cut, resource: b.r0, customer: b.c[0], start: L('10:00'), hold: '1 millisecond' });
    await sleep(50);
    const [{ n }] = await a.api.run((tx) => tx`select booking.expire_holds() as n`);
    expect(n).toBe(2);
    for (const id of [h1, h2]) {
      const bk = await readBooking(app, a.fx.tenantId, id);
      expect(bk).toMatchObject({ status: 'cancelled', cancel_reason: 'hold expired' });
      expect(bk!.allocations.map((x) => x.active)).toEqual([false]);
    }
    expect((await readBooking(app, a.fx.tenantId, live))!.status).toBe('pending');
    // the app role only reaches its own tenant; maintenance (superuser) reaches all
    expect((await readBooking(app, b.fx.tenantId, hb))!.status).toBe('pending');
    const [{ m }] = await db.sql`select booking.expire_holds() as m`;
    expect(m).toBeGreaterThanOrEqual(1);
    expect((await readBooking(app, b.fx.tenantId, hb))!.status).toBe('cancelled');
    // and both slots of tenant A are bookable again
    await a.api.book({ service: a.cut, resource: a.r0, customer: a.c[3], start: L('10:00') });
    await a.api.book({ service: a.cut, resource: a.r1, customer: a.c[3], start: L('11:00') });
  });

  it('expire_holds offers the freed slot to the waitlist', async () => {
    const { fx, api, cut, r0, c } = await tenant();
    const hold = await api.book({ service: cut, resource: r0, customer: c[0], start: L('10:00'), hold: '1 millisecond' });
    const entry = await api.joinWaitlist({ service: cut, customer: c[1], from: L('09:00'), to: L('12:00'), resource: r0 });
    await sleep(50);
    await api.run((tx) => tx`select booking.expire_holds()`);
    expect((await readBooking(app, fx.tenantId, hold))!.status).toBe('cancelled');
    const [w] = await db.sql`select status, offered_booking_id from booking.waitlist_entries where id = ${entry}`;
    expect(w.status).toBe('offered');
    const offer = await readBooking(app, fx.tenantId, w.offered_booking_id);
    expect(offer).toMatchObject({ status: 'pending', customer_id: c[1], resource_id: r0 });
    expect(offer!.starts.toISOString()).toBe(L('10:00').toISOString());
  });
});

describe('cancel', () => {
  it('frees the slot at once, records when and why, and repeating it changes nothing', async () => {
    const { fx, api, cut, r0, c } = await tenant();
    const id = await api.book({ service: cut, resource: r0, customer: c[0], start: L('10:00') });
    await api.cancel(id, 'customer called');
    const b = await readBooking(app, fx.tenantId, id);
    expect(b).toMatchObject({ status: 'cancelled', cancel_reason: 'customer called' });
    expect(b!.cancelled_at).toBeInstanceOf(Date);
    expect(b!.allocations.map((a) => a.active)).toEqual([false]);
    expect(startsOf(await api.slots(cut, L('09:00'), L('17:00'), [r0]))).toContain(L('10:00').toISOString());
    const again = await api.book({ service: cut, resource: r0, customer: c[1], start: L('10:00') });
    expect((await readBooking(app, fx.tenantId, again))!.status).toBe('confirmed');
    await api.cancel(id, 'twice');
    const b2 = await readBooking(app, fx.tenantId, id);
    expect(b2).toMatchObject({ status: 'cancelled', cancel_reason: 'customer called' });
    expect(b2!.cancelled_at!.toISOString()).toBe(b!.cancelled_at!.toISOString());
    expect((await readBooking(app, fx.tenantId, again))!.allocations.map((a) => a.active)).toEqual([true]);
  });

  it('BK004 for a completed or no-show booking, BK002 unknown, BK003 NULL or an over-long reason, 42501 other tenant', async () => {
    const { fx, api, cut, r0, c } = await tenant();
    const other = await tenant();
    const done = await api.book({ service: cut, resource: r0, customer: c[0], start: L('10:00') });
    const noShow = await api.book({ service: cut, resource: r0, customer: c[1], start: L('12:00') });
    await db.sql`update booking.bookings set status = 'completed' where id = ${done}`;
    await db.sql`update booking.bookings set status = 'no_show' where id = ${noShow}`;
    for (const id of [done, noShow]) {
      const e = await pgError(api.cancel(id));
      expect(e.code, e.message).toBe('BK004');
    }
    expect((await readBooking(app, fx.tenantId, done))!.status).toBe('completed');
    expect((await pgError(api.cancel(randomUUID()))).code).toBe('BK002');
    expect((await pgError(api.cancel(null))).code).toBe('BK003');
    const live = await api.book({ service: cut, resource: r0, customer: c[2], start: L('14:00') });
    expect((await pgError(api.cancel(live, 'x'.repeat(501)))).code).toBe('BK003');
    const mismatch = await pgError(inTenant(app, fx.tenantId, (tx) => tx`select booking.cancel(${other.fx.tenantId}, ${live}, null)`));
    expect(mismatch.code).toBe('42501');
    expect((await readBooking(app, fx.tenantId, live))!.status).toBe('confirmed');
  });

  it('offers the freed slot to the oldest matching waitlist entry as a pending hold, then to the next', async () => {
    const { fx, api, cut, r0, r1, c } = await tenant({ customers: 7 });
    const massage = await addService(db.sql, fx.tenantId, 'massage', { duration: '60 minutes' }, [r1]);
    const booked = await api.book({ service: cut, resource: r0, customer: c[0], start: L('10:00') });
    const join = (service: string, customer: string, from: string, to: string, resource: string | null = null) =>
      api.joinWaitlist({ service, customer, from: L(from), to: L(to), resource });
    // oldest first, but none of these three fits the freed 10:00-11:00 on r0
    const wrongService = await join(massage, c[1], '09:00', '12:00');
    const wrongResource = await join(cut, c[2], '09:00', '12:00', r1);
    const wrongTime = await join(cut, c[3], '10:30', '13:00');
    const first = await join(cut, c[4], '09:00', '12:00');
    const second = await join(cut, c[5], '10:00', '11:00', r0);
    const status = async () => Object.fromEntries((await db.sql`select id, status, offered_booking_id
      from booking.waitlist_entries where tenant_id = ${fx.tenantId}`).map((r) => [r.id, r]));

    await api.cancel(booked);
    let w = await status();
    expect([w[wrongService].status, w[wrongResource].status, w[wrongTime].status, w[first].status, w[second].status])
      .toEqual(['waiting', 'waiting', 'waiting', 'offered', 'waiting']);
    const offer1 = await readBooking(app, fx.tenantId, w[first].offered_booking_id);
    expect(offer1).toMatchObject({ status: 'pending', customer_id: c[4], resource_id: r0, service_id: cut });
    expect(offer1!.starts.toISOString()).toBe(L('10:00').toISOString());
    expect(offer1!.hold_expires_at!.getTime()).toBeGreaterThan(Date.now());
    expect(offer1!.hold_expires_at!.getTime()).toBeLessThanOrEqual(L('10:00').getTime());
    // the offer holds the slot against everybody else
    expect((await pgError(api.book({ service: cut, resource: r0, customer: c[6], start: L('10:00') }))).code).toBe('23P01');

    // the first customer lets the offer go: the next matching entry gets it
    await api.cancel(offer1!.id);
    w = await status();
    expect([w[first].status, w[second].status]).toEqual(['expired', 'offered']);
    const offer2 = w[second].offered_booking_id;
    await api.confirm(offer2);
    w = await status();
    expect(w[second].status).toBe('booked');
    expect(await readBooking(app, fx.tenantId, offer2)).toMatchObject({ status: 'confirmed', customer_id: c[5] });
    // entries that did not fit were never touched
    expect([w[wrongService].status, w[wrongResource].status, w[wrongTime].status]).toEqual(['waiting', 'waiting', 'waiting']);
  });

  it('cancelling an already cancelled booking makes no second waitlist offer', async () => {
    const { fx, api, cut, r0, c } = await tenant();
    const id = await api.book({ service: cut, resource: r0, customer: c[0], start: L('10:00') });
    await api.cancel(id);
    const entry = await api.joinWaitlist({ service: cut, customer: c[1], from: L('09:00'), to: L('12:00') });
    await api.cancel(id);
    const [w] = await db.sql`select status from booking.waitlist_entries where id = ${entry}`;
    expect(w.status).toBe('waiting');
    const [{ n }] = await db.sql`select count(*)::int as n from booking.bookings where tenant_id = ${fx.tenantId}`;
    expect(n).toBe(1);
  });
});

describe('join_waitlist', () => {
  it('adds a waiting entry with [) bounds and rejects bad input', async () => {
    const { fx, api, cut, r0, c } = await tenant();
    const massage = await addService(db.sql, fx.tenantId, 'massage', { duration: '60 minutes' }, [fx.resources[1]]);
    const id = await api.joinWaitlist({ service: cut, customer: c[0], from: L('09:00'), to: L('12:00'), resource: r0 });
    const [w] = await inTenant(app, fx.tenantId, (tx) => tx`select status, customer_id, resource_id, service_id,
        lower(wanted) as lo, upper(wanted) as hi, lower_inc(wanted) as li, upper_inc(wanted) as ui
      from booking.waitlist_entries where id = ${id}`);
    expect(w).toMatchObject({ status: 'waiting', customer_id: c[0], resource_id: r0, service_id: cut, li: true, ui: false });
    expect([w.lo.toISOString(), w.hi.toISOString()]).toEqual([L('09:00').toISOString(), L('12:00').toISOString()]);

    const past = new Date(Date.now() - 86_400_000);
    const bad: Array<[string, string, () => Promise<unknown>]> = [
      ['NULL service', 'BK003', () => api.joinWaitlist({ service: null, customer: c[0], from: L('09:00'), to: L('12:00') })],
      ['NULL customer', 'BK003', () => api.joinWaitlist({ service: cut, customer: null, from: L('09:00'), to: L('12:00') })],
      ['range already over', 'BK003', () => api.joinWaitlist({ service: cut, customer: c[0], from: addMinutes(past, -120), to: past })],
      ['range shorter than the service', 'BK003', () => api.joinWaitlist({ service: cut, customer: c[0], from: L('09:00'), to: L('09:30') })],
      ['unbounded range', 'BK003', () => api.run((tx) => tx`select booking.join_waitlist(${fx.tenantId}, ${cut}, ${c[0]}, tstzrange(${L('09:00')}::timestamptz, null))`)],
      ['unknown service', 'BK002', () => api.joinWaitlist({ service: randomUUID(), customer: c[0], from: L('09:00'), to: L('12:00') })],
      ['unknown customer', 'BK002', () => api.joinWaitlist({ service: cut, customer: randomUUID(), from: L('09:00'), to: L('12:00') })],
      ['resource not offering the service', 'BK002', () => api.joinWaitlist({ service: massage, customer: c[0], from: L('09:00'), to: L('12:00'), resource: r0 })],
    ];
    for (const [what, code, call] of bad) {
      const e = await pgError(call());
      expect(e.code, `${what}: ${e.message}`).toBe(code);
    }
    const other = await tenant();
    const mismatch = await pgError(inTenant(app, fx.tenantId, (tx) => tx`select booking.join_waitlist(${other.fx.tenantId}, ${cut}, ${c[0]},
      tstzrange(${L('09:00')}::timestamptz, ${L('12:00')}::timestamptz), null)`));
    expect(mismatch.code).toBe('42501');
    const [{ n }] = await db.sql`select count(*)::int as n from booking.waitlist_entries where tenant_id = ${fx.tenantId}`;
    expect(n).toBe(1);
  });
});

describe('reschedule', () => {
  it('moves a booking in time and to another resource, keeping its id, and frees the old slot', async () => {
    const { fx, api, cut, r0, r1, c } = await tenant();
    const id = await api.book({ service: cut, resource: r0, customer: c[0], start: L('10:00') });
    await api.reschedule(id, L('10:30')); // overlaps its own old time: fine
    let b = await readBooking(app, fx.tenantId, id);
    expect([b!.status, b!.resource_id, b!.starts.toISOString(), b!.ends.toISOString()])
      .toEqual(['confirmed', r0, L('10:30').toISOString(), L('11:30').toISOString()]);
    expect(b!.allocations.filter((a) => a.active).map((a) => [a.resource_id, a.starts.toISOString()])).toEqual([[r0, L('10:30').toISOString()]]);
    await api.reschedule(id, L('15:00'), r1);
    b = await readBooking(app, fx.tenantId, id);
    expect([b!.resource_id, b!.starts.toISOString()]).toEqual([r1, L('15:00').toISOString()]);
    expect(b!.allocations.filter((a) => a.active).map((a) => [a.resource_id, a.starts.toISOString(), a.ends.toISOString()]))
      .toEqual([[r1, L('15:00').toISOString(), L('16:00').toISOString()]]);
    const [{ n }] = await db.sql`select count(*)::int as n from booking.bookings where tenant_id = ${fx.tenantId}`;
    expect(n).toBe(1);
    // the time it left is free again
    await api.book({ service: cut, resource: r0, customer: c[1], start: L('10:00') });
    await api.book({ service: cut, resource: r0, customer: c[1], start: L('11:00') });
  });

  it('is atomic: on a conflict or any other error the original booking is untouched', async () => {
    const { fx, api, cut, r0, r1, c } = await tenant();
    const id = await api.book({ service: cut, resource: r0, customer: c[0], start: L('10:00') });
    await api.book({ service: cut, resource: r0, customer: c[1], start: L('13:00') });
    await api.book({ service: cut, resource: r1, customer: c[2], start: L('10:00') });
    const [other] = await db.sql`insert into booking.resources (tenant_id, location_id, kind, name)
      values (${fx.tenantId}, ${fx.locationId}, 'room', 'Spa room') returning id`;
    const before = await readBooking(app, fx.tenantId, id);
    const attempts: Array<[string, string, () => Promise<unknown>]> = [
      ['slot taken on the same resource', '23P01', () => api.reschedule(id, L('13:30'))],
      ['slot taken on another resource', '23P01', () => api.reschedule(id, L('10:00'), r1)],
      ['outside working hours', 'BK001', () => api.reschedule(id, L('18:00'))],
      ['in the past', 'BK003', () => api.reschedule(id, new Date(Date.now() - 3_600_000))],
      ['NULL start', 'BK003', () => api.reschedule(id, null)],
      ['resource that does not offer the service', 'BK002', () => api.reschedule(id, L('10:00'), other.id)],
      ['unknown resource', 'BK002', () => api.reschedule(id, L('10:00'), randomUUID())],
    ];
    for (const [what, code, call] of attempts) {
      const e = await pgError(call());
      expect(e.code, `${what}: ${e.message}`).toBe(code);
      expect(await readBooking(app, fx.tenantId, id), what).toEqual(before);
    }
    const taken = await pgError(api.reschedule(id, L('13:30')));
    expect(taken.message).toContain(fx.resourceNames[0]);
  });

  it('BK004 for a cancelled booking or an expired hold, BK002 unknown, 42501 other tenant', async () => {
    const { fx, api, cut, r0, c } = await tenant();
    const other = await tenant();
    const cancelled = await api.book({ service: cut, resource: r0, customer: c[0], start: L('10:00') });
    await api.cancel(cancelled);
    expect((await pgError(api.reschedule(cancelled, L('14:00')))).code).toBe('BK004');
    const expired = await api.book({ service: cut, resource: r0, customer: c[1], start: L('11:00'), hold: '1 millisecond' });
    await sleep(50);
    expect((await pgError(api.reschedule(expired, L('14:00')))).code).toBe('BK004');
    expect((await pgError(api.reschedule(randomUUID(), L('14:00')))).code).toBe('BK002');
    const live = await api.book({ service: cut, resource: r0, customer: c[2], start: L('12:00') });
    const mismatch = await pgError(inTenant(app, fx.tenantId, (tx) => tx`select booking.reschedule(${other.fx.tenantId}, ${live}, ${L('15:00')}, null)`));
    expect(mismatch.code).toBe('42501');
    expect((await readBooking(app, fx.tenantId, live))!.starts.toISOString()).toBe(L('12:00').toISOString());
    // a pending hold can be moved and keeps being a hold
    const hold = await api.book({ service: cut, resource: r0, customer: c[3], start: L('16:00'), hold: '15 minutes' });
    await api.reschedule(hold, L('14:00'));
    expect(await readBooking(app, fx.tenantId, hold)).toMatchObject({ status: 'pending' });
  });

  it('offers the time it leaves to the waitlist', async () => {
    const { fx, api, cut, r0, c } = await tenant();
    const id = await api.book({ service: cut, resource: r0, customer: c[0], start: L('10:00') });
    const entry = await api.joinWaitlist({ service: cut, customer: c[1], from: L('10:00'), to: L('11:00'), resource: r0 });
    await api.reschedule(id, L('15:00'));
    const [w] = await db.sql`select status, offered_booking_id from booking.waitlist_entries where id = ${entry}`;
    expect(w.status).toBe('offered');
    expect(await readBooking(app, fx.tenantId, w.offered_booking_id)).toMatchObject({ status: 'pending', customer_id: c[1], resource_id: r0 });
  });
});

describe('audit log', () => {
  it('every call that changes a booking writes an audit row with ids and actions only, no personal data', async () => {
    const { fx, api, cut, r0, c } = await tenant();
    const id = await api.book({ service: cut, resource: r0, customer: c[0], start: L('10:00'), hold: '15 minutes' });
    await api.confirm(id);
    await api.reschedule(id, L('12:00'));
    await api.cancel(id, 'Private reason: Customer 0 is ill');
    const rows = await db.sql`select action, actor, details::text as details from ops.audit_log
      where tenant_id = ${fx.tenantId} and entity_id = ${id} order by occurred_at, action`;
    expect(rows.map((r) => r.action)).toEqual(['booking.book', 'booking.confirm', 'booking.reschedule', 'booking.cancel']);
    const [cust] = await db.sql`select email, full_name, phone from booking.customers where id = ${c[0]}`;
    for (const r of rows) {
      for (const pii of [cust.email, cust.full_name, cust.phone, 'Private reason']) expect(r.details).not.toContain(pii);
    }
    expect(rows.map((r) => r.actor)).toEqual(rows.map(() => appRole));
  });
});
