import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createTestDatabase } from '../helpers/database.js';
import {
  addResource, addService, appPool, at, bookingApi, createTenant, futureDate, inTenant, pgError, sleep, startsOf, type TenantOptions,
} from './helpers.js';

// booking.available_slots as the app role, in Asia/Kolkata (+05:30, no DST).
const db = await createTestDatabase();
const { sql: app } = await appPool(db, 4);
const IST = '+05:30';
const day = futureDate(9);
const L = (time: string, date = day) => at(date, time, IST);
const times = (...ts: string[]) => ts.map((t) => L(t).toISOString());

async function tenant(options: TenantOptions = {}) {
  const fx = await createTenant(db.sql, options);
  return { fx, api: bookingApi(app, fx.tenantId), cut: fx.services.cut, r0: fx.resources[0], r1: fx.resources[1], c: fx.customers };
}

/** The slots of one local day (IST has no DST: a day is 24 hours). */
const daySlots = (api: ReturnType<typeof bookingApi>, service: string, resources: string[] | null = null, date = day) =>
  api.slots(service, at(date, '00:00', IST), new Date(at(date, '00:00', IST).getTime() + 86_400_000), resources);

describe('available_slots', () => {
  it('follows the working blocks of each resource in local time, stepped by the duration, ordered by start then resource', async () => {
    const { api, cut, r0, r1 } = await tenant({ hours: [['09:00', '12:00'], ['13:00', '17:00']] });
    const slots = await daySlots(api, cut);
    const expected = times('09:00', '10:00', '11:00', '13:00', '14:00', '15:00', '16:00');
    expect(startsOf(slots, r0)).toEqual(expected);
    expect(startsOf(slots, r1)).toEqual(expected);
    for (const s of slots) expect(s.ends_at.getTime() - s.starts_at.getTime()).toBe(3_600_000);
    const order = slots.map((s) => `${s.starts_at.toISOString()} ${s.resource_id}`);
    expect(order).toEqual([...order].sort());
  });

  it('slot_step spaces the starts, and a slot must end inside its block', async () => {
    const { fx, api, r0 } = await tenant({
      resources: 1,
      hours: [['09:00', '10:30'], ['14:00', '16:00']],
      services: { stepped: { duration: '60 minutes', slotStep: '15 minutes' }, long: { duration: '45 minutes' } },
    });
    expect(startsOf(await daySlots(api, fx.services.stepped), r0))
      .toEqual(times('09:00', '09:15', '09:30', '14:00', '14:15', '14:30', '14:45', '15:00'));
    expect(startsOf(await daySlots(api, fx.services.long), r0)).toEqual(times('09:00', '09:45', '14:00', '14:45'));
  });

  it('buffers: the first slot leaves room for the buffer before, the last for the buffer after, and booked buffers block', async () => {
    const { fx, api, r0, c } = await tenant({
      resources: 1,
      hours: [['09:00', '11:00']],
      services: { cut: { duration: '60 minutes' }, color: { duration: '30 minutes', bufferBefore: '15 minutes', bufferAfter: '15 minutes' } },
    });
    const { color, cut } = fx.services;
    expect(startsOf(await daySlots(api, color), r0)).toEqual(times('09:15', '09:45', '10:15'));
    expect(startsOf(await daySlots(api, cut), r0)).toEqual(times('09:00', '10:00'));
    await api.book({ service: color, resource: r0, customer: c[0], start: L('09:15') }); // blocks 09:00-10:00
    expect(startsOf(await daySlots(api, color), r0)).toEqual(times('10:15'));
    expect(startsOf(await daySlots(api, cut), r0)).toEqual(times('10:00'));
  });

  it('leaves out booked, held and time-off time, and offers it again once cancelled, expired or removed', async () => {
    const { fx, api, cut, r0, c } = await tenant({ resources: 1 });
    const booked = await api.book({ service: cut, resource: r0, customer: c[0], start: L('10:00') });
    await api.book({ service: cut, resource: r0, customer: c[1], start: L('12:00'), hold: '15 minutes' });
    await api.book({ service: cut, resource: r0, customer: c[2], start: L('13:00'), hold: '1 millisecond' });
    const [off] = await db.sql`insert into booking.time_off (tenant_id, resource_id, during)
      values (${fx.tenantId}, ${r0}, tstzrange(${L('14:30')}::timestamptz, ${L('15:15')}::timestamptz)) returning id`;
    await sleep(50);
    // 13:00 is offered: its hold has expired
    expect(startsOf(await daySlots(api, cut), r0)).toEqual(times('09:00', '11:00', '13:00', '16:00'));
    await api.cancel(booked);
    await db.sql`delete from booking.time_off where id = ${off.id}`;
    expect(startsOf(await daySlots(api, cut), r0)).toEqual(times('09:00', '10:00', '11:00', '13:00', '14:00', '15:00', '16:00'));
  });

  it('offers only active resources that offer the service, optionally only those in p_resource_ids', async () => {
    const { fx, api, cut, r0, r1 } = await tenant({ resources: 2, hours: [['09:00', '11:00']] });
    const inactive = await addResource(db.sql, fx.tenantId, fx.locationId, 'On leave', { hours: [['09:00', '11:00']], active: false });
    const notOffering = await addResource(db.sql, fx.tenantId, fx.locationId, 'Nails only', { hours: [['09:00', '11:00']] });
    await db.sql`insert into booking.service_resources values (${fx.tenantId}, ${cut}, ${inactive})`;
    await addService(db.sql, fx.tenantId, 'nails', { duration: '60 minutes' }, [notOffering]);
    const all = await daySlots(api, cut);
    expect(new Set(all.map((s) => s.resource_id))).toEqual(new Set([r0, r1]));
    const only = await daySlots(api, cut, [r1, inactive, notOffering]);
    expect(new Set(only.map((s) => s.resource_id))).toEqual(new Set([r1]));
    expect(startsOf(only)).toEqual(times('09:00', '10:00'));
  });

  it('a resource\'s hours apply on their weekday only', async () => {
    const weekday = new Date(`${day}T12:00:00Z`).getUTCDay() || 7;
    const { api, cut, r0 } = await tenant({ resources: 1, weekdays: [weekday], hours: [['09:00', '11:00']] });
    // a week from `day`: the resource works on `day` only
    const week = await api.slots(cut, L('00:00'), new Date(L('00:00').getTime() + 7 * 86_400_000));
    expect(startsOf(week, r0)).toEqual(times('09:00', '10:00'));
  });

  it('returns a slot when it starts in [p_from, p_to)', async () => {
    const { api, r0, fx } = await tenant({ resources: 1, services: { cut: { duration: '60 minutes', slotStep: '30 minutes' } } });
    expect(startsOf(await api.slots(fx.services.cut, L('10:30'), L('11:30')), r0)).toEqual(times('10:30', '11:00'));
    expect(startsOf(await api.slots(fx.services.cut, L('10:31'), L('11:31')), r0)).toEqual(times('11:00', '11:30'));
  });

  it('never offers a slot in the past', async () => {
    const { api, fx, r0 } = await tenant({ resources: 1, hours: [['00:00', '24:00']], services: { quick: { duration: '30 minutes', slotStep: '15 minutes' } } });
    const before = Date.now();
    const slots = await api.slots(fx.services.quick, new Date(before - 86_400_000), new Date(before + 86_400_000), [r0]);
    expect(slots.length).toBeGreaterThan(90);
    for (const s of slots) expect(s.starts_at.getTime()).toBeGreaterThanOrEqual(before - 1_000);
    // the next one is at most a step away (two around local midnight, where a 30-minute slot cannot cross blocks)
    expect(slots[0].starts_at.getTime()).toBeLessThan(before + 31 * 60_000);
    // and book agrees: the last start of the grid before now cannot be booked (the grid is
    // every quarter hour from local midnight; not slots[0] minus a step, which in the half
    // hour before local midnight is a future start whose slot crosses midnight: BK001)
    const pastStart = new Date(Math.floor((before - 1) / 900_000) * 900_000);
    expect((await pgError(api.book({ service: fx.services.quick, resource: r0, customer: fx.customers[0], start: pastStart }))).code).toBe('BK003');
  });

  it('every offered slot can be booked, and every other start on the grid cannot', async () => {
    const { fx, api, r0, c } = await tenant({
      resources: 1,
      hours: [['09:00', '12:00'], ['13:00', '17:00']],
      services: { cut: { duration: '60 minutes' }, color: { duration: '30 minutes', bufferBefore: '15 minutes', bufferAfter: '10 minutes', slotStep: '15 minutes' } },
    });
    const { color, cut } = fx.services;
    await api.book({ service: cut, resource: r0, customer: c[0], start: L('10:30') });
    await api.book({ service: color, resource: r0, customer: c[1], start: L('15:00') });
    await db.sql`insert into booking.time_off (tenant_id, resource_id, during)
      values (${fx.tenantId}, ${r0}, tstzrange(${L('13:40')}::timestamptz, ${L('14:05')}::timestamptz))`;
    const offered = new Set(startsOf(await daySlots(api, color), r0));
    // 09:15 + 15 min steps, blocked [start - 15, start + 40) clear of 10:30-11:30, 13:40-14:05 and 14:45-15:40
    expect([...offered]).toEqual(times('09:15', '09:30', '09:45', '16:00', '16:15'));
    class Rollback extends Error {}
    const mismatches: string[] = [];
    await inTenant(app, fx.tenantId, async (tx) => {
      for (let m = 8 * 60; m < 18 * 60; m += 5) {
        const start = L(`${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`);
        const result = await tx.savepoint(async (sp) => {
          await sp`select booking.book(${fx.tenantId}, ${color}, ${r0}, ${c[2]}, ${start}, null, null)`;
          throw new Rollback();
        }).catch((e) => (e instanceof Rollback ? 'booked' : String(e.code)));
        // a start off the 15-minute step may be bookable without being offered
        const onGrid = (m - 9 * 60 - 15) % 15 === 0;
        if (offered.has(start.toISOString()) && result !== 'booked') mismatches.push(`${start.toISOString()} offered but book gave ${result}`);
        if (onGrid && !offered.has(start.toISOString()) && result === 'booked') mismatches.push(`${start.toISOString()} bookable but not offered`);
        if (result !== 'booked' && !['23P01', 'BK001'].includes(result)) mismatches.push(`${start.toISOString()}: unexpected ${result}`);
      }
    });
    expect(mismatches).toEqual([]);
  });

  it('errors: 42501 for another tenant or none, BK003 for a bad window, BK002 for an unknown or inactive service', async () => {
    const { fx, api, cut } = await tenant();
    const other = await tenant();
    const retired = await addService(db.sql, fx.tenantId, 'retired', { duration: '60 minutes', active: false }, fx.resources);
    const call = (tenantId: string | null, service: string | null, from: Date | null, to: Date | null) =>
      inTenant(app, tenantId, (tx) => tx`select * from booking.available_slots(${fx.tenantId}, ${service}, ${from}, ${to}, null)`);
    expect((await pgError(inTenant(app, fx.tenantId, (tx) =>
      tx`select * from booking.available_slots(${other.fx.tenantId}, ${cut}, ${L('09:00')}, ${L('17:00')}, null)`))).code).toBe('42501');
    expect((await pgError(call(null, cut, L('09:00'), L('17:00')))).code).toBe('42501');
    const bad: Array<[string, string, () => Promise<unknown>]> = [
      ['NULL service', 'BK003', () => call(fx.tenantId, null, L('09:00'), L('17:00'))],
      ['NULL from', 'BK003', () => call(fx.tenantId, cut, null, L('17:00'))],
      ['NULL to', 'BK003', () => call(fx.tenantId, cut, L('09:00'), null)],
      ['to before from', 'BK003', () => call(fx.tenantId, cut, L('17:00'), L('09:00'))],
      ['empty window', 'BK003', () => call(fx.tenantId, cut, L('09:00'), L('09:00'))],
      ['window over 31 days', 'BK003', () => call(fx.tenantId, cut, L('09:00'), L('09:00', futureDate(9 + 32)))],
      ['unknown service', 'BK002', () => call(fx.tenantId, randomUUID(), L('09:00'), L('17:00'))],
      ['inactive service', 'BK002', () => call(fx.tenantId, retired, L('09:00'), L('17:00'))],
    ];
    for (const [what, code, run] of bad) {
      const e = await pgError(run());
      expect(e.code, `${what}: ${e.message}`).toBe(code);
    }
    // a window entirely in the past is simply empty
    expect(await api.slots(cut, new Date(Date.now() - 86_400_000), new Date(Date.now() - 3_600_000))).toEqual([]);
  });
});
