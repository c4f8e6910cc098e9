// Concurrency check of the booking API against a deployed database (scratch tool, not
// a vitest test): creates its own tenant, then
//   1. 32 clients book the same slot: exactly one wins, the rest get 23P01;
//   2. 16 clients book random slots for a few seconds: no overlapping active allocations;
//   3. 16 clients book with one idempotency key: one booking, every call returns its id;
//   4. 10 clients cancel bookings that 5 waitlist entries match: no entry offered twice;
//   5. 16 clients reschedule bookings across two resources in opposite directions:
//      no deadlock (40P01) and no double booking.
// Usage: node test/bench/race-check.mjs ADMIN_URL APP_URL
//   ADMIN_URL: a superuser (creates the tenant); APP_URL: a LOGIN member of bookingdb_app.
import postgres from 'postgres';
import { randomUUID } from 'node:crypto';

const [adminUrl, appUrl] = process.argv.slice(2);
if (!adminUrl || !appUrl) {
  console.error('usage: node test/bench/race-check.mjs ADMIN_URL APP_URL');
  process.exit(2);
}
const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
const app = postgres(appUrl, { max: 40, onnotice: () => {} });
const tenant = randomUUID();
let failed = false;
const check = (ok, what) => { console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`); if (!ok) failed = true; };

async function setup() {
  await admin.begin(async (tx) => {
    await tx`select set_config('app.tenant_id', ${tenant}, true)`;
    await tx`insert into booking.tenants (id, slug, name) values (${tenant}, ${'race-' + tenant.slice(0, 8)}, 'race')`;
    const [loc] = await tx`insert into booking.locations (tenant_id, name, timezone) values (${tenant}, 'l', 'UTC') returning id`;
    const res = await tx`insert into booking.resources (tenant_id, location_id, kind, name)
      select ${tenant}, ${loc.id}, 'court', 'court ' || i from generate_series(1, 20) i returning id`;
    const [svc] = await tx`insert into booking.services (tenant_id, name, duration) values (${tenant}, 's', '30 minutes') returning id`;
    await tx`insert into booking.service_resources (tenant_id, service_id, resource_id)
      select ${tenant}, ${svc.id}, r.id from booking.resources r where r.tenant_id = ${tenant}`;
    await tx`insert into booking.working_hours (tenant_id, resource_id, weekday, starts_local, ends_local)
      select ${tenant}, r.id, d, '00:00', '24:00' from booking.resources r, generate_series(1, 7) d where r.tenant_id = ${tenant}`;
    const cust = await tx`insert into booking.customers (tenant_id, full_name)
      select ${tenant}, 'c' || i from generate_series(1, 50) i returning id`;
    globalThis.ctx = { resources: res.map((r) => r.id), service: svc.id, customers: cust.map((c) => c.id) };
  });
}

const inTenant = (fn) => app.begin(async (tx) => {
  await tx`select set_config('app.tenant_id', ${tenant}, true)`;
  return fn(tx);
});
const outcome = (p) => p.then((v) => ({ ok: true, v }), (e) => ({ ok: false, code: e.code ?? String(e) }));
const count = (rs, pred) => rs.filter(pred).length;
const day = new Date(Date.now() + 2 * 86400e3).toISOString().slice(0, 10);
const at = (minutes) => new Date(Date.parse(`${day}T00:00:00Z`) + minutes * 60e3);

async function sameSlot() {
  const { service, resources, customers } = ctx;
  const rs = await Promise.all(Array.from({ length: 32 }, (_, i) => outcome(inTenant((tx) =>
    tx`select booking.book(${tenant}, ${service}, ${resources[0]}, ${customers[i]}, ${at(600)}) as id`))));
  check(count(rs, (r) => r.ok) === 1 && count(rs, (r) => r.code === '23P01') === 31,
    `32 clients, one slot: ${count(rs, (r) => r.ok)} won, ${count(rs, (r) => r.code === '23P01')} got 23P01, others: ${JSON.stringify(rs.filter((r) => !r.ok && r.code !== '23P01').map((r) => r.code))}`);
}

async function randomSlots(seconds) {
  const { service, resources, customers } = ctx;
  const until = Date.now() + seconds * 1000;
  const codes = {};
  let calls = 0;
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (Date.now() < until) {
      const r = resources[Math.floor(Math.random() * 5)];
      const start = at(24 * 60 + Math.floor(Math.random() * 200) * 5);
      const o = await outcome(inTenant((tx) => tx`select booking.book(${tenant}, ${service}, ${r}, ${customers[0]}, ${start})`));
      const k = o.ok ? 'ok' : o.code;
      codes[k] = (codes[k] ?? 0) + 1;
      calls++;
    }
  }));
  const [{ n }] = await admin`select count(*)::int as n from booking.booking_allocations a join booking.booking_allocations b
    on a.tenant_id = b.tenant_id and a.resource_id = b.resource_id and a.id < b.id and a.blocked && b.blocked
    where a.tenant_id = ${tenant} and a.active and b.active`;
  const other = Object.keys(codes).filter((k) => k !== 'ok' && k !== '23P01');
  check(n === 0 && other.length === 0, `16 clients random slots ${seconds}s: ${calls} calls ${JSON.stringify(codes)}, overlapping active allocations: ${n}`);
}

async function sameKey() {
  const { service, resources, customers } = ctx;
  const key = 'race-' + randomUUID();
  const rs = await Promise.all(Array.from({ length: 16 }, (_, i) => outcome(inTenant((tx) =>
    tx`select booking.book(${tenant}, ${service}, ${resources[10 + (i % 8)]}, ${customers[1]}, ${at(720 + (i % 3) * 60)}, ${key}) as id`))));
  const ids = new Set(rs.filter((r) => r.ok).map((r) => r.v[0].id));
  const [{ n }] = await admin`select count(*)::int as n from booking.bookings where tenant_id = ${tenant} and idempotency_key = ${key}`;
  check(rs.every((r) => r.ok) && ids.size === 1 && n === 1, `16 clients, one idempotency key: ${ids.size} distinct id(s), ${n} booking(s), errors ${JSON.stringify(rs.filter((r) => !r.ok).map((r) => r.code))}`);
}

async function cancelsWithWaitlist() {
  const { service, resources, customers } = ctx;
  const start = at(900);
  const bookings = await inTenant(async (tx) => {
    const ids = [];
    for (let i = 0; i < 10; i++) ids.push((await tx`select booking.book(${tenant}, ${service}, ${resources[i]}, ${customers[2]}, ${start}) as id`)[0].id);
    for (let i = 0; i < 5; i++) await tx`select booking.join_waitlist(${tenant}, ${service}, ${customers[20 + i]}, tstzrange(${start}, ${new Date(+start + 3600e3)}))`;
    return ids;
  });
  const rs = await Promise.all(bookings.map((id) => outcome(inTenant((tx) => tx`select booking.cancel(${tenant}, ${id})`))));
  const entries = await admin`select w.status, w.offered_booking_id from booking.waitlist_entries w where w.tenant_id = ${tenant}`;
  const offered = entries.filter((e) => e.status === 'offered');
  const [{ n }] = await admin`select count(*)::int as n from booking.bookings where tenant_id = ${tenant} and status = 'pending'`;
  check(rs.every((r) => r.ok) && offered.length === 5 && n === 5, `10 concurrent cancels, 5 waitlist entries: ${offered.length} offered, ${n} pending holds, errors ${JSON.stringify(rs.filter((r) => !r.ok).map((r) => r.code))}`);
}

async function crossReschedules() {
  const { service, resources, customers } = ctx;
  const [ra, rb] = [resources[18], resources[19]];
  const made = await inTenant(async (tx) => {
    const list = [];
    for (let i = 0; i < 8; i++) {
      list.push({ id: (await tx`select booking.book(${tenant}, ${service}, ${ra}, ${customers[3]}, ${at(1200 + i * 30)}) as id`)[0].id, to: rb, start: at(1200 + i * 30) });
      list.push({ id: (await tx`select booking.book(${tenant}, ${service}, ${rb}, ${customers[3]}, ${at(1500 + i * 30)}) as id`)[0].id, to: ra, start: at(1500 + i * 30) });
    }
    return list;
  });
  // every booking moves to a free time on the other resource: all succeed, locks cross
  const rs = await Promise.all(made.map((b, i) => outcome(inTenant((tx) =>
    tx`select booking.reschedule(${tenant}, ${b.id}, ${at(1800 + i * 30)}, ${b.to})`))));
  const codes = rs.map((r) => (r.ok ? 'ok' : r.code));
  const [{ n }] = await admin`select count(*)::int as n from booking.booking_allocations a join booking.booking_allocations b
    on a.tenant_id = b.tenant_id and a.resource_id = b.resource_id and a.id < b.id and a.blocked && b.blocked
    where a.tenant_id = ${tenant} and a.active and b.active`;
  check(codes.every((c) => c === 'ok') && n === 0,
    `16 crossing reschedules: ${JSON.stringify(codes.reduce((m, c) => ({ ...m, [c]: (m[c] ?? 0) + 1 }), {}))}, overlaps ${n}`);
}

try {
  await setup();
  await sameSlot();
  await randomSlots(5);
  await sameKey();
  await cancelsWithWaitlist();
  await crossReschedules();
} finally {
  await app.end();
  await admin.end();
}
process.exitCode = failed ? 1 : 0;
