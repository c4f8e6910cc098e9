#!/usr/bin/env node
// Measures the `retention` task of `bookingdb maintain` over N customers due for
// anonymisation (default 100,000): rows per second, and the longest lock held (the
// longest batch transaction: a batch holds its customer rows, and the rows it rewrites,
// from its first statement to its commit). Seeds cheaply with SQL into a database of
// your own (it creates the tenants it needs, leaves the rest alone):
//
//   node bin/bookingdb.js deploy --database-url URL
//   npm run build && node test/bench/retention-100k.mjs --database-url URL [--customers 100000] [--tenants 20] [--batch-size 1000]
//
// Each seeded customer had its last booking three years ago (one cancelled booking with
// a cancel_reason, so the pii of bookings is cleared too); a tenth have a pending
// erasure request. Prints one JSON document.
import postgres from 'postgres';
import { runMaintain } from '../../dist/maintain/runner.js';

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
}

const url = arg('database-url', process.env.DATABASE_URL);
if (!url) {
  console.error('error: pass --database-url URL of a deployed database of your own');
  process.exit(2);
}
const customers = Number(arg('customers', '100000'));
const tenants = Number(arg('tenants', '20'));
const batchSize = Number(arg('batch-size', '1000'));
const sql = postgres(url, { max: 6, onnotice: () => undefined });

async function seed() {
  const t = Date.now();
  const run = `r${Date.now().toString(36)}`;
  await sql.begin(async (tx) => {
    await tx`set local synchronous_commit = off`;
    await tx`
      with t as (
        insert into booking.tenants (slug, name, timezone)
        select ${run} || '-' || g, 'Retention bench ' || g, 'Europe/Berlin' from generate_series(1, ${tenants}::int) g
        returning id)
      insert into booking.locations (tenant_id, name, timezone) select id, 'Main', 'Europe/Berlin' from t`;
    await tx`
      insert into booking.resources (tenant_id, location_id, kind, name)
      select l.tenant_id, l.id, 'chair', 'Chair 1' from booking.locations l
        join booking.tenants t on t.id = l.tenant_id where t.slug like ${run + '-%'}`;
    await tx`
      insert into booking.services (tenant_id, name, duration, price_cents)
      select t.id, 'Cut', interval '1 hour', 3000 from booking.tenants t where t.slug like ${run + '-%'}`;
    await tx`
      insert into booking.customers (tenant_id, email, full_name, phone, last_booking_at, created_at)
      select t.id, 'c' || g || '@' || t.slug || '.example', 'Customer ' || g, '+49 30 ' || (1000000 + g),
             now() - interval '3 years' + g * interval '1 second', now() - interval '4 years'
        from (select id, slug, row_number() over (order by id) - 1 as k from booking.tenants where slug like ${run + '-%'}) t
        cross join generate_series(1, ${Math.ceil(customers / tenants)}::int) g
       where t.k * ${Math.ceil(customers / tenants)}::int + g <= ${customers}::int`;
    await tx`
      insert into booking.bookings (tenant_id, customer_id, service_id, resource_id, status, during,
                                    price_cents, cancelled_at, cancel_reason, created_at, updated_at)
      select c.tenant_id, c.id, s.id, r.id, 'cancelled', tstzrange(c.last_booking_at, c.last_booking_at + interval '1 hour'),
             3000, c.last_booking_at - interval '1 day', 'moving to ' || c.full_name || '''s sister', c.created_at, c.created_at
        from booking.customers c
        join booking.tenants t on t.id = c.tenant_id and t.slug like ${run + '-%'}
        join booking.services s on s.tenant_id = c.tenant_id
        join booking.resources r on r.tenant_id = c.tenant_id`;
    await tx`
      insert into booking.erasure_requests (tenant_id, customer_id, note)
      select c.tenant_id, c.id, 'asked by phone, ' || c.full_name
        from booking.customers c join booking.tenants t on t.id = c.tenant_id and t.slug like ${run + '-%'}
       where c.phone like '%0'`;
  });
  await sql`analyze booking.customers`;
  await sql`analyze booking.bookings`;
  await sql`analyze booking.erasure_requests`;
  return Date.now() - t;
}

const seedMs = await seed();
const [due] = await sql`select sum(customers_due)::int as customers, sum(erasures_due)::int as erasures from ops.maintain_retention_due(interval '24 months')`;
const started = Date.now();
const report = await runMaintain(sql, { only: ['retention'], taskOptions: { retention: { months: 24, batchSize } } });
const elapsedMs = Date.now() - started;
const task = report.tasks[0];
const d = task.detail;
// the audit rows' occurred_at is each batch's transaction start: their gaps are the batch cycle times
const stamps = await sql`select extract(epoch from a.occurred_at) * 1000 as ms from ops.audit_log a
  where a.action like 'retention.%' and a.occurred_at >= to_timestamp(${started / 1000}) order by a.occurred_at`;
const gaps = stamps.slice(1).map((r, i) => Number(r.ms) - Number(stamps[i].ms)).sort((a, b) => a - b);
const medianBatchCycleMs = gaps.length ? Math.round(gaps[Math.floor(gaps.length / 2)]) : null;
const [left] = await sql`select coalesce(sum(customers_due), 0)::int as customers from ops.maintain_retention_due(interval '24 months')`;
console.log(JSON.stringify({
  customersDue: due.customers, erasureRequestsDue: due.erasures, seedMs,
  status: task.status, reason: task.reason, batchSize, batches: d.batches,
  customersAnonymised: d.customersAnonymised, erasureRequestsDone: d.erasureRequestsDone, rowsCleared: d.rowsCleared,
  taskMs: task.durationMs, elapsedMs,
  customersPerSecond: Math.round((Number(d.customersAnonymised) / task.durationMs) * 1000),
  longestBatchMs: d.longestBatchMs, medianBatchCycleMs, leftDue: left.customers,
}, null, 2));
await sql.end({ timeout: 5 });
