import { describe, expect, it } from 'vitest';
import { createTestDatabase } from '../helpers/database.js';
import { addResource, appPool, bookingApi, createTenant, inTenant, isoWeekday, pgError } from './helpers.js';

// Working hours are wall-clock times of the location: on the day clocks change,
// 09:00 local is still 09:00 local, so its UTC instant moves by an hour. Expected
// instants are written out in UTC, so the test does not share the code under test.
// 2027: Europe/Berlin springs forward on 28 March and falls back on 31 October;
// America/New_York on 14 March and 7 November; Pacific/Auckland falls back on 4 April.
const db = await createTestDatabase();
const { sql: app } = await appPool(db, 4);

async function zone(tz: string, hours: Array<[string, string]>, weekdays?: number[]) {
  const fx = await createTenant(db.sql, { tz, hours, weekdays, resources: 1 });
  const api = bookingApi(app, fx.tenantId);
  const cut = fx.services.cut;
  return {
    fx, api, cut, resource: fx.resources[0], customer: fx.customers[0],
    /** Slot starts (UTC ISO) between two UTC instants. */
    starts: async (from: string, to: string) =>
      (await api.slots(cut, new Date(from), new Date(to))).map((s) => s.starts_at.toISOString()),
  };
}

const z = (...instants: string[]) => instants.map((i) => new Date(i).toISOString());

describe('DST: Europe/Berlin', () => {
  it('09:00 local is 08:00Z before spring forward and 07:00Z from the day clocks change', async () => {
    const b = await zone('Europe/Berlin', [['09:00', '12:00']]);
    expect(await b.starts('2027-03-27T00:00Z', '2027-03-27T22:00Z')).toEqual(z('2027-03-27T08:00Z', '2027-03-27T09:00Z', '2027-03-27T10:00Z'));
    expect(await b.starts('2027-03-28T00:00Z', '2027-03-28T22:00Z')).toEqual(z('2027-03-28T07:00Z', '2027-03-28T08:00Z', '2027-03-28T09:00Z'));
    expect(await b.starts('2027-03-29T00:00Z', '2027-03-29T22:00Z')).toEqual(z('2027-03-29T07:00Z', '2027-03-29T08:00Z', '2027-03-29T09:00Z'));
    // one window across the change: every day opens at 09:00 local
    expect(await b.starts('2027-03-25T23:00Z', '2027-03-29T22:00Z')).toEqual(z(
      '2027-03-26T08:00Z', '2027-03-26T09:00Z', '2027-03-26T10:00Z',
      '2027-03-27T08:00Z', '2027-03-27T09:00Z', '2027-03-27T10:00Z',
      '2027-03-28T07:00Z', '2027-03-28T08:00Z', '2027-03-28T09:00Z',
      '2027-03-29T07:00Z', '2027-03-29T08:00Z', '2027-03-29T09:00Z'));
  });

  it('09:00 local is 07:00Z before fall back and 08:00Z from the day clocks change', async () => {
    const b = await zone('Europe/Berlin', [['09:00', '12:00']]);
    expect(await b.starts('2027-10-30T00:00Z', '2027-10-30T22:00Z')).toEqual(z('2027-10-30T07:00Z', '2027-10-30T08:00Z', '2027-10-30T09:00Z'));
    expect(await b.starts('2027-10-31T00:00Z', '2027-10-31T22:00Z')).toEqual(z('2027-10-31T08:00Z', '2027-10-31T09:00Z', '2027-10-31T10:00Z'));
  });

  it('a night block across the change lasts what the clock says: 2 real hours in spring, 4 in autumn', async () => {
    const b = await zone('Europe/Berlin', [['01:00', '04:00']]);
    // 01:00 CET = 00:00Z, 04:00 CEST = 02:00Z: 02:00-03:00 local does not exist that night
    expect(await b.starts('2027-03-27T22:00Z', '2027-03-28T12:00Z')).toEqual(z('2027-03-28T00:00Z', '2027-03-28T01:00Z'));
    // 01:00 CEST = 23:00Z the day before, 04:00 CET = 03:00Z: 02:00-03:00 local happens twice
    expect(await b.starts('2027-10-30T20:00Z', '2027-10-31T12:00Z'))
      .toEqual(z('2027-10-30T23:00Z', '2027-10-31T00:00Z', '2027-10-31T01:00Z', '2027-10-31T02:00Z'));
  });

  it('book checks working hours in local time on DST days, and its message shows local time', async () => {
    const b = await zone('Europe/Berlin', [['09:00', '12:00']]);
    const book = (start: string) => b.api.book({ service: b.cut, resource: b.resource, customer: b.customer, start: new Date(start) });
    await book('2027-03-28T09:00Z'); // 11:00-12:00 CEST
    // 10:00Z is 12:00 CEST (after closing), though it would be 11:00 at the winter offset
    const late = await pgError(book('2027-03-28T10:00Z'));
    expect(late.code).toBe('BK001');
    expect(late.message).toContain('2027-03-28 12:00');
    await book('2027-10-31T10:00Z'); // 11:00-12:00 CET
    // 07:00Z is 08:00 CET (before opening), though it would be 09:00 at the summer offset
    const early = await pgError(book('2027-10-31T07:00Z'));
    expect(early.code).toBe('BK001');
    expect(early.message).toContain('2027-10-31 08:00');
  });
});

describe('DST: America/New_York', () => {
  it('09:00 local is 14:00Z in standard time and 13:00Z in daylight time, on the change days too', async () => {
    const n = await zone('America/New_York', [['09:00', '11:00']]);
    expect(await n.starts('2027-03-13T05:00Z', '2027-03-14T04:00Z')).toEqual(z('2027-03-13T14:00Z', '2027-03-13T15:00Z'));
    expect(await n.starts('2027-03-14T05:00Z', '2027-03-15T04:00Z')).toEqual(z('2027-03-14T13:00Z', '2027-03-14T14:00Z'));
    expect(await n.starts('2027-11-06T04:00Z', '2027-11-07T04:00Z')).toEqual(z('2027-11-06T13:00Z', '2027-11-06T14:00Z'));
    expect(await n.starts('2027-11-07T04:00Z', '2027-11-08T05:00Z')).toEqual(z('2027-11-07T14:00Z', '2027-11-07T15:00Z'));
  });

  it('a night block across the change: 00:30-03:30 local is 2 real hours in March, 4 in November', async () => {
    const n = await zone('America/New_York', [['00:30', '03:30']]);
    // 00:30 EST = 05:30Z, 03:30 EDT = 07:30Z
    expect(await n.starts('2027-03-14T04:00Z', '2027-03-14T12:00Z')).toEqual(z('2027-03-14T05:30Z', '2027-03-14T06:30Z'));
    // 00:30 EDT = 04:30Z, 03:30 EST = 08:30Z
    expect(await n.starts('2027-11-07T03:00Z', '2027-11-07T12:00Z'))
      .toEqual(z('2027-11-07T04:30Z', '2027-11-07T05:30Z', '2027-11-07T06:30Z', '2027-11-07T07:30Z'));
  });

  it('book accepts 09:00 local and rejects 08:00 local on the change days', async () => {
    const n = await zone('America/New_York', [['09:00', '11:00']]);
    const book = (start: string) => n.api.book({ service: n.cut, resource: n.resource, customer: n.customer, start: new Date(start) });
    await book('2027-03-14T13:00Z');
    expect((await pgError(book('2027-03-14T12:00Z'))).code).toBe('BK001');
    await book('2027-11-07T14:00Z');
    expect((await pgError(book('2027-11-07T13:00Z'))).code).toBe('BK001');
  });
});

describe('local weekday', () => {
  it('hours for Monday apply on the local Monday, which can be Sunday in UTC (Pacific/Auckland, also across its DST end)', async () => {
    expect([isoWeekday('2027-03-01'), isoWeekday('2027-04-05')]).toEqual([1, 1]);
    const nz = await zone('Pacific/Auckland', [['09:00', '10:00']], [1]);
    // Monday 1 March 09:00 NZDT (+13) = Sunday 20:00Z; Monday 5 April 09:00 NZST (+12) = Sunday 21:00Z
    expect(await nz.starts('2027-02-27T00:00Z', '2027-03-03T00:00Z')).toEqual(z('2027-02-28T20:00Z'));
    expect(await nz.starts('2027-04-03T00:00Z', '2027-04-07T00:00Z')).toEqual(z('2027-04-04T21:00Z'));
    await nz.api.book({ service: nz.cut, resource: nz.resource, customer: nz.customer, start: new Date('2027-02-28T20:00Z') });
    expect((await pgError(nz.api.book({ service: nz.cut, resource: nz.resource, customer: nz.customer, start: new Date('2027-03-01T20:00Z') }))).code).toBe('BK001');
  });
});

describe('resources in different time zones', () => {
  it('one service offered in Berlin and New York: each resource\'s hours are read in its own location\'s zone', async () => {
    const b = await zone('Europe/Berlin', [['09:00', '10:00']]);
    const [ny] = await db.sql`insert into booking.locations (tenant_id, name, timezone)
      values (${b.fx.tenantId}, 'Manhattan', 'America/New_York') returning id`;
    const nyResource = await addResource(db.sql, b.fx.tenantId, ny.id, 'NY chair', { hours: [['09:00', '10:00']] });
    await db.sql`insert into booking.service_resources values (${b.fx.tenantId}, ${b.cut}, ${nyResource})`;
    const slots = await b.api.slots(b.cut, new Date('2027-03-20T00:00Z'), new Date('2027-03-21T00:00Z'));
    // 20 March 2027: Berlin is still on CET (+1), New York already on EDT (-4)
    expect(slots.map((s) => [s.resource_id, s.starts_at.toISOString()])).toEqual([
      [b.resource, '2027-03-20T08:00:00.000Z'],
      [nyResource, '2027-03-20T13:00:00.000Z'],
    ]);
  });
});

describe('session time zone', () => {
  it('slots and working-hours checks do not depend on the connection\'s TimeZone setting', async () => {
    const b = await zone('Europe/Berlin', [['09:00', '12:00']]);
    const expected = await b.starts('2027-03-26T00:00Z', '2027-03-30T00:00Z');
    for (const tz of ['Pacific/Honolulu', 'Asia/Tokyo', 'America/New_York']) {
      const got = await inTenant(app, b.fx.tenantId, async (tx) => {
        await tx.unsafe(`set local time zone '${tz}'`);
        return (await tx`select starts_at from booking.available_slots(${b.fx.tenantId}, ${b.cut},
          ${new Date('2027-03-26T00:00Z')}, ${new Date('2027-03-30T00:00Z')}, null)`).map((r) => r.starts_at.toISOString());
      });
      expect(got, `session time zone ${tz}`).toEqual(expected);
      const e = await pgError(inTenant(app, b.fx.tenantId, async (tx) => {
        await tx.unsafe(`set local time zone '${tz}'`);
        await tx`select booking.book(${b.fx.tenantId}, ${b.cut}, ${b.resource}, ${b.customer}, ${new Date('2027-03-28T10:00Z')}, null, null)`;
      }));
      expect(e.code, `session time zone ${tz}`).toBe('BK001');
    }
  });
});
