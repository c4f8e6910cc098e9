import { beforeEach, describe, expect, it } from 'vitest';
import postgres from 'postgres';
import { createTestDatabase, pool, uniqueName } from '../helpers/database.js';
import { createTenant, type TenantFixture } from '../domain/helpers.js';
import { runMaintain, type TaskResult } from '../../src/maintain/runner.js';
import { readRuns } from '../../src/runs/ledger.js';
import { snapshot } from './helpers.js';

// The `retention` task (GDPR) on real data, driven through the runner as `bookingdb
// maintain` drives it (as a superuser, like the CLI's connection). The pii columns are
// found from the catalog by the test too, so a column tagged pii later cannot be missed;
// this file adds two (customers.address, and payments.payer_name, reached through
// bookings) before anything runs.
const db = await createTestDatabase();
const maint = pool(db.url, 5);
await db.sql.unsafe(`
  alter table booking.customers add column address text;
  comment on column booking.customers.address is 'pii';
  alter table booking.payments add column payer_name text;
  comment on column booking.payments.payer_name is 'pii';`);

interface Customer { id: string; email: string; bookingId: string | null }

/** A customer whose last activity was `lastAgo` ago (created `createdAgo` ago), with one cancelled booking, a payment and a rejected erasure request, all holding pii. */
async function customer(fx: TenantFixture, n: number, lastAgo: string | null, createdAgo = '5 years'): Promise<Customer> {
  const email = `p${n}@${fx.slug}.example`;
  const [c] = await db.sql`
    insert into booking.customers (tenant_id, email, full_name, phone, address, last_booking_at, created_at)
    values (${fx.tenantId}, ${email}, ${`Person ${n} of ${fx.slug}`}, '+49 30 555', ${`${n} Main street`},
            now() - ${lastAgo}::interval, now() - ${createdAgo}::interval)
    returning id`;
  if (lastAgo === null) return { id: c.id, email, bookingId: null };
  const [b] = await db.sql`
    insert into booking.bookings (tenant_id, customer_id, service_id, resource_id, status, during, price_cents,
                                  cancelled_at, cancel_reason, created_at)
    values (${fx.tenantId}, ${c.id}, ${fx.services.cut}, ${fx.resources[0]}, 'cancelled',
            tstzrange(now() - ${lastAgo}::interval, now() - ${lastAgo}::interval + interval '1 hour'), 4200,
            now() - ${lastAgo}::interval - interval '1 day', ${`Person ${n} is ill`}, now() - ${lastAgo}::interval - interval '2 days')
    returning id`;
  await db.sql`insert into booking.payments (tenant_id, booking_id, amount_cents, status, payer_name)
    values (${fx.tenantId}, ${b.id}, 4200, 'refunded', ${`Person ${n}`})`;
  await db.sql`insert into booking.erasure_requests (tenant_id, customer_id, status, processed_at, note)
    values (${fx.tenantId}, ${c.id}, 'rejected', now() - interval '1 year', ${`called by Person ${n}`})`;
  return { id: c.id, email, bookingId: b.id };
}

/** Every (table, column) tagged 'pii' in schema booking, read from the catalog. */
async function piiColumns(): Promise<Array<{ table: string; column: string }>> {
  const rows = await db.sql`
    select c.relname as table, a.attname as column
      from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = 'booking' and c.relkind in ('r', 'p') and a.attnum > 0 and not a.attisdropped
       and col_description(c.oid, a.attnum) = 'pii'
     order by 1, 2`;
  return rows.map((r) => ({ table: String(r.table), column: String(r.column) }));
}

/** The pii values still held for a customer, per table.column (rows tied through customer_id, or through its bookings). */
async function piiValues(tenantId: string, customerId: string): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const { table, column } of await piiColumns()) {
    const where = table === 'customers' ? 't.id = $2'
      : table === 'payments' ? 't.booking_id in (select id from booking.bookings where tenant_id = $1 and customer_id = $2)'
      : 't.customer_id = $2';
    const rows = await db.sql.unsafe(`select t."${column}" as v from booking."${table}" t where t.tenant_id = $1 and ${where}`, [tenantId, customerId]);
    out[`${table}.${column}`] = rows.map((r) => r.v);
  }
  return out;
}

async function bookingFacts(customerId: string): Promise<unknown[]> {
  const rows = await db.sql`select id, status, during::text, price_cents, currency, created_at, cancelled_at, service_id, resource_id
    from booking.bookings where customer_id = ${customerId} order by id`;
  return [...rows];
}

async function retention(options: { months?: number; batchSize?: number; dryRun?: boolean; lockTimeoutMs?: number; lockAttempts?: number } = {}): Promise<TaskResult> {
  const report = await runMaintain(maint, {
    only: ['retention'], dryRun: options.dryRun, lockTimeoutMs: options.lockTimeoutMs, lockAttempts: options.lockAttempts,
    taskOptions: { retention: { months: options.months ?? 24, batchSize: options.batchSize ?? 1000 } },
  });
  expect(report.tasks).toHaveLength(1);
  return report.tasks[0];
}

describe('maintain retention', () => {
  beforeEach(async () => {
    await retention(); // each test starts with nothing due (what an earlier one kept stays kept)
  });

  it('overwrites every pii column found from the catalog (a new one too) and keeps the bookings and their facts; a recent customer is kept', async () => {
    const fx = await createTenant(db.sql, { customers: 0 });
    const old = await customer(fx, 1, '3 years');
    const recent = await customer(fx, 2, '1 month');
    const fresh = await customer(fx, 3, null, '2 days'); // never booked, created recently
    expect((await piiColumns()).map((c) => `${c.table}.${c.column}`)).toEqual(expect.arrayContaining([
      'customers.email', 'customers.full_name', 'customers.phone', 'customers.address',
      'bookings.cancel_reason', 'erasure_requests.note', 'payments.payer_name']));
    const factsBefore = await bookingFacts(old.id);
    const recentBefore = await piiValues(fx.tenantId, recent.id);
    const freshBefore = await piiValues(fx.tenantId, fresh.id);

    const task = await retention();
    expect(task).toMatchObject({ name: 'retention', status: 'ok' });
    expect(task.detail).toMatchObject({ customersAnonymised: 1, erasureRequestsDone: 0, batches: 1 });

    const cleared = await piiValues(fx.tenantId, old.id);
    for (const [column, values] of Object.entries(cleared)) {
      expect(values.length, `${column} has rows for the customer`).toBeGreaterThan(0);
      for (const v of values) expect([null, 'anonymised'], `${column} still holds ${String(v)}`).toContain(v);
    }
    const [row] = await db.sql`select anonymized_at, last_booking_at from booking.customers where id = ${old.id}`;
    expect(row.anonymized_at).toBeInstanceOf(Date);
    expect(await bookingFacts(old.id)).toEqual(factsBefore); // times, prices, statuses kept
    expect(await piiValues(fx.tenantId, recent.id)).toEqual(recentBefore);
    expect(await piiValues(fx.tenantId, fresh.id)).toEqual(freshBefore);
    const kept = await db.sql`select id from booking.customers where tenant_id = ${fx.tenantId} and anonymized_at is null order by id`;
    expect(kept.map((r) => r.id).sort()).toEqual([recent.id, fresh.id].sort());
    const [run] = await readRuns(db.sql, { command: 'maintain', task: 'retention', limit: 1 });
    expect(run).toMatchObject({ id: task.runId, state: 'ok' });
    expect(run.detail).toMatchObject({ customersAnonymised: 1 });
  });

  it("a tenant's own customer_retention beats the default, both ways", async () => {
    const short = await createTenant(db.sql, { customers: 0 });
    const long = await createTenant(db.sql, { customers: 0 });
    const plain = await createTenant(db.sql, { customers: 0 });
    await db.sql`update booking.tenants set customer_retention = '6 months' where id = ${short.tenantId}`;
    await db.sql`update booking.tenants set customer_retention = '5 years' where id = ${long.tenantId}`;
    const s = await customer(short, 1, '1 year');
    const l = await customer(long, 1, '3 years');
    const p = await customer(plain, 1, '1 year');
    const task = await retention();
    expect(task.detail).toMatchObject({ customersAnonymised: 1 });
    const rows = await db.sql`select id, anonymized_at is not null as gone from booking.customers where id in ${db.sql([s.id, l.id, p.id])}`;
    expect(Object.fromEntries(rows.map((r) => [r.id, r.gone]))).toEqual({ [s.id]: true, [l.id]: false, [p.id]: false });
  });

  it('completes pending erasure requests the same way, also for a customer with recent bookings', async () => {
    const fx = await createTenant(db.sql, { customers: 0 });
    const c = await customer(fx, 1, '2 weeks');
    const other = await customer(fx, 2, '2 weeks');
    await db.sql`insert into booking.erasure_requests (tenant_id, customer_id, note) values (${fx.tenantId}, ${c.id}, 'please forget me, Person 1')`;
    const dry = await retention({ dryRun: true });
    expect(dry.detail).toMatchObject({ wouldCompleteErasureRequests: 1, wouldAnonymise: 0 });
    const task = await retention();
    expect(task.detail).toMatchObject({ customersAnonymised: 1, erasureRequestsDone: 1 });
    const requests = await db.sql`select status, processed_at, note from booking.erasure_requests where customer_id = ${c.id} order by requested_at`;
    expect(requests.map((r) => [r.status, r.processed_at instanceof Date, r.note])).toEqual([['rejected', true, null], ['done', true, null]]);
    for (const values of Object.values(await piiValues(fx.tenantId, c.id))) {
      for (const v of values) expect([null, 'anonymised']).toContain(v);
    }
    const [o] = await db.sql`select email, anonymized_at from booking.customers where id = ${other.id}`;
    expect(o).toEqual({ email: other.email, anonymized_at: null });
  });

  it('works in batches (batchSize 2 over 5 customers is 3 batches), one audit row each with counts only', async () => {
    const fx = await createTenant(db.sql, { customers: 0 });
    const cs: Customer[] = [];
    for (let i = 0; i < 5; i++) cs.push(await customer(fx, i, `${30 + i} months`));
    const task = await retention({ batchSize: 2 });
    expect(task.detail).toMatchObject({ customersAnonymised: 5, batches: 3, tenants: 1, batchSize: 2 });
    expect(Number(task.detail.longestBatchMs)).toBeGreaterThanOrEqual(0);
    const audit = await db.sql`select action, entity, entity_id, details from ops.audit_log
      where tenant_id = ${fx.tenantId} and action like 'retention.%' order by occurred_at, (details->>'customers')::int desc`;
    expect(audit.map((a) => a.action)).toEqual(['retention.anonymise', 'retention.anonymise', 'retention.anonymise']);
    expect(audit.map((a) => a.details.customers)).toEqual([2, 2, 1]);
    for (const a of audit) {
      expect(Object.keys(a.details).sort()).toEqual(['customers', 'erasure_requests', 'rows_cleared', 'selected']);
      expect(Object.values(a.details).every((v) => typeof v === 'number')).toBe(true);
      expect(a.entity_id).toBeNull();
    }
    const text = JSON.stringify(audit);
    for (const c of cs) expect(text).not.toContain(c.email);
    expect(text).not.toMatch(/Person|street/);
  });

  it('--dry-run counts per tenant and changes nothing (catalog and rows compared)', async () => {
    const fx = await createTenant(db.sql, { customers: 0 });
    for (let i = 0; i < 3; i++) await customer(fx, i, '3 years');
    await db.sql`insert into booking.erasure_requests (tenant_id, customer_id) select tenant_id, id from booking.customers where tenant_id = ${fx.tenantId} limit 1`;
    const state = async () => {
      const [rows] = await db.sql`select
          (select md5(string_agg(c::text, '|' order by c.id)) from booking.customers c) as customers,
          (select md5(string_agg(b::text, '|' order by b.id)) from booking.bookings b) as bookings,
          (select md5(string_agg(p::text, '|' order by p.id)) from booking.payments p) as payments,
          (select md5(string_agg(e::text, '|' order by e.id)) from booking.erasure_requests e) as erasures,
          (select md5(string_agg(t::text, '|' order by t.id)) from booking.tenants t) as tenants,
          (select md5(string_agg(oid::text || relname || relkind::text, '|' order by oid)) from pg_class) as relations,
          (select md5(string_agg(oid::text || proname, '|' order by oid)) from pg_proc) as functions`;
      return { rows, ...(await snapshot(db.sql) as object) };
    };
    const before = await state();
    const dry = await retention({ dryRun: true });
    expect(dry).toMatchObject({ status: 'ok', runId: null });
    expect(dry.detail).toMatchObject({ dryRun: true, wouldAnonymise: 3, wouldCompleteErasureRequests: 1 });
    expect(dry.detail.tenants).toEqual([{ tenant: fx.tenantId, slug: fx.slug, retention: '2 years', customersDue: 3, erasureRequestsDue: 1 }]);
    expect(await state()).toEqual(before);
  });

  it('skips a customer row another transaction holds (as a booking insert does) instead of waiting, and takes it on the next run', async () => {
    const fx = await createTenant(db.sql, { customers: 0 });
    const a = await customer(fx, 1, '3 years');
    const held = await customer(fx, 2, '3 years');
    const c = await customer(fx, 3, '3 years');
    const other = await db.sql.reserve();
    try {
      await other.unsafe('begin');
      // the lock the foreign-key check of a booking insert takes on its customer
      await other`select 1 from booking.customers where id = ${held.id} for key share`;
      // lockAttempts 1 and a short lock_timeout: had it waited, the task would be `skipped`
      const task = await retention({ lockTimeoutMs: 300, lockAttempts: 1 });
      expect(task).toMatchObject({ status: 'ok' });
      expect(task.detail).toMatchObject({ customersAnonymised: 2 });
      const rows = await db.sql`select id, anonymized_at is not null as gone from booking.customers where id in ${db.sql([a.id, held.id, c.id])}`;
      expect(Object.fromEntries(rows.map((r) => [r.id, r.gone]))).toEqual({ [a.id]: true, [held.id]: false, [c.id]: true });
    } finally {
      await other.unsafe('rollback').catch(() => undefined);
      other.release();
    }
    const again = await retention();
    expect(again.detail).toMatchObject({ customersAnonymised: 1 });
    const [h] = await db.sql`select email, anonymized_at from booking.customers where id = ${held.id}`;
    expect(h.email).toBeNull();
    expect(h.anonymized_at).toBeInstanceOf(Date);
  });

  it('stops between batches at the deadline and reports what remains', async () => {
    const fx = await createTenant(db.sql, { customers: 0 });
    for (let i = 0; i < 3; i++) await customer(fx, i, '3 years');
    const report = await runMaintain(maint, { only: ['retention'], deadline: Date.now() - 1, taskOptions: { retention: { months: 24, batchSize: 1 } } });
    expect(report.tasks[0].detail).toMatchObject({ stoppedAtDeadline: true, customersAnonymised: 0, remaining: { customers: 3, erasureRequests: 0 } });
    const task = await retention();
    expect(task.detail).toMatchObject({ customersAnonymised: 3 });
  });

  it('an owner login (not superuser, not BYPASSRLS) can run it: the cross-tenant part is the ops functions', async () => {
    const fx = await createTenant(db.sql, { customers: 0 });
    const c = await customer(fx, 1, '3 years');
    const name = uniqueName('maint');
    await db.sql.unsafe(`create role ${name} login password 'maint-pw-1' in role bookingdb_owner`);
    const u = new URL(db.url);
    u.username = name;
    u.password = 'maint-pw-1';
    const owner = postgres(u.toString(), { max: 5, onnotice: () => undefined });
    try {
      const report = await runMaintain(owner, { only: ['retention'], taskOptions: { retention: { months: 24, batchSize: 1000 } } });
      expect(report.tasks[0]).toMatchObject({ status: 'ok', detail: { customersAnonymised: 1 } });
      const [row] = await db.sql`select email, anonymized_at from booking.customers where id = ${c.id}`;
      expect(row.email).toBeNull();
    } finally {
      await owner.end();
      await db.sql.unsafe(`drop owned by ${name}; drop role ${name}`);
    }
  });
});
