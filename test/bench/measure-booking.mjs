// Latency of booking.available_slots and booking.book on a seeded database (scratch
// measurement until `bookingdb bench` exists; not a vitest test).
//
//   node test/bench/measure-booking.mjs ADMIN_URL APP_URL [--calls 200] [--tenant SLUG] [--service NAME] [--only slots]
//
// ADMIN_URL (superuser) only lists the tenants. APP_URL: a LOGIN member of bookingdb_app,
// so the numbers are the app's view: RLS on, tenant set per transaction with
// set_config. One client, prepared statements, after 20 warm-up calls. Picks the
// tenant and service with the most resources offering it (with the demo seed: a
// barber's or salon's 20 staff and chairs) unless told.
// available_slots: one local day in the next 60 days, all resources of the service.
// book: a free slot from available_slots on a random day, random customer, then the
// booking is cancelled again (cancel timed too; it may offer the slot to a waitlist entry).
// Reported: the statement alone (client round trip included) and the whole transaction.
import postgres from 'postgres';
import { performance } from 'node:perf_hooks';

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(`--${name}`); return i >= 0 ? args[i + 1] : dflt; };
const [adminUrl, url] = args.filter((a, i) => !a.startsWith('--') && !(i > 0 && args[i - 1].startsWith('--')));
if (!adminUrl || !url) {
  console.error('usage: node test/bench/measure-booking.mjs ADMIN_URL APP_URL [--calls 200] [--tenant SLUG] [--service NAME]');
  process.exit(2);
}
const calls = Number(opt('calls', '200'));
const sql = postgres(url, { max: 1, onnotice: () => {} });

const tx = (tenant, fn) => sql.begin(async (t) => {
  await t`select set_config('app.tenant_id', ${tenant}, true)`;
  return fn(t);
});
const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]; };
const fmt = (xs) => `median ${pct(xs, 50).toFixed(2)} ms, p95 ${pct(xs, 95).toFixed(2)} ms, p99 ${pct(xs, 99).toFixed(2)} ms, max ${Math.max(...xs).toFixed(2)} ms (n=${xs.length})`;
const pick = (xs) => xs[Math.floor(Math.random() * xs.length)];

async function main() {
  // the app role sees one tenant per transaction: list them as superuser
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  const tenantIds = (await admin`select id from booking.tenants where ${opt('tenant') ?? null}::text is null or slug = ${opt('tenant') ?? null}`)
    .map((r) => r.id);
  await admin.end();
  let best = null;
  for (const tenant of tenantIds) {
    const rows = await tx(tenant, (t) => t`
      select t.slug, l.timezone, s.id as service_id, s.name, count(*)::int as resources
        from booking.services s
        join booking.service_resources sr on sr.tenant_id = s.tenant_id and sr.service_id = s.id
        join booking.resources r on r.tenant_id = sr.tenant_id and r.id = sr.resource_id and r.active
        join booking.locations l on l.tenant_id = r.tenant_id and l.id = r.location_id
        join booking.tenants t on t.id = s.tenant_id
       where s.active and (${opt('service') ?? null}::text is null or s.name = ${opt('service') ?? null})
       group by t.slug, l.timezone, s.id, s.name
       order by resources desc limit 1`);
    if (rows[0] && (!best || rows[0].resources > best.resources)) best = { tenant, ...rows[0] };
  }
  if (!best) throw new Error('no service found: seed the database first');
  const customers = (await tx(best.tenant, (t) => t`select id from booking.customers where anonymized_at is null limit 500`)).map((r) => r.id);
  console.log(`target: tenant ${best.slug} (${best.timezone}), service "${best.name}", ${best.resources} resources`);

  const dayWindow = (offset) => tx(best.tenant, (t) => t`
    select ((now() at time zone ${best.timezone})::date + ${offset}::int)::timestamp at time zone ${best.timezone} as from_,
           ((now() at time zone ${best.timezone})::date + ${offset + 1}::int)::timestamp at time zone ${best.timezone} as to_`);
  const windows = [];
  for (let d = 1; d <= 60; d++) windows.push((await dayWindow(d))[0]);

  const slotStmt = [];
  const slotTx = [];
  let slotsSeen = 0;
  for (let i = 0; i < calls + 20; i++) {
    const w = pick(windows);
    const t0 = performance.now();
    let t1 = 0;
    let t2 = 0;
    const rows = await tx(best.tenant, async (t) => {
      t1 = performance.now();
      const r = await t`select * from booking.available_slots(${best.tenant}, ${best.service_id}, ${w.from_}, ${w.to_})`;
      t2 = performance.now();
      return r;
    });
    const t3 = performance.now();
    if (i >= 20) { slotStmt.push(t2 - t1); slotTx.push(t3 - t0); slotsSeen += rows.length; }
  }
  console.log(`available_slots statement: ${fmt(slotStmt)}; ${(slotsSeen / calls).toFixed(1)} slots per call`);
  console.log(`available_slots transaction: ${fmt(slotTx)}`);
  if (opt('only') === 'slots') return;

  const bookStmt = [];
  const bookTx = [];
  const cancelStmt = [];
  const made = [];
  for (let i = 0; i < calls + 20; i++) {
    const w = pick(windows);
    const free = await tx(best.tenant, (t) => t`select * from booking.available_slots(${best.tenant}, ${best.service_id}, ${w.from_}, ${w.to_})`);
    if (free.length === 0) { i--; continue; }
    const slot = pick(free);
    const t0 = performance.now();
    let t1 = 0;
    let t2 = 0;
    const [{ id }] = await tx(best.tenant, async (t) => {
      t1 = performance.now();
      const r = await t`select booking.book(${best.tenant}, ${best.service_id}, ${slot.resource_id}, ${pick(customers)}, ${slot.starts_at}) as id`;
      t2 = performance.now();
      return r;
    });
    const t3 = performance.now();
    if (i >= 20) { bookStmt.push(t2 - t1); bookTx.push(t3 - t0); }
    made.push(id);
  }
  for (const id of made) {
    await tx(best.tenant, async (t) => {
      const t1 = performance.now();
      await t`select booking.cancel(${best.tenant}, ${id}, 'benchmark')`;
      cancelStmt.push(performance.now() - t1);
    });
  }
  console.log(`book statement: ${fmt(bookStmt)}`);
  console.log(`book transaction (with commit): ${fmt(bookTx)}`);
  console.log(`cancel statement: ${fmt(cancelStmt)}`);
}

try {
  await main();
} finally {
  await sql.end();
}
