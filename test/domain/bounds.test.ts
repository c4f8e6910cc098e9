import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { migrate } from '../../src/migrate/migrate.js';
import { createTestDatabase } from '../helpers/database.js';
import {
  addService, appPool, at, bookingApi, createTenant, futureDate, inTenant, pgError, startsOf, type Sql, type TenantOptions,
} from './helpers.js';

// Issue 6, "availability must be bounded": floors on duration and slot_step, a work
// budget per available_slots call, a per-tenant booking horizon, and BK003 (never
// 22008 or another raw error) for infinite or out-of-range arguments. Every call is
// made as a LOGIN member of bookingdb_app, the attacker of the issue.
const db = await createTestDatabase();
const { sql: app } = await appPool(db, 4);
const IST = '+05:30';
const MINUTE = 60_000;
const DAY = 86_400_000;

async function tenant(options: TenantOptions = {}) {
  const fx = await createTenant(db.sql, options);
  return { fx, api: bookingApi(app, fx.tenantId), cut: fx.services.cut, r0: fx.resources[0], c: fx.customers };
}

/** The SQLSTATE of an app call, or 'ok'. */
async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    return String((e as { code?: string }).code ?? e);
  }
}

/** The API called with raw SQL literals, so values a JS Date cannot carry ('infinity', year 294276) reach it. */
function raw(sql: Sql, tenantId: string) {
  return {
    slots: (service: string, from: string, to: string, ids: string[] | null = null) => inTenant(sql, tenantId, (tx) =>
      tx`select count(*)::int as n from booking.available_slots(${tenantId}, ${service}, ${from}::text::timestamptz, ${to}::text::timestamptz, ${ids}::uuid[])`)
      .then((r) => r[0].n as number),
    book: (service: string, resource: string, customer: string, start: string, hold: string | null = null) => inTenant(sql, tenantId, (tx) =>
      tx`select booking.book(${tenantId}, ${service}, ${resource}, ${customer}, ${start}::text::timestamptz, null, ${hold}::text::interval) as id`)
      .then((r) => r[0].id as string),
    reschedule: (id: string, start: string) => inTenant(sql, tenantId, (tx) =>
      tx`select booking.reschedule(${tenantId}, ${id}, ${start}::text::timestamptz, null)`),
    waitlist: (service: string, customer: string, lower: string, upper: string) => inTenant(sql, tenantId, (tx) =>
      tx`select booking.join_waitlist(${tenantId}, ${service}, ${customer}, tstzrange(${lower}::text::timestamptz, ${upper}::text::timestamptz), null) as id`),
  };
}

const iso = (ms: number) => new Date(ms).toISOString();

describe('floors: duration and slot_step are at least 5 minutes', () => {
  it('the app cannot create or change a service below the floor (23514), and 5 minutes is accepted', async () => {
    const { fx } = await tenant({ resources: 1 });
    const insert = (duration: string, step: string | null) => inTenant(app, fx.tenantId, (tx) =>
      tx`insert into booking.services (tenant_id, name, duration, slot_step)
         values (${fx.tenantId}, 'probe', ${duration}::interval, ${step}::interval)`);
    expect(await codeOf(insert('1 microsecond', null))).toBe('23514');
    expect(await codeOf(insert('4 minutes 59 seconds', null))).toBe('23514');
    expect(await codeOf(insert('30 minutes', '1 minute'))).toBe('23514');
    expect(await codeOf(insert('30 minutes', '4 minutes 59.999999 seconds'))).toBe('23514');
    expect(await codeOf(insert('5 minutes', '5 minutes'))).toBe('ok');
    // the old upper bounds and the no-day/month rule still hold
    expect(await codeOf(insert('25 hours', null))).toBe('23514');
    expect(await codeOf(insert('1 day', null))).toBe('23514');
    expect(await codeOf(insert('30 minutes', '1 mon'))).toBe('23514');
    expect(await codeOf(inTenant(app, fx.tenantId, (tx) =>
      tx`update booking.services set duration = '1 microsecond' where id = ${fx.services.cut}`))).toBe('23514');
  });
});

describe('work budget of available_slots', () => {
  it('a 5-minute service with 24-hour hours over 31 days on 10 resources raises BK003 with a hint, instead of generating 89,280 slots', async () => {
    const { fx } = await tenant({ resources: 10, hours: [['00:00', '24:00']], services: { quick: { duration: '5 minutes' } } });
    const from = at(futureDate(2), '00:00', IST);
    const e = await pgError(bookingApi(app, fx.tenantId).slots(fx.services.quick, from, new Date(from.getTime() + 31 * DAY)));
    expect(e.code).toBe('BK003');
    expect(e.message).toMatch(/89280 candidate slots.*50000/);
    expect(e.hint).toMatch(/narrow the window or pass fewer resources/);
    // one resource of the ten over the same window is within the budget
    const one = await raw(app, fx.tenantId).slots(fx.services.quick, iso(from.getTime()), iso(from.getTime() + 31 * DAY), [fx.resources[0]]);
    expect(one).toBe(31 * 288);
  });

  it('exactly 50,000 candidates are served, 50,025 are refused (counted before generating)', async () => {
    const { fx } = await tenant({ resources: 25, customers: 0, hours: [['00:00', '24:00']], services: { quick: { duration: '5 minutes' } } });
    const from = at(futureDate(2), '00:00', IST).getTime();
    const api = raw(app, fx.tenantId);
    // 2,000 five-minute starts per resource in [from, from + 10,000 min)
    expect(await api.slots(fx.services.quick, iso(from), iso(from + 10_000 * MINUTE))).toBe(50_000);
    const e = await pgError(api.slots(fx.services.quick, iso(from), iso(from + 10_005 * MINUTE)));
    expect([e.code, e.message]).toEqual(['BK003', expect.stringContaining('50025 candidate slots')]);
  });

  it('a catalogue of tiny working blocks cannot make a call walk them all: more than 50,000 blocks is BK003', async () => {
    const { fx } = await tenant({ resources: 2, customers: 0, services: { quick: { duration: '5 minutes' } } });
    // 810 one-minute blocks a day on each resource: no slot fits in any, but 31 days hold 50,220 of them
    await db.sql`delete from booking.working_hours where tenant_id = ${fx.tenantId}`;
    await db.sql`insert into booking.working_hours (tenant_id, resource_id, weekday, starts_local, ends_local)
      select ${fx.tenantId}, r, w, make_time(m / 60, m % 60, 0), make_time(m / 60, m % 60, 0) + interval '1 minute'
        from unnest(${fx.resources}::uuid[]) r, generate_series(1, 7) w, generate_series(0, 809) m`;
    const from = at(futureDate(2), '00:00', IST);
    const e = await pgError(bookingApi(app, fx.tenantId).slots(fx.services.quick, from, new Date(from.getTime() + 31 * DAY)));
    expect([e.code, e.message]).toEqual(['BK003', expect.stringContaining('more than 50000 working blocks')]);
    expect(await bookingApi(app, fx.tenantId).slots(fx.services.quick, from, new Date(from.getTime() + DAY))).toEqual([]);
  });

  it('more than 1,000 resource ids in one call are BK003', async () => {
    const { fx, api, cut } = await tenant({ resources: 1 });
    const ids = [fx.resources[0], ...Array.from({ length: 1000 }, () => randomUUID())];
    const from = at(futureDate(2), '00:00', IST);
    const e = await pgError(api.slots(cut, from, new Date(from.getTime() + DAY), ids));
    expect([e.code, e.message]).toEqual(['BK003', expect.stringContaining('1001 resource ids')]);
    expect(startsOf(await api.slots(cut, from, new Date(from.getTime() + DAY), ids.slice(0, 1000)))).toHaveLength(8);
  });

  it('slots start at the first grid point inside the window, exactly as stepping from the block start would give', async () => {
    // blocks and buffers off the 15-minute grid; the expected starts are generated the naive way here
    const hours: Array<[string, string]> = [['08:10', '12:35'], ['13:05', '19:50']];
    const { fx } = await tenant({
      resources: 2, hours, customers: 0,
      services: { odd: { duration: '50 minutes', bufferBefore: '10 minutes', bufferAfter: '5 minutes', slotStep: '15 minutes' } },
    });
    const api = bookingApi(app, fx.tenantId);
    const base = at(futureDate(3), '00:00', IST).getTime();
    const naive = (fromMs: number, toMs: number): string[] => {
      const out: string[] = [];
      for (let d = -1; d <= 4; d++) {
        for (const [s, e] of hours) {
          const mins = (t: string) => Number(t.slice(0, 2)) * 60 + Number(t.slice(3));
          const bstart = base + d * DAY + mins(s) * MINUTE;
          const bend = base + d * DAY + mins(e) * MINUTE;
          for (let st = bstart + 10 * MINUTE; st + 55 * MINUTE <= bend; st += 15 * MINUTE) {
            if (st >= fromMs && st < toMs) out.push(iso(st));
          }
        }
      }
      return out.sort();
    };
    // windows starting and ending on, just off and between grid points, over one to three days
    const windows: Array<[number, number]> = [
      [base, base + DAY], [base + 8 * 60 * MINUTE + 20 * MINUTE, base + 9 * 60 * MINUTE + 5 * MINUTE],
      [base + 8 * 60 * MINUTE + 20 * MINUTE + 1, base + 2 * DAY + 13 * 60 * MINUTE + 15 * MINUTE + 1],
      [base + 12 * 60 * MINUTE + 7 * 1000, base + 3 * DAY - 1],
    ];
    for (let i = 0; i < 8; i++) {
      const from = base + Math.floor(Math.random() * 2 * DAY);
      windows.push([from, from + 1 + Math.floor(Math.random() * 2 * DAY)]);
    }
    for (const [from, to] of windows) {
      const slots = await api.slots(fx.services.odd, new Date(from), new Date(to));
      for (const r of fx.resources) expect(startsOf(slots, r), `${iso(from)}..${iso(to)}`).toEqual(naive(from, to));
    }
  });
});

describe('booking horizon', () => {
  it('book refuses a start in year 200000 and one beyond the default 2-year horizon with BK003; within it books', async () => {
    const { fx, cut, r0, c } = await tenant({ resources: 1 });
    const api = raw(app, fx.tenantId);
    const far = await pgError(api.book(cut, r0, c[0], '200000-01-01 10:00+05:30'));
    expect([far.code, far.message]).toEqual(['BK003', expect.stringMatching(/beyond the booking horizon of this tenant \(2 years\)/)]);
    expect(far.hint).toMatch(/booking_horizon/);
    expect(await codeOf(api.book(cut, r0, c[0], `${futureDate(733)} 10:00+05:30`))).toBe('BK003');
    expect(await codeOf(api.book(cut, r0, c[0], `${futureDate(729)} 10:00+05:30`))).toBe('ok');
    const [{ n }] = await db.sql`select count(*)::int as n from booking.customers
      where tenant_id = ${fx.tenantId} and last_booking_at > now() + interval '2 years'`;
    expect(n).toBe(0);
  });

  it('a tenant with a custom horizon: book, reschedule, join_waitlist and available_slots all keep to it', async () => {
    const { fx, cut, r0, c } = await tenant({ resources: 1 });
    const other = await tenant({ resources: 1 });
    await db.sql`update booking.tenants set booking_horizon = '30 days' where id = ${fx.tenantId}`;
    const api = raw(app, fx.tenantId);
    const L = (days: number, time = '10:00') => `${futureDate(days)} ${time}+05:30`;

    const beyond = await pgError(api.book(cut, r0, c[0], L(31)));
    expect([beyond.code, beyond.message]).toEqual(['BK003', expect.stringContaining('(30 days)')]);
    const id = await api.book(cut, r0, c[0], L(29));
    expect(await codeOf(api.reschedule(id, L(31)))).toBe('BK003');
    expect(await codeOf(api.reschedule(id, L(28)))).toBe('ok');
    expect(await codeOf(api.waitlist(cut, c[1], L(29), L(31)))).toBe('BK003');
    expect(await codeOf(api.waitlist(cut, c[1], L(31), L(32)))).toBe('BK003');
    expect(await codeOf(api.waitlist(cut, c[1], L(20), L(29)))).toBe('ok');
    // a window starting beyond the horizon is refused; one across its end offers slots up to it only
    expect(await codeOf(api.slots(cut, L(32, '00:00'), L(33, '00:00')))).toBe('BK003');
    const horizonEnd = Date.now() + 30 * DAY;
    const across = await bookingApi(app, fx.tenantId).slots(cut, new Date(Date.now() + 28 * DAY), new Date(Date.now() + 32 * DAY));
    expect(across.length).toBeGreaterThan(8);
    for (const s of across) expect(s.starts_at.getTime()).toBeLessThanOrEqual(horizonEnd + MINUTE);
    expect(Math.max(...across.map((s) => s.starts_at.getTime()))).toBeGreaterThan(horizonEnd - 2 * DAY);
    // every slot it offers can be booked
    const last = across[across.length - 1];
    expect(await codeOf(api.book(cut, last.resource_id, c[2], last.starts_at.toISOString()))).toBe('ok');
    // the other tenant keeps the 2-year default
    expect(await codeOf(raw(app, other.fx.tenantId).book(other.cut, other.r0, other.c[0], L(31)))).toBe('ok');
  });

  it('the horizon column has a sane range, and the app cannot change it', async () => {
    const { fx } = await tenant({ resources: 1, customers: 0 });
    const [{ h }] = await db.sql`select booking_horizon::text as h from booking.tenants where id = ${fx.tenantId}`;
    expect(h).toBe('2 years');
    for (const bad of ['0', '-1 day', '12 hours', '11 years']) {
      expect(await codeOf(db.sql`update booking.tenants set booking_horizon = ${bad}::interval where id = ${fx.tenantId}`), bad).toBe('23514');
    }
    expect(await codeOf(db.sql`update booking.tenants set booking_horizon = null where id = ${fx.tenantId}`)).toBe('23502');
    expect(await codeOf(inTenant(app, fx.tenantId, (tx) =>
      tx`update booking.tenants set booking_horizon = '10 years' where id = ${fx.tenantId}`))).toBe('42501');
  });
});

describe('infinite and out-of-range arguments are BK003, never 22008', () => {
  it('every timestamp and interval argument of every API function', async () => {
    const { fx, cut, r0, c } = await tenant({ resources: 1, hours: [['00:00', '24:00']] });
    const api = raw(app, fx.tenantId);
    const ok = `${futureDate(5)} 10:00+05:30`;
    const okEnd = `${futureDate(6)} 10:00+05:30`;
    const booked = await api.book(cut, r0, c[0], `${futureDate(4)} 10:00+05:30`);
    const late = ['infinity', '294276-12-31 23:59:59+00', '294276-01-01'];
    const early = ['-infinity', '4713-01-01 BC', '4714-11-24 00:00:00+00 BC'];
    const cases: Array<[string, string, () => Promise<unknown>]> = [];
    for (const x of [...late, ...early]) {
      cases.push([`available_slots p_from ${x}`, 'BK003', () => api.slots(cut, x, okEnd)]);
      cases.push([`available_slots p_to ${x}`, 'BK003', () => api.slots(cut, ok, x)]);
      cases.push([`available_slots both ${x}`, 'BK003', () => api.slots(cut, x, x)]);
      cases.push([`book p_starts_at ${x}`, 'BK003', () => api.book(cut, r0, c[1], x)]);
      cases.push([`reschedule p_new_starts_at ${x}`, 'BK003', () => api.reschedule(booked, x)]);
      cases.push([`join_waitlist both ${x}`, 'BK003', () => api.waitlist(cut, c[2], x, x)]);
    }
    // (a range whose bounds are out of order fails in the caller's own tstzrange(), before the API)
    for (const x of late) cases.push([`join_waitlist upper ${x}`, 'BK003', () => api.waitlist(cut, c[2], ok, x)]);
    cases.push(['join_waitlist lower -infinity', 'BK003', () => api.waitlist(cut, c[2], '-infinity', okEnd)]);
    cases.push(['join_waitlist -infinity..infinity', 'BK003', () => api.waitlist(cut, c[2], '-infinity', 'infinity')]);
    cases.push(['available_slots -infinity..infinity', 'BK003', () => api.slots(cut, '-infinity', 'infinity')]);
    for (const hold of ['177999999 years', '-177999999 years', '2147483647 days', '-2147483647 days', '2562047788 hours', '1 month']) {
      cases.push([`book p_hold ${hold}`, 'BK003', () => api.book(cut, r0, c[3], ok, hold)]);
    }
    // a wanted range that started long ago but ends within the horizon means "from now on": accepted, as before
    cases.push(['join_waitlist lower 4713 BC', 'ok', () => api.waitlist(cut, c[2], '4713-01-01 BC', okEnd)]);
    const wrong: string[] = [];
    for (const [what, expected, run] of cases) {
      const code = await codeOf(run());
      if (code !== expected) wrong.push(`${what}: ${code}`);
    }
    expect(wrong).toEqual([]);
    // the messages say what is wrong with which argument
    const inf = await pgError(api.book(cut, r0, c[1], 'infinity'));
    expect(inf.message).toMatch(/^invalid argument: the start must be a finite timestamp/);
    const infSlots = await pgError(api.slots(cut, ok, 'infinity'));
    expect(infSlots.message).toMatch(/^invalid argument: p_to must be a finite timestamp/);
    const infWait = await pgError(api.waitlist(cut, c[2], ok, 'infinity'));
    expect(infWait.message).toMatch(/^invalid argument: the wanted range must have finite bounds/);
    // nothing was booked or queued by any of it, but the one accepted entry
    const [{ b, w }] = await db.sql`select (select count(*)::int from booking.bookings where tenant_id = ${fx.tenantId}) as b,
      (select count(*)::int from booking.waitlist_entries where tenant_id = ${fx.tenantId}) as w`;
    expect([b, w]).toEqual([1, 1]);
    // confirm and cancel take no time argument; cancel of the booking still works and frees it
    expect(await codeOf(inTenant(app, fx.tenantId, (tx) => tx`select booking.cancel(${fx.tenantId}, ${booked}, null)`))).toBe('ok');
  });
});

describe('migration 0005 on existing rows', () => {
  it('raises services below the floor to 5 minutes, audits each with its old values, and leaves the constraints valid; Down restores the old rules', async () => {
    const mdb = await createTestDatabase();
    const opts = { url: mdb.url, rolePrefix: 'bookingdb', connectTimeoutSeconds: 10, lockWaitSeconds: 10 };
    const [{ n }] = await mdb.sql`select count(*)::int as n from ops.pgmigrations where name >= '0005'`;
    expect(n).toBeGreaterThanOrEqual(1);
    const down = await migrate('down', { ...opts, count: n });
    expect(down.map((m) => m.name)).toContain('0005_bounded_availability');
    // after Down: the column is gone and the old floors apply again
    const [{ col }] = await mdb.sql`select count(*)::int as col from pg_attribute
      where attrelid = 'booking.tenants'::regclass and attname = 'booking_horizon' and not attisdropped`;
    expect(col).toBe(0);

    const fx = await createTenant(mdb.sql, { resources: 1, customers: 0 });
    const svc = async (name: string, duration: string, step: string | null) => (await mdb.sql`insert into booking.services
      (tenant_id, name, duration, slot_step) values (${fx.tenantId}, ${name}, ${duration}::interval, ${step}::interval) returning id`)[0].id as string;
    const tiny = await svc('tiny', '1 microsecond', null);
    const fine = await svc('fine step', '1 minute', '1 minute');
    const stepOnly = await svc('step only', '30 minutes', '2 minutes');
    const ok = await svc('ok', '45 minutes', '15 minutes');

    const up = await migrate('up', opts);
    expect(up.map((m) => m.name)).toContain('0005_bounded_availability');
    const rows = await mdb.sql`select id, duration::text as d, slot_step::text as s from booking.services where tenant_id = ${fx.tenantId}`;
    const by = Object.fromEntries(rows.map((r) => [r.id, [r.d, r.s]]));
    expect(by[tiny]).toEqual(['00:05:00', null]);
    expect(by[fine]).toEqual(['00:05:00', '00:05:00']);
    expect(by[stepOnly]).toEqual(['00:30:00', '00:05:00']);
    expect(by[ok]).toEqual(['00:45:00', '00:15:00']);
    const audit = await mdb.sql`select entity_id, action, details from ops.audit_log
      where tenant_id = ${fx.tenantId} and entity = 'service' order by entity_id`;
    expect(audit.map((a) => a.entity_id).sort()).toEqual([tiny, fine, stepOnly].sort());
    const detail = Object.fromEntries(audit.map((a) => [a.entity_id, a.details]));
    expect(audit.every((a) => a.action === 'service.floor_raised')).toBe(true);
    expect(detail[tiny]).toMatchObject({ old_duration: '00:00:00.000001', old_slot_step: null, new_duration: '00:05:00', new_slot_step: null });
    expect(detail[stepOnly]).toMatchObject({ old_duration: '00:30:00', old_slot_step: '00:02:00', new_slot_step: '00:05:00' });
    const cons = await mdb.sql`select conname, convalidated from pg_constraint
      where conrelid in ('booking.services'::regclass, 'booking.tenants'::regclass)
        and conname in ('services_duration_check', 'services_slot_step_check', 'tenants_booking_horizon_check')`;
    expect(cons.map((r) => [r.conname, r.convalidated]).sort()).toEqual([
      ['services_duration_check', true], ['services_slot_step_check', true], ['tenants_booking_horizon_check', true]]);
    // RLS is forced again on both tables the migration touched
    const rls = await mdb.sql`select relname, relforcerowsecurity as f from pg_class
      where oid in ('booking.services'::regclass, 'ops.audit_log'::regclass) order by 1`;
    expect(rls.map((r) => r.f)).toEqual([true, true]);
    const [{ h }] = await mdb.sql`select booking_horizon::text as h from booking.tenants where id = ${fx.tenantId}`;
    expect(h).toBe('2 years');
  });
});
