import { describe, expect, it } from 'vitest';
import { createTestDatabase } from '../helpers/database.js';
import { appPool, at, bookingApi, createTenant, futureDate, iso, pgError, settle, sleep } from './helpers.js';

// The fast paths of issue 10 keep the API's behaviour: book() fails a slot that is
// already taken before it queues for the resource lock (booking._precheck_free), with
// the same error, message and conflict count as the check under the lock; and
// available_slots reads only the local dates a window can hold slots on.
const db = await createTestDatabase();
const { sql: app } = await appPool(db, 4);

const conflicts = async () => Number((await db.sql`select last_value, is_called from ops.booking_conflicts`)
  .map((r) => (r.is_called ? r.last_value : 0))[0]);

describe('book: a taken slot fails the same way before and under the resource lock', () => {
  it('the unlocked pre-check and the check under the lock raise the same 23P01 message and count one conflict each', async () => {
    const fx = await createTenant(db.sql, { services: { cut: { duration: '60 minutes', bufferAfter: '10 minutes' } } });
    const api = bookingApi(app, fx.tenantId);
    const day = futureDate(6);
    const r0 = fx.resources[0];
    const message = (from: string, to: string) =>
      `slot taken: resource "${fx.resourceNames[0]}" (${r0}) is not free from ${day} ${from} ${fx.tz} to ${day} ${to} ${fx.tz}`;

    // committed booking in the way: found by the pre-check, before any lock
    await api.book({ service: fx.services.cut, resource: r0, customer: fx.customers[0], start: at(day, '10:00', '+05:30') });
    const before = await conflicts();
    const early = await pgError(api.book({ service: fx.services.cut, resource: r0, customer: fx.customers[1], start: at(day, '10:30', '+05:30') }));
    expect([early.code, early.message, early.detail]).toEqual(['23P01', message('10:30', '11:40'),
      `it is allocated from ${day} 10:00 ${fx.tz} to ${day} 11:10 ${fx.tz} (buffers included)`]);
    expect(await conflicts()).toBe(before + 1);

    // a booking still uncommitted when the second call reads: the pre-check passes, the
    // call waits for the lock, and the check under the lock fails it once the first commits
    let release!: () => void;
    const held = new Promise<void>((r) => { release = r; });
    const first = app.begin(async (tx) => {
      await tx`select set_config('app.tenant_id', ${fx.tenantId}, true)`;
      await tx`select booking.book(${fx.tenantId}, ${fx.services.cut}, ${r0}, ${fx.customers[2]}, ${at(day, '14:00', '+05:30')})`;
      await held;
    });
    await sleep(200);
    const second = pgError(api.book({ service: fx.services.cut, resource: r0, customer: fx.customers[3], start: at(day, '14:30', '+05:30') }));
    // (this database only: other test files share the server)
    const waitingForLock = async () => Number((await db.sql`select count(*)::int as n from pg_locks
      where locktype = 'advisory' and not granted
        and database = (select oid from pg_database where datname = current_database())`)[0].n);
    for (let i = 0; i < 250 && (await waitingForLock()) === 0; i++) await sleep(20);
    expect(await waitingForLock()).toBe(1);
    release();
    await first;
    const late = await second;
    expect([late.code, late.message, late.detail]).toEqual(['23P01', message('14:30', '15:40'),
      `it is allocated from ${day} 14:00 ${fx.tz} to ${day} 15:10 ${fx.tz} (buffers included)`]);
    expect(await conflicts()).toBe(before + 2);
  });
});

describe('book: a call refused for a taken slot writes nothing but the conflict count', () => {
  it('takes no row lock on the customer and no transaction id, so it writes no WAL of its own (it did: a key-share lock per refused call)', async () => {
    const fx = await createTenant(db.sql);
    const api = bookingApi(app, fx.tenantId);
    const start = at(futureDate(6), '11:00', '+05:30');
    await api.book({ service: fx.services.cut, resource: fx.resources[0], customer: fx.customers[0], start });
    const xmax = async () => (await db.sql`select xmax::text as x from booking.customers
      where tenant_id = ${fx.tenantId} and id = ${fx.customers[1]}`)[0].x as string;
    expect(await xmax()).toBe('0');
    const before = await conflicts();
    for (let i = 0; i < 3; i++) {
      const e = await pgError(api.book({ service: fx.services.cut, resource: fx.resources[0], customer: fx.customers[1], start }));
      expect(e.code).toBe('23P01');
    }
    expect(await conflicts()).toBe(before + 3);
    // a key-share lock would have left the refused call's (aborted) transaction id here
    expect(await xmax()).toBe('0');
    // and the customer is still locked by a booking that succeeds, as retention relies on
    const other = at(futureDate(6), '15:00', '+05:30');
    await api.book({ service: fx.services.cut, resource: fx.resources[0], customer: fx.customers[1], start: other });
    expect(await xmax()).not.toBe('0');
  });
});

describe('book with an idempotency key: no early "taken" for the retry of a call that just committed', () => {
  it('a retry that read the key before the first call committed, and reads the slot after, returns the first booking\'s id', async () => {
    const fx = await createTenant(db.sql);
    const api = bookingApi(app, fx.tenantId);
    const start = at(futureDate(7), '10:00', '+05:30');
    const key = `retry-${fx.slug}`;
    const call = { service: fx.services.cut, resource: fx.resources[0], customer: fx.customers[0], start, key };
    const here = (await db.sql`select oid from pg_database where datname = current_database()`)[0].oid;
    const waiting = async (mode: string) => Number((await db.sql`select count(*)::int as n from pg_locks
      where database = ${here} and relation = 'booking.time_off'::regclass and mode = ${mode} and not granted`)[0].n);
    const until = async (mode: string) => { for (let i = 0; i < 250 && (await waiting(mode)) === 0; i++) await sleep(20); };

    // the first call has booked but not committed
    let release!: () => void;
    const held = new Promise<void>((r) => { release = r; });
    let firstId = '';
    const first = app.begin(async (tx) => {
      await tx`select set_config('app.tenant_id', ${fx.tenantId}, true)`;
      firstId = (await tx`select booking.book(${fx.tenantId}, ${call.service}, ${call.resource}, ${call.customer}, ${start}, ${key}) as id`)[0].id;
      await held;
    });
    for (let i = 0; i < 250 && firstId === ''; i++) await sleep(20);
    // an ACCESS EXCLUSIVE request on time_off queues behind the first call; the retry
    // reads the key (not there yet), then queues behind it when it reads time off
    const gate = db.sql.begin(async (tx) => {
      await tx`set local lock_timeout = '20s'`;
      await tx`lock table booking.time_off in access exclusive mode`;
    });
    await until('AccessExclusiveLock');
    const retry = settle(api.book(call));
    await until('AccessShareLock');
    expect(await waiting('AccessShareLock')).toBe(1);
    release();
    await first;
    await gate;
    const r = await retry;
    expect(r).toEqual({ ok: true, value: firstId });
  });
});

describe('available_slots: the dates of a window', () => {
  it('a window ending just after local midnight holds the next day\'s first slot, one ending at midnight does not', async () => {
    const fx = await createTenant(db.sql, { hours: [['00:00', '24:00']], services: { cut: { duration: '60 minutes', bufferBefore: '15 minutes' } } });
    const api = bookingApi(app, fx.tenantId);
    const day = futureDate(8);
    const next = futureDate(9);
    const starts = async (from: Date, to: Date) =>
      (await api.slots(fx.services.cut, from, to, [fx.resources[0]])).map((s) => iso(s.starts_at));
    // slots start at :15 (buffer before from the block's start); 23:15 does not fit before 24:00
    expect(await starts(at(day, '22:00', '+05:30'), at(next, '00:30', '+05:30')))
      .toEqual([iso(at(day, '22:15', '+05:30')), iso(at(next, '00:15', '+05:30'))]);
    expect(await starts(at(day, '22:00', '+05:30'), at(next, '00:00', '+05:30')))
      .toEqual([iso(at(day, '22:15', '+05:30'))]);
    const whole = await starts(at(day, '00:00', '+05:30'), at(next, '00:00', '+05:30'));
    expect([whole.length, whole[0], whole[22]]).toEqual([23, iso(at(day, '00:15', '+05:30')), iso(at(day, '22:15', '+05:30'))]);
  });
});
