// Booking traffic with and without a concurrent `bookingdb maintain` (issue 8's number).
// A measurement script, not a vitest test.
//
//   node test/bench/maintain-under-load.mjs ADMIN_URL APP_URL [--clients 16] [--phase 20] [--rounds 3]
//        [--maintain-args "--skip vacuum"] [--modes back-to-back,one-run] [--no-prime]
//
// ADMIN_URL: a superuser (lists tenants, runs maintain). APP_URL: a LOGIN member of bookingdb_app
// (`bookingdb roles create app --password-file F`), so the traffic is the app's: RLS on, the tenant
// set per transaction. Each client loops: available_slots for one service on a random day of the
// next 30 days, book one of the free slots (or a random start when none is free: a 23P01 or BK001
// is a normal answer), and cancel one of its earlier bookings half of the time. Phases alternate
// quiet / maintain, `--rounds` times, so all see the same machine. Two kinds of maintain phase
// (`--modes`, both by default), each running `node bin/bookingdb.js maintain` (every default task):
//   back-to-back  maintain runs one after another for the whole `--phase` seconds: the worst
//                 case (maintain never idle), the number earlier sessions reported;
//   one-run       exactly one maintain run; the phase is that run's window, from its start
//                 to its exit: the issue's "with a concurrent maintain run".
// Quiet phases last `--phase` seconds. Before measuring, one maintain run (not counted, printed
// as "prime") clears what the seeding left due (e.g. lapsed holds), so the phases measure
// the steady state a scheduled maintain sees; `--no-prime` leaves it out.
// Reported per phase kind (medians over rounds): operations/s, book p50/p99, cancel p99, errors by
// SQLSTATE (23P01 and BK001 apart: they are answers, not failures), maintain runs and their tasks.
import postgres from 'postgres';
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(`--${name}`); return i >= 0 ? args[i + 1] : dflt; };
const positional = args.filter((a, i) => !a.startsWith('--') && !(i > 0 && args[i - 1].startsWith('--')));
const [adminUrl, appUrl] = positional;
if (!adminUrl || !appUrl) {
  console.error('usage: node test/bench/maintain-under-load.mjs ADMIN_URL APP_URL [--clients 16] [--phase 20] [--rounds 3]');
  process.exit(2);
}
const clients = Number(opt('clients', '16'));
const phaseMs = Number(opt('phase', '20')) * 1000;
const rounds = Number(opt('rounds', '3'));
const maintainArgs = (opt('maintain-args', '') || '').split(' ').filter(Boolean);
const modes = (opt('modes', 'back-to-back,one-run') || '').split(',').filter(Boolean);
if (modes.length === 0 || modes.some((m) => m !== 'back-to-back' && m !== 'one-run')) {
  console.error('--modes takes back-to-back, one-run or both, comma-separated');
  process.exit(2);
}
const prime = !args.includes('--no-prime');

const pick = (xs) => xs[Math.floor(Math.random() * xs.length)];
const pct = (xs, p) => {
  if (xs.length === 0) return NaN;
  const s = Float64Array.from(xs).sort();
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
};
const median = (xs) => pct(xs, 50);

async function loadTargets() {
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    const services = await admin`
      select s.tenant_id, s.id as service_id, l.timezone, array_agg(r.id) as resources
        from booking.services s
        join booking.service_resources sr on sr.tenant_id = s.tenant_id and sr.service_id = s.id
        join booking.resources r on r.tenant_id = sr.tenant_id and r.id = sr.resource_id and r.active
        join booking.locations l on l.tenant_id = r.tenant_id and l.id = r.location_id
       where s.active
       group by s.tenant_id, s.id, l.timezone`;
    const customers = await admin`
      select tenant_id, (array_agg(id))[1:300] as ids from booking.customers where anonymized_at is null group by tenant_id`;
    const byTenant = new Map(customers.map((r) => [r.tenant_id, r.ids]));
    const targets = services.filter((s) => byTenant.has(s.tenant_id)).map((s) => ({ ...s, customers: byTenant.get(s.tenant_id) }));
    if (targets.length === 0) throw new Error('no service with resources and customers: seed the database first');
    return targets;
  } finally {
    await admin.end();
  }
}

function newStats() {
  return { ops: 0, book: [], cancel: [], slots: [], errors: new Map(), answers: new Map(), booked: 0 };
}

async function worker(sql, targets, stats, until, mine) {
  const tx = (tenant, fn) => sql.begin(async (t) => {
    await t`select set_config('app.tenant_id', ${tenant}, true)`;
    return fn(t);
  });
  const note = (error) => {
    const code = error?.code ?? 'client';
    const map = code === '23P01' || code === 'BK001' ? stats.answers : stats.errors;
    map.set(code, (map.get(code) ?? 0) + 1);
    if (map === stats.errors && (map.get(code) ?? 0) <= 3) console.error(`error ${code}: ${error?.message}`);
  };
  while (performance.now() < until()) {
    const s = pick(targets);
    const day = 1 + Math.floor(Math.random() * 30);
    try {
      const t0 = performance.now();
      const free = await tx(s.tenant_id, (t) => t`
        select resource_id, starts_at from booking.available_slots(${s.tenant_id}, ${s.service_id},
          ((now() at time zone ${s.timezone})::date + ${day}::int)::timestamp at time zone ${s.timezone},
          ((now() at time zone ${s.timezone})::date + ${day + 1}::int)::timestamp at time zone ${s.timezone})`);
      stats.slots.push(performance.now() - t0);
      stats.ops++;
      const slot = free.length > 0 ? pick(free) : null;
      if (slot) {
        const t1 = performance.now();
        try {
          const [{ id }] = await tx(s.tenant_id, (t) => t`
            select booking.book(${s.tenant_id}, ${s.service_id}, ${slot.resource_id}, ${pick(s.customers)}, ${slot.starts_at}) as id`);
          mine.push({ tenant: s.tenant_id, id });
          stats.booked++;
        } catch (error) {
          note(error);
        }
        stats.book.push(performance.now() - t1);
        stats.ops++;
      }
      if (mine.length > 0 && Math.random() < 0.5) {
        const b = mine.splice(Math.floor(Math.random() * mine.length), 1)[0];
        const t2 = performance.now();
        try {
          await tx(b.tenant, (t) => t`select booking.cancel(${b.tenant}, ${b.id}, 'load test')`);
        } catch (error) {
          note(error);
        }
        stats.cancel.push(performance.now() - t2);
        stats.ops++;
      }
    } catch (error) {
      note(error);
    }
  }
}

/** One `bookingdb maintain` run: its exit code, wall time and tasks (name:status:ms). */
function runMaintainOnce() {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, ['bin/bookingdb.js', 'maintain', '--json', '--database-url', adminUrl, ...maintainArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', () => {});
    child.on('close', (code) => {
      let tasks = [];
      try { tasks = JSON.parse(out).tasks.map((t) => `${t.name}:${t.status}:${t.durationMs}ms`); } catch { /* keep empty */ }
      resolve({ code, ms: Math.round(performance.now() - t0), tasks });
    });
  });
}

async function runMaintainLoop(until) {
  const runs = [];
  while (performance.now() < until()) runs.push(await runMaintainOnce());
  return runs;
}

async function phase(kind, targets, pools, mineLists) {
  const stats = newStats();
  const start = performance.now();
  let end = start + phaseMs;
  let maintainRuns = Promise.resolve([]);
  if (kind === 'back-to-back') maintainRuns = runMaintainLoop(() => end);
  if (kind === 'one-run') {
    end = Number.POSITIVE_INFINITY; // the phase is the run's window
    maintainRuns = runMaintainOnce().then((run) => { end = performance.now(); return [run]; });
  }
  const until = () => end;
  await Promise.all(pools.map((sql, i) => worker(sql, targets, stats, until, mineLists[i])));
  const runs = await maintainRuns;
  const seconds = (performance.now() - start) / 1000;
  return { kind, seconds, opsPerSec: stats.ops / seconds, bookP50: pct(stats.book, 50), bookP99: pct(stats.book, 99), cancelP99: pct(stats.cancel, 99),
    slotsP99: pct(stats.slots, 99), booked: stats.booked, errors: Object.fromEntries(stats.errors), answers: Object.fromEntries(stats.answers), maintainRuns: runs };
}

const targets = await loadTargets();
const pools = Array.from({ length: clients }, () => postgres(appUrl, { max: 1, onnotice: () => {} }));
const mineLists = pools.map(() => []);
const results = [];
try {
  console.log(`${clients} clients, ${targets.length} services, phases of ${phaseMs / 1000} s, ${rounds} rounds`);
  // warm-up: one short quiet phase, not counted
  await phase('warmup', targets, pools, mineLists);
  if (prime) {
    const run = await runMaintainOnce();
    console.log(`prime (not counted): maintain exit ${run.code} in ${run.ms} ms: ${run.tasks.join(' ')}`);
  }
  const kinds = ['quiet', ...modes];
  for (let r = 0; r < rounds; r++) {
    for (const kind of r % 2 === 0 ? kinds : [...kinds].reverse()) {
      const res = await phase(kind, targets, pools, mineLists);
      results.push(res);
      console.log(`round ${r + 1} ${kind} (${res.seconds.toFixed(1)} s): ${res.opsPerSec.toFixed(1)} ops/s, book p50 ${res.bookP50.toFixed(1)} ms p99 ${res.bookP99.toFixed(1)} ms, cancel p99 ${res.cancelP99.toFixed(1)} ms, `
        + `errors ${JSON.stringify(res.errors)}, answers ${JSON.stringify(res.answers)}`
        + (res.maintainRuns.length ? `, maintain runs ${res.maintainRuns.map((m) => `exit ${m.code} in ${m.ms} ms`).join('; ')}` : ''));
      for (const m of res.maintainRuns) console.log(`  maintain: ${m.tasks.join(' ')}`);
    }
  }
} finally {
  // cancel what is left so the database is as it was
  for (let i = 0; i < pools.length; i++) {
    for (const b of mineLists[i]) {
      await pools[i].begin(async (t) => {
        await t`select set_config('app.tenant_id', ${b.tenant}, true)`;
        await t`select booking.cancel(${b.tenant}, ${b.id}, 'load test')`;
      }).catch(() => undefined);
    }
  }
  await Promise.all(pools.map((p) => p.end()));
}
const of = (kind, key) => median(results.filter((r) => r.kind === kind).map((r) => r[key]));
const errorsOf = (kind) => results.filter((r) => r.kind === kind).reduce((n, r) => n + Object.values(r.errors).reduce((a, b) => a + b, 0), 0);
const summarise = (kind) => ({ opsPerSec: of(kind, 'opsPerSec'), bookP99: of(kind, 'bookP99'), seconds: of(kind, 'seconds'), errors: errorsOf(kind) });
const summary = { quiet: summarise('quiet') };
for (const m of modes) summary[m] = { ...summarise(m), throughputRatio: of(m, 'opsPerSec') / summary.quiet.opsPerSec };
const line = (k) => `${summary[k].opsPerSec.toFixed(1)} ops/s (book p99 ${summary[k].bookP99.toFixed(1)} ms, ${summary[k].errors} errors`
  + `${k === 'quiet' ? '' : `, median window ${summary[k].seconds.toFixed(1)} s`})`;
console.log(`median over ${rounds} rounds: quiet ${line('quiet')}; `
  + modes.map((m) => `${m} ${line(m)}, ratio ${summary[m].throughputRatio.toFixed(3)}`).join('; '));
console.log(JSON.stringify({ summary }));
if (Object.values(summary).some((x) => x.errors > 0)) process.exitCode = 1;
