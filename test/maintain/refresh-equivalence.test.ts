import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { addResource, createTenant, type TenantFixture } from '../domain/helpers.js';

// The reporting views were rewritten to be cheap under booking traffic (covering index,
// no per-booking joins for single-zone tenants, weekly blocks generated per weekday).
// They are now computed one tenant at a time into stage tables (migration 0013) and
// refreshed from those. Their contract is their rows: this compares what the staging
// produces with the first definitions (./reporting-before.sql) in one transaction (one
// now()), both ways with EXCEPT ALL, on data that takes every branch of both: a tenant with locations in two zones
// (one with a DST change inside the window), two blocks a day, time off across blocks,
// an inactive resource, bookings in every status across the whole window and beyond it,
// lapsed and live holds, two currencies, and bookings that allocate a second resource.

const reference = Object.fromEntries(
  readFileSync(join(import.meta.dirname, 'reporting-before.sql'), 'utf8').split(/^-- name: /m).slice(1)
    .map((part) => { const nl = part.indexOf('\n'); return [part.slice(0, nl).trim(), part.slice(nl + 1)]; }),
) as Record<'daily_bookings' | 'daily_utilisation', string>;

let db: TestDatabase;
let a: TenantFixture;
let b: TenantFixture;

/** Bookings every 3 hours on each day of -100 .. +40 on a resource, statuses and holds cycling. */
async function seedBookings(t: TenantFixture, resourceId: string, service: string, extraResource: string | null, offsetHours: number) {
  await db.sql`
    with slots as (
      select g, (date_trunc('day', now()) + make_interval(days => g / 8 - 100, hours => (g % 8) * 3 + ${offsetHours})) as s
        from generate_series(0, 141 * 8 - 1) g
    ), rows as (
      select g, s,
             (array['confirmed','completed','no_show','cancelled','pending','pending','confirmed'])[1 + g % 7] as status,
             case g % 7 when 4 then now() - interval '1 hour' when 5 then now() + interval '1 hour' end as hold,
             case when g % 11 = 0 then 'USD' else 'EUR' end as currency
        from slots
    ), ins as (
      insert into booking.bookings (tenant_id, customer_id, service_id, resource_id, status, during, hold_expires_at,
                                    price_cents, currency, cancelled_at)
      select ${t.tenantId}, ${t.customers[0]}, ${service}, ${resourceId}, r.status, tstzrange(r.s, r.s + interval '50 minutes'),
             r.hold, 1000 + (r.g % 5) * 250, r.currency, case when r.status = 'cancelled' then r.s end
        from rows r
      returning id, during, status, hold_expires_at
    )
    insert into booking.booking_allocations (tenant_id, booking_id, resource_id, blocked, active, hold_expires_at)
    select ${t.tenantId}, i.id, x.resource_id, tstzrange(lower(i.during) - interval '10 minutes', upper(i.during) + interval '5 minutes'),
           i.status <> 'cancelled', i.hold_expires_at
      from ins i
     cross join lateral (select ${resourceId}::uuid as resource_id
                         union all select ${extraResource}::uuid where ${extraResource}::uuid is not null) x`;
}

beforeAll(async () => {
  db = await createTestDatabase();
  // A: two locations, Asia/Kolkata and Europe/Berlin (DST ends inside any 120-day window
  // around late October; elsewhere the zones still differ), a room booked alongside chairs
  a = await createTenant(db.sql, { tz: 'Asia/Kolkata', resources: 2, hours: [['09:00', '13:00'], ['14:00', '17:00']] });
  const [berlin] = await db.sql`insert into booking.locations (tenant_id, name, timezone) values (${a.tenantId}, 'Berlin', 'Europe/Berlin') returning id`;
  const berlinChair = await addResource(db.sql, a.tenantId, berlin.id, 'Berlin chair', { hours: [['08:00', '16:00']], weekdays: [1, 2, 3, 4, 5] });
  const room = await addResource(db.sql, a.tenantId, berlin.id, 'Berlin room', { kind: 'room', hours: [['00:00', '23:59']] });
  await addResource(db.sql, a.tenantId, a.locationId, 'Old chair', { active: false });
  // B: one zone, one chair
  b = await createTenant(db.sql, { tz: 'America/Sao_Paulo', resources: 1, hours: [['08:00', '12:00'], ['13:00', '18:00']] });
  const svcA = Object.values(a.services)[0];
  const svcB = Object.values(b.services)[0];
  await seedBookings(a, a.resources[0], svcA, null, 0);
  await seedBookings(a, a.resources[1], svcA, null, 1);
  await seedBookings(a, berlinChair, svcA, room, 2);
  await seedBookings(b, b.resources[0], svcB, null, 0);
  // time off: across two blocks of a day, inside one block, and one spanning days
  await db.sql`insert into booking.time_off (tenant_id, resource_id, during) values
    (${a.tenantId}, ${a.resources[0]}, tstzrange(date_trunc('day', now()) + interval '3 days 5 hours', date_trunc('day', now()) + interval '3 days 9 hours')),
    (${a.tenantId}, ${berlinChair}, tstzrange(date_trunc('day', now()) - interval '20 days', date_trunc('day', now()) - interval '17 days')),
    (${b.tenantId}, ${b.resources[0]}, tstzrange(date_trunc('day', now()) + interval '1 day 12 hours', date_trunc('day', now()) + interval '1 day 14 hours'))`;
  await db.sql`analyze`; // plans as on a live database, not as on never-analysed tables
});

/**
 * The view's rows as `maintain` makes them (every tenant staged by its own call of the
 * stage function, then the view refreshed from the stage) against the first definition,
 * in one transaction, so both see one now().
 */
async function compare(view: 'daily_bookings' | 'daily_utilisation') {
  return db.sql.begin(async (tx) => {
    const tenants = await tx`select t.id from ops.reporting_tenants() as t(id)`;
    for (const t of tenants) await tx`select ops.reporting_stage_tenant(${view}, ${t.id})`;
    await tx`select * from ops.refresh_reporting_view(${view}, false)`;
    await tx.unsafe(`create temp table now_rows on commit drop as select * from reporting.${view}`);
    await tx.unsafe(`create temp table ref_rows on commit drop as ${reference[view].replace(/;\s*$/, '')}`);
    const [r] = await tx`select (select count(*)::int from ref_rows) as ref,
        (select count(*)::int from now_rows) as now,
        (select count(*)::int from (select * from ref_rows except all select * from now_rows) x) as missing,
        (select count(*)::int from (select * from now_rows except all select * from ref_rows) x) as extra,
        (select count(distinct tenant_id)::int from now_rows) as tenants`;
    return r;
  });
}

describe('reporting views: the cheap definitions give the first definitions\' rows', () => {
  it('daily_bookings: same rows, both ways, for a two-zone and a one-zone tenant', async () => {
    const r = await compare('daily_bookings');
    expect(r.ref).toBeGreaterThan(200); // 121 days x 2 currencies x 2 tenants, some days one currency
    expect(r).toMatchObject({ now: r.ref, missing: 0, extra: 0, tenants: 2 });
  });

  it('daily_utilisation: same rows, both ways', async () => {
    const r = await compare('daily_utilisation');
    // A: chair and room, B: chair; one row per local day of the window. A's chairs are in
    // Kolkata and Berlin: while their dates differ (about 18:30-22:00 UTC), its chair days
    // span one more date
    const [{ split }] = await db.sql`select (pg_catalog.now() at time zone 'Asia/Kolkata')::date
        <> (pg_catalog.now() at time zone 'Europe/Berlin')::date as split`;
    expect(r.ref).toBe(121 * 3 + (split ? 1 : 0));
    expect(r).toMatchObject({ now: r.ref, missing: 0, extra: 0, tenants: 2 });
  });

  it('the data takes the branches it is meant to: several zones, lapsed holds, a second resource', async () => {
    const [z] = await db.sql`select count(distinct timezone)::int as zones from booking.locations where tenant_id = ${a.tenantId}`;
    expect(z.zones).toBe(2);
    const [h] = await db.sql`select count(*) filter (where hold_expires_at <= now())::int as lapsed,
        count(*) filter (where hold_expires_at > now())::int as live from booking.bookings where status = 'pending'`;
    expect(h.lapsed).toBeGreaterThan(0);
    expect(h.live).toBeGreaterThan(0);
    const [m] = await db.sql`select count(*)::int as n from (select booking_id from booking.booking_allocations group by 1 having count(*) > 1) x`;
    expect(m.n).toBeGreaterThan(0);
  });
});
