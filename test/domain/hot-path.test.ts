import { describe, expect, it } from 'vitest';
import { createTestDatabase } from '../helpers/database.js';
import { appPool, at, bookingApi, createTenant, futureDate, pgError, sleep } from './helpers.js';

// book() runs its common path (no idempotency key) inline instead of through the
// helpers of sql/schema/20-helpers (issue 10: fewer statements and less time under the
// resource lock). These tests pin that the inlined pieces still agree with the helpers
// the rest of the API uses: the same resource lock, the same working-hours and
// time-off answers with the same messages, the same audit row.
const db = await createTestDatabase();
const { sql: app } = await appPool(db, 4);
const IST = '+05:30';

describe('book without a key, inlined', () => {
  it('queues behind the resource lock that booking._lock_resources takes for cancel and reschedule', async () => {
    const fx = await createTenant(db.sql);
    const api = bookingApi(app, fx.tenantId);
    const start = at(futureDate(4), '10:00', IST);
    const holder = await db.sql.reserve();
    try {
      await holder`begin`;
      await holder`select booking._lock_resources(${fx.tenantId}::uuid, array[${fx.resources[0]}]::uuid[])`;
      let done = false;
      const booking = api.book({ service: fx.services.cut, resource: fx.resources[0], customer: fx.customers[0], start })
        .finally(() => { done = true; });
      // it waits on exactly that advisory lock, not on anything else
      let waiting = 0;
      for (let i = 0; i < 100 && waiting === 0; i++) {
        await sleep(50);
        [{ waiting }] = await db.sql`select count(*)::int as waiting from pg_locks
           where locktype = 'advisory' and not granted and classid = 1651470187::oid
             and database = (select oid from pg_database where datname = current_database())`;
      }
      expect(waiting).toBe(1);
      expect(done).toBe(false);
      // another resource is not blocked by it
      await api.book({ service: fx.services.cut, resource: fx.resources[1], customer: fx.customers[1], start });
      await holder`commit`;
      expect(await booking).toMatch(/^[0-9a-f-]{36}$/);
    } finally {
      holder.release();
    }
  });

  it('gives the answers and messages of booking._working_problem on hours, breaks, days off and time off', async () => {
    const fx = await createTenant(db.sql, {
      hours: [['09:00', '12:00'], ['13:00', '17:00']],
      services: { color: { duration: '45 minutes', bufferBefore: '10 minutes', bufferAfter: '5 minutes' } },
    });
    const api = bookingApi(app, fx.tenantId);
    const day = futureDate(9);
    const r0 = fx.resources[0];
    await db.sql`insert into booking.time_off (tenant_id, resource_id, during)
      values (${fx.tenantId}, ${r0}, tstzrange(${at(day, '14:00', IST)}::timestamptz, ${at(day, '15:00', IST)}::timestamptz))`;
    const starts = ['08:50', '09:00', '09:10', '11:00', '11:10', '12:30', '13:10', '13:20', '14:30', '15:05', '16:10', '16:20', '23:50'];
    let agreed = 0;
    for (const t of starts) {
      const start = at(day, t, IST);
      // the helper's answer for the same blocked range (buffers included), as the owner
      const [{ problem }] = await db.sql`select booking._working_problem(${fx.tenantId}::uuid, ${r0}::uuid, 'Asia/Kolkata',
          ${start}::timestamptz - interval '10 minutes', ${start}::timestamptz + interval '50 minutes') as problem`;
      const outcome = await api.book({ service: fx.services.color, resource: r0, customer: fx.customers[0], start })
        .then((id) => ({ code: 'ok', message: id }), (e) => ({ code: e.code as string, message: e.message as string }));
      if (problem === null) {
        expect(outcome.code, `${t}: ${outcome.message}`).toBe('ok');
        await api.cancel(outcome.message);
      } else {
        expect([outcome.code, outcome.message], t).toEqual(['BK001', problem]);
      }
      agreed += 1;
    }
    expect(agreed).toBe(starts.length);
    // both kinds of refusal and some successes were among them
    const refusals = await Promise.all(['08:50', '14:30'].map((t) =>
      pgError(api.book({ service: fx.services.color, resource: r0, customer: fx.customers[0], start: at(day, t, IST) }))));
    expect(refusals.map((e) => e.message.split(':')[0])).toEqual(['outside working hours', 'in time off']);
  });

  it('writes the same audit row as ops.write_audit, and none for a refused call', async () => {
    const fx = await createTenant(db.sql);
    const api = bookingApi(app, fx.tenantId);
    const start = at(futureDate(5), '11:00', IST);
    const id = await api.book({ service: fx.services.cut, resource: fx.resources[0], customer: fx.customers[0], start });
    expect((await pgError(api.book({ service: fx.services.cut, resource: fx.resources[0], customer: fx.customers[1], start }))).code).toBe('23P01');
    const rows = await db.sql`select action, entity, entity_id, actor = session_user::text as by_session_user, details
      from ops.audit_log where tenant_id = ${fx.tenantId} and action = 'booking.book'`;
    expect(rows).toEqual([{ action: 'booking.book', entity: 'booking', entity_id: id, by_session_user: false, details: {
      service_id: fx.services.cut, resource_id: fx.resources[0], customer_id: fx.customers[0], status: 'confirmed' } }]);
    const [{ actor }] = await db.sql`select actor from ops.audit_log where tenant_id = ${fx.tenantId} and action = 'booking.book'`;
    const [{ login }] = await app`select session_user::text as login`;
    expect(actor).toBe(login); // the app's login, as write_audit records it
  });
});

describe('cancel and the waitlist offer', () => {
  /** Runs `fn` while another session holds the resource's lock; says whether fn had to wait for it. */
  async function underResourceLock(tenantId: string, resourceId: string, fn: () => Promise<unknown>): Promise<{ waited: boolean }> {
    const holder = await db.sql.reserve();
    try {
      await holder`begin`;
      await holder`select booking._lock_resources(${tenantId}::uuid, array[${resourceId}]::uuid[])`;
      let done = false;
      const call = fn().finally(() => { done = true; });
      let waiting = 0;
      for (let i = 0; i < 40 && waiting === 0 && !done; i++) {
        await sleep(50);
        [{ waiting }] = await db.sql`select count(*)::int as waiting from pg_locks
           where locktype = 'advisory' and not granted and classid = 1651470187::oid
             and database = (select oid from pg_database where datname = current_database())`;
      }
      await holder`commit`;
      await call;
      return { waited: waiting > 0 };
    } finally {
      holder.release();
    }
  }

  it('a cancel nobody on the waitlist can use takes no resource lock; one with a taker does, and offers the slot', async () => {
    const fx = await createTenant(db.sql, { customers: 3 });
    const api = bookingApi(app, fx.tenantId);
    const day = futureDate(6);
    const r0 = fx.resources[0];
    const first = await api.book({ service: fx.services.cut, resource: r0, customer: fx.customers[0], start: at(day, '10:00', IST) });
    const second = await api.book({ service: fx.services.cut, resource: r0, customer: fx.customers[0], start: at(day, '12:00', IST) });
    // someone waits for the morning only (09:00-11:00): the 12:00 slot is of no use to them
    await api.joinWaitlist({ service: fx.services.cut, customer: fx.customers[1], from: at(day, '09:00', IST), to: at(day, '11:00', IST) });
    expect(await underResourceLock(fx.tenantId, r0, () => api.cancel(second))).toEqual({ waited: false });
    expect(await underResourceLock(fx.tenantId, r0, () => api.cancel(first))).toEqual({ waited: true });
    const offered = await db.sql`select b.status, b.customer_id, b.starts from booking.bookings b
      where b.tenant_id = ${fx.tenantId} and b.status = 'pending'`;
    expect(offered).toEqual([{ status: 'pending', customer_id: fx.customers[1], starts: at(day, '10:00', IST) }]);
  });
});

describe('booking ids', () => {
  it('book, keyed book and the waitlist offer make time-ordered version-7 ids for bookings and allocations', async () => {
    const fx = await createTenant(db.sql, { customers: 3 });
    const api = bookingApi(app, fx.tenantId);
    const day = futureDate(7);
    const before = Date.now();
    const plain = await api.book({ service: fx.services.cut, resource: fx.resources[0], customer: fx.customers[0], start: at(day, '10:00', IST) });
    await sleep(5);
    const keyed = await api.book({ service: fx.services.cut, resource: fx.resources[0], customer: fx.customers[0], start: at(day, '12:00', IST), key: 'k-1' });
    await api.joinWaitlist({ service: fx.services.cut, customer: fx.customers[1], from: at(day, '09:00', IST), to: at(day, '13:00', IST) });
    await api.cancel(plain);
    const rows = await db.sql`select b.id::text as booking, a.id::text as allocation, b.status from booking.bookings b
      join booking.booking_allocations a on a.tenant_id = b.tenant_id and a.booking_id = b.id
      where b.tenant_id = ${fx.tenantId} order by b.created_at, b.id`;
    expect(rows.map((r) => r.booking)).toEqual([plain, keyed, expect.any(String)]);
    expect(rows[2].status).toBe('pending'); // the waitlist offer
    const ms = (id: string) => parseInt(id.replaceAll('-', '').slice(0, 12), 16);
    for (const r of rows) {
      for (const id of [r.booking, r.allocation]) {
        expect(id, id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
        expect(ms(id)).toBeGreaterThanOrEqual(before - 1000); // the database clock may differ a little
        expect(ms(id)).toBeLessThanOrEqual(Date.now() + 1000);
      }
    }
    expect(ms(rows[0].booking)).toBeLessThan(ms(rows[1].booking));
    expect(new Set(rows.flatMap((r) => [r.booking, r.allocation])).size).toBe(6);
  });
});
