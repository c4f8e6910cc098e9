// The booking procedures against bare baselines, on the same server in ONE run with
// alternating phases (the tuning tool of issue 10; `bookingdb bench --anchor` is the
// user-facing one). Not a vitest test: speed is measured here, never asserted.
//
//   PERF_DATABASE_URL=ADMIN_URL node test/bench/perf-compare.mjs [--seconds 10] [--rounds 3] [--only slots,single,book,hot]
//
// (the URL may also be the first argument; the environment keeps its password out of ps)
// ADMIN_URL: a superuser of a deployed, seeded database (seed demo ... --bookings 1000000).
// The script creates a LOGIN member of bookingdb_app for the workers (dropped at the end)
// and a scratch schema perf_anchor (dropped at the end) holding the baselines, owned by
// the schema owner (bookingdb_owner) so they run under the same role as the procedures:
//   perf_anchor.naive_slots: the naive availability query, one NOT EXISTS probe of the
//     allocations per generate_series slot (SQL, same working hours, time off, buffers);
//   perf_anchor.allocations: a copy of the target tenant's allocations with the same
//     exclusion constraint and btree (LIKE ... INCLUDING ALL), no RLS;
//   perf_anchor.book: pg_advisory_xact_lock per resource, overlap check (&& on the
//     exclusion index), insert into the copy; 23P01 when taken.
// Target: the tenant and service with the most resources (demo seed: 20).
// Scenarios, each phase --seconds long, procedure and baseline alternating, --rounds times:
//   slots  8 clients, available_slots for one local day in the next 30 days vs naive_slots;
//   single 1 client, available_slots alone (p95 target < 3 ms);
//   book   32 clients, book on a random (resource, start) from the same candidate list
//          (grid starts inside working hours, next 30 days) vs perf_anchor.book; both
//          start from the same allocations, so the share of free slots is comparable;
//   hot    32 clients, book on random candidates of the next 2 days, a successful booking
//          is cancelled again by the same client (keeps the spot contended); p99 of book.
// Prints per phase: calls/s, p50/p95/p99/max (ms, client round trip of the statement in
// its transaction), outcomes by SQLSTATE; and per round the ratio procedure/baseline.
import postgres from 'postgres';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(`--${name}`); return i >= 0 ? args[i + 1] : dflt; };
const adminUrl = args.find((a, i) => !a.startsWith('--') && !(i > 0 && args[i - 1].startsWith('--'))) ?? process.env.PERF_DATABASE_URL;
if (!adminUrl) {
  console.error('usage: node test/bench/perf-compare.mjs [ADMIN_URL] [--seconds 10] [--rounds 3] [--only slots,single,book,hot] (or PERF_DATABASE_URL=ADMIN_URL)');
  process.exit(2);
}
const seconds = Number(opt('seconds', '10'));
const rounds = Number(opt('rounds', '3'));
const only = new Set(opt('only', 'slots,single,book,hot').split(','));
const admin = postgres(adminUrl, { max: 2, onnotice: () => {} });
const roleName = `perf_app_${randomBytes(4).toString('hex')}`;
const rolePass = randomBytes(18).toString('hex');
let app = null;
// Ctrl-C / SIGTERM: finish the current phase early, skip the rest, still drop the
// scratch schema and the login role
let stopping = false;
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { stopping = true; });

const pct = (s, p) => s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN;
const pick = (xs) => xs[Math.floor(Math.random() * xs.length)];
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };

async function setupAnchor(t) {
  await admin.unsafe(`
    drop schema if exists perf_anchor cascade;
    create schema perf_anchor authorization bookingdb_owner;
    grant usage on schema perf_anchor to bookingdb_app;
    set role bookingdb_owner;
    create table perf_anchor.allocations (like booking.booking_allocations including all);
    create function perf_anchor.book(p_tenant_id uuid, p_resource_id uuid, p_start timestamptz,
                                     p_dur interval, p_bb interval, p_ba interval)
      returns uuid language plpgsql volatile security definer set search_path = pg_catalog, pg_temp as $f$
    declare
      v_blocked tstzrange := tstzrange(p_start - p_bb, p_start + p_dur + p_ba);
      v_id uuid;
    begin
      perform pg_advisory_xact_lock(1651470188, hashtext(p_tenant_id::text || '/' || p_resource_id::text));
      perform 1 from perf_anchor.allocations a
       where a.tenant_id = p_tenant_id and a.resource_id = p_resource_id and a.active and a.blocked && v_blocked;
      if found then
        raise exception 'slot taken' using errcode = 'exclusion_violation';
      end if;
      insert into perf_anchor.allocations (tenant_id, booking_id, resource_id, blocked)
      values (p_tenant_id, gen_random_uuid(), p_resource_id, v_blocked) returning id into v_id;
      return v_id;
    end
    $f$;
    -- naive: every slot of every working block of the day, each probed on its own
    create function perf_anchor.naive_slots(p_tenant_id uuid, p_service_id uuid, p_from timestamptz, p_to timestamptz)
      returns table (resource_id uuid, starts_at timestamptz, ends_at timestamptz)
      language sql stable security definer set search_path = pg_catalog, pg_temp as $f$
      select r.id, g.st, g.st + s.duration
        from booking.services s
        join booking.service_resources sr on sr.tenant_id = s.tenant_id and sr.service_id = s.id
        join booking.resources r on r.tenant_id = sr.tenant_id and r.id = sr.resource_id and r.active
        join booking.locations l on l.tenant_id = r.tenant_id and l.id = r.location_id
        cross join lateral generate_series((p_from at time zone l.timezone)::date - 1, (p_to at time zone l.timezone)::date, interval '1 day') d(day)
        join booking.working_hours wh on wh.tenant_id = r.tenant_id and wh.resource_id = r.id
         and wh.weekday = extract(isodow from d.day)::smallint
        cross join lateral generate_series(((d.day::date + wh.starts_local) at time zone l.timezone) + s.buffer_before,
                                           ((d.day::date + wh.ends_local) at time zone l.timezone) - s.duration - s.buffer_after,
                                           coalesce(s.slot_step, s.duration)) g(st)
       where s.tenant_id = p_tenant_id and s.id = p_service_id and s.active
         and g.st >= greatest(p_from, now()) and g.st < p_to
         and not exists (select 1 from booking.booking_allocations a
                          where a.tenant_id = p_tenant_id and a.resource_id = r.id and a.active
                            and a.starts < g.st + s.duration + s.buffer_after and a.ends > g.st - s.buffer_before
                            and (a.hold_expires_at is null or a.hold_expires_at > now()))
         and not exists (select 1 from booking.time_off t
                          where t.tenant_id = p_tenant_id and t.resource_id = r.id
                            and t.starts < g.st + s.duration + s.buffer_after and t.ends > g.st - s.buffer_before)
       order by 2, 1
    $f$;
    reset role;
    grant execute on function perf_anchor.book(uuid, uuid, timestamptz, interval, interval, interval) to bookingdb_app;
    grant execute on function perf_anchor.naive_slots(uuid, uuid, timestamptz, timestamptz) to bookingdb_app;
  `);
  await admin.begin(async (tx) => {
    await tx`select set_config('app.tenant_id', ${t.tenant}, true)`;
    await tx`insert into perf_anchor.allocations (tenant_id, id, booking_id, resource_id, blocked, active, hold_expires_at)
      select tenant_id, id, booking_id, resource_id, blocked, active, hold_expires_at
        from booking.booking_allocations where tenant_id = ${t.tenant}`;
  });
  await admin`analyze perf_anchor.allocations`;
}

async function target() {
  const tenants = (await admin`select id, slug from booking.tenants order by slug`);
  let best = null;
  for (const { id, slug } of tenants) {
    const rows = await admin.begin(async (tx) => {
      await tx`select set_config('app.tenant_id', ${id}, true)`;
      return tx`
        select s.id as service_id, s.name, s.duration, s.buffer_before, s.buffer_after, l.timezone, count(*)::int as resources
          from booking.services s
          join booking.service_resources sr on sr.tenant_id = s.tenant_id and sr.service_id = s.id
          join booking.resources r on r.tenant_id = sr.tenant_id and r.id = sr.resource_id and r.active
          join booking.locations l on l.tenant_id = r.tenant_id and l.id = r.location_id
         where s.tenant_id = ${id} and s.active group by 1, 2, 3, 4, 5, 6 order by resources desc, s.id limit 1`;
    });
    if (rows[0] && (!best || rows[0].resources > best.resources)) best = { tenant: id, slug, ...rows[0] };
  }
  if (!best) throw new Error('no service found: seed the database first');
  return best;
}

async function candidates(t, days) {
  // grid starts inside working hours and outside time off for the next `days` local
  // days, computed like the API (taken or not: both sides pick from this list)
  return admin.begin(async (tx) => {
    await tx`select set_config('app.tenant_id', ${t.tenant}, true)`;
    return tx`
      select r.id as resource_id, g.st as starts_at
        from booking.service_resources sr
        join booking.resources r on r.tenant_id = sr.tenant_id and r.id = sr.resource_id and r.active
        join booking.locations l on l.tenant_id = r.tenant_id and l.id = r.location_id
        join booking.services s on s.tenant_id = sr.tenant_id and s.id = sr.service_id
        cross join lateral generate_series(1, ${days}::int) d(i)
        join booking.working_hours wh on wh.tenant_id = r.tenant_id and wh.resource_id = r.id
         and wh.weekday = extract(isodow from (now() at time zone l.timezone)::date + d.i)::smallint
        cross join lateral generate_series((((now() at time zone l.timezone)::date + d.i + wh.starts_local) at time zone l.timezone) + s.buffer_before,
                                           (((now() at time zone l.timezone)::date + d.i + wh.ends_local) at time zone l.timezone) - s.duration - s.buffer_after,
                                           coalesce(s.slot_step, s.duration)) g(st)
       where sr.tenant_id = ${t.tenant} and sr.service_id = ${t.service_id}
         and not exists (select 1 from booking.time_off o where o.tenant_id = r.tenant_id and o.resource_id = r.id
                            and o.starts < g.st + s.duration + s.buffer_after and o.ends > g.st - s.buffer_before)`;
  });
}

async function phase(label, clients, fn) {
  const lat = [];
  const codes = {};
  const until = performance.now() + seconds * 1000;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: clients }, async () => {
    while (performance.now() < until && !stopping) {
      const s = performance.now();
      let code = 'ok';
      let ms;
      try {
        ms = await fn();
      } catch (e) {
        code = e.code ?? String(e.message ?? e);
      }
      lat.push(typeof ms === 'number' ? ms : performance.now() - s);
      codes[code] = (codes[code] ?? 0) + 1;
    }
  }));
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  lat.sort((a, b) => a - b);
  const r = { label, calls: lat.length, rate: lat.length / wall, p50: pct(lat, 50), p95: pct(lat, 95), p99: pct(lat, 99), max: lat[lat.length - 1], codes,
    cpu: (cpu.user + cpu.system) / 1e6 / wall };
  console.log(`  ${label.padEnd(22)} ${String(r.calls).padStart(7)} calls ${r.rate.toFixed(0).padStart(6)}/s  p50 ${r.p50.toFixed(2)}  p95 ${r.p95.toFixed(2)}  p99 ${r.p99.toFixed(2)}  max ${r.max.toFixed(1)} ms  client cpu ${(r.cpu * 100).toFixed(0)}%  ${JSON.stringify(codes)}`);
  return r;
}

const inTenant = (tenant, fn) => app.begin(async (tx) => {
  await tx`select set_config('app.tenant_id', ${tenant}, true)`;
  return fn(tx);
});

async function main() {
  await admin.unsafe(`create role ${roleName} login password '${rolePass}' in role bookingdb_app`);
  const u = new URL(adminUrl);
  u.username = roleName;
  u.password = rolePass;
  app = postgres(u.toString(), { max: 32, onnotice: () => {} });

  const t = await target();
  console.log(`target: tenant ${t.slug} (${t.timezone}), service "${t.name}" (${t.duration}), ${t.resources} resources; ${seconds}s phases, ${rounds} rounds`);
  await setupAnchor(t);
  const customers = (await admin.begin(async (tx) => {
    await tx`select set_config('app.tenant_id', ${t.tenant}, true)`;
    return tx`select id from booking.customers where tenant_id = ${t.tenant} and anonymized_at is null limit 1000`;
  })).map((r) => r.id);
  const days = await admin`
    select ((now() at time zone ${t.timezone})::date + i)::timestamp at time zone ${t.timezone} as from_,
           ((now() at time zone ${t.timezone})::date + i + 1)::timestamp at time zone ${t.timezone} as to_
      from generate_series(1, 30) i`;
  const cand30 = await candidates(t, 30);
  const cand2 = await candidates(t, 2);
  console.log(`candidates: ${cand30.length} slots in 30 days, ${cand2.length} in 2 days; ${customers.length} customers`);

  const slotsProc = async () => { const w = pick(days); await inTenant(t.tenant, (tx) => tx`select * from booking.available_slots(${t.tenant}, ${t.service_id}, ${w.from_}, ${w.to_})`); };
  const slotsNaive = async () => { const w = pick(days); await inTenant(t.tenant, (tx) => tx`select * from perf_anchor.naive_slots(${t.tenant}, ${t.service_id}, ${w.from_}, ${w.to_})`); };
  const bookProc = (list) => async () => { const c = pick(list); await inTenant(t.tenant, (tx) => tx`select booking.book(${t.tenant}, ${t.service_id}, ${c.resource_id}, ${pick(customers)}, ${c.starts_at}) as id`); };
  const bookBare = async () => { const c = pick(cand30); await inTenant(t.tenant, (tx) => tx`select perf_anchor.book(${t.tenant}, ${c.resource_id}, ${c.starts_at}, ${t.duration}, ${t.buffer_before}, ${t.buffer_after}) as id`); };
  // latency recorded: the book call (the cancel after a success is not timed)
  const hot = async () => {
    const c = pick(cand2);
    const s = performance.now();
    const [{ id }] = await inTenant(t.tenant, (tx) => tx`select booking.book(${t.tenant}, ${t.service_id}, ${c.resource_id}, ${pick(customers)}, ${c.starts_at}) as id`);
    const ms = performance.now() - s;
    await inTenant(t.tenant, (tx) => tx`select booking.cancel(${t.tenant}, ${id}, 'perf-compare')`);
    return ms;
  };

  // warm up both sides (plans cached on every connection)
  seconds > 3 && await Promise.all(Array.from({ length: 32 }, async () => { await slotsProc(); await slotsNaive(); }));

  const ratios = { slots: [], book: [] };
  const single = [];
  const hots = [];
  const bookShare = { proc: [], bare: [] };
  for (let r = 1; r <= rounds && !stopping; r++) {
    console.log(`round ${r}`);
    if (only.has('slots')) {
      // alternate which side goes first
      const a = r % 2 ? await phase('available_slots x8', 8, slotsProc) : null;
      const n = await phase('naive_slots x8', 8, slotsNaive);
      const p = a ?? await phase('available_slots x8', 8, slotsProc);
      ratios.slots.push(p.rate / n.rate);
    }
    if (only.has('single')) single.push(await phase('available_slots x1', 1, slotsProc));
    if (only.has('book')) {
      const a = r % 2 ? await phase('book x32', 32, bookProc(cand30)) : null;
      const b = await phase('bare book x32', 32, bookBare);
      const p = a ?? await phase('book x32', 32, bookProc(cand30));
      ratios.book.push(p.rate / b.rate);
      bookShare.proc.push((p.codes.ok ?? 0) / p.calls);
      bookShare.bare.push((b.codes.ok ?? 0) / b.calls);
    }
    if (only.has('hot')) hots.push(await phase('hot book+cancel x32', 32, hot));
  }
  console.log('summary (medians over rounds)');
  if (ratios.slots.length) console.log(`  available_slots / naive throughput: ${median(ratios.slots).toFixed(1)}x  (rounds: ${ratios.slots.map((x) => x.toFixed(1)).join(', ')}; target >= 10x)`);
  if (single.length) console.log(`  available_slots single client p95: ${median(single.map((s) => s.p95)).toFixed(2)} ms (target < 3 ms)`);
  if (ratios.book.length) console.log(`  book / bare throughput: ${(median(ratios.book) * 100).toFixed(0)} %  (rounds: ${ratios.book.map((x) => (x * 100).toFixed(0)).join(', ')}; target >= 75 %); success share book ${(median(bookShare.proc) * 100).toFixed(0)} %, bare ${(median(bookShare.bare) * 100).toFixed(0)} %`);
  if (hots.length) {
    const bad = hots.flatMap((h) => Object.keys(h.codes).filter((k) => k !== 'ok' && k !== '23P01'));
    console.log(`  hot spot book p99: ${median(hots.map((h) => h.p99)).toFixed(1)} ms (target < 25 ms); errors other than 23P01: ${bad.length ? bad.join(', ') : 'none'}`);
  }
}

try {
  await main();
} finally {
  if (app) await app.end({ timeout: 5 });
  await admin.unsafe('drop schema if exists perf_anchor cascade').catch(() => {});
  await admin.unsafe(`drop role if exists ${roleName}`).catch(() => {});
  await admin.end();
}
