// What one booking.book() costs the server, in numbers that do not depend on how busy
// the machine is (issue 10): statements executed inside it, WAL bytes and full-page
// images, buffers dirtied/read/hit (pg_stat_statements, track = all for this session),
// and the relation locks its transaction holds (pg_locks before commit: how many, how
// many in the per-backend fast path, which). Not a vitest test: nothing is asserted.
//
//   PROFILE_DATABASE_URL=ADMIN_URL node test/bench/book-profile.mjs [--calls 150] [--checkpoint]
//
// ADMIN_URL: a superuser of a deployed, seeded database (e.g. a copy of the 1M-booking
// one) with pg_stat_statements in shared_preload_libraries and the extension created.
// One session books --calls free slots (from available_slots, the next 30 days, the
// tenant and service with the most resources) one after the other as bookingdb_app
// (SET LOCAL ROLE, so RLS applies as for the app), each call its own committed
// transaction, after 10 unmeasured calls (plans cached, as in a long-lived app
// connection); then cancels them again through booking.cancel. --checkpoint runs a
// CHECKPOINT first, so the full-page images of two runs compare (it is cluster-wide:
// not on a server others are measuring on). The statistics of this database are reset.
import postgres from 'postgres';

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(`--${name}`); return i >= 0 ? args[i + 1] : dflt; };
const url = process.env.PROFILE_DATABASE_URL;
if (!url) {
  console.error('usage: PROFILE_DATABASE_URL=ADMIN_URL node test/bench/book-profile.mjs [--calls 150] [--checkpoint]');
  process.exit(2);
}
const calls = Number(opt('calls', '150'));
const warm = 10;
const sql = postgres(url, { max: 1, onnotice: () => {} });
const made = [];

try {
  const [ext] = await sql`select extnamespace::regnamespace::text as schema from pg_extension where extname = 'pg_stat_statements'`;
  if (!ext) throw new Error('pg_stat_statements is not installed in this database');
  const pss = `${ext.schema}.pg_stat_statements`;
  const [t] = await sql`
    select s.tenant_id, s.id as service_id
      from booking.services s join booking.service_resources sr on sr.tenant_id = s.tenant_id and sr.service_id = s.id
     where s.active group by 1, 2 order by count(*) desc, 1, 2 limit 1`;
  const [{ customer }] = await sql`select id as customer from booking.customers where tenant_id = ${t.tenant_id} and anonymized_at is null order by id limit 1`;
  const slots = await sql.begin(async (tx) => {
    await tx`select set_config('app.tenant_id', ${t.tenant_id}, true)`;
    // one slot per resource and day, so no two of them overlap
    return tx`select resource_id, starts_at from (
        select distinct on (resource_id, starts_at::date) resource_id, starts_at
          from booking.available_slots(${t.tenant_id}::uuid, ${t.service_id}::uuid, now() + interval '1 day', now() + interval '30 days', null)
         order by resource_id, starts_at::date, md5(starts_at::text)) x
      order by md5(resource_id::text || starts_at::text) limit ${calls + warm}`;
  });
  if (slots.length < calls + warm) throw new Error(`only ${slots.length} free slots, need ${calls + warm}`);
  const book = (slot, inspect) => sql.begin(async (tx) => {
    await tx`select set_config('app.tenant_id', ${t.tenant_id}, true)`;
    await tx`set local role bookingdb_app`;
    const [r] = await tx`select booking.book(${t.tenant_id}::uuid, ${t.service_id}::uuid, ${slot.resource_id}::uuid, ${customer}::uuid, ${slot.starts_at}::timestamptz) as id`;
    made.push(r.id);
    if (!inspect) return undefined;
    await tx`reset role`;
    return tx`select l.relation::regclass::text as relation, l.mode, l.fastpath from pg_locks l
      where l.pid = pg_backend_pid() and l.locktype = 'relation' and l.relation <> 'pg_locks'::regclass order by 1, 2`;
  });
  await sql`set pg_stat_statements.track = 'all'`;
  for (const s of slots.slice(0, warm)) await book(s, false);
  if (args.includes('--checkpoint')) await sql`checkpoint`;
  await sql.unsafe(`select ${ext.schema}.pg_stat_statements_reset(0::oid, (select oid from pg_database where datname = current_database()), 0::bigint)`);
  let locks = [];
  for (const [i, s] of slots.slice(warm).entries()) locks = (await book(s, i === calls - 1)) ?? locks;
  await sql`set pg_stat_statements.track = 'top'`;
  const rows = await sql.unsafe(`
    select toplevel, sum(calls)::bigint as calls, sum(wal_bytes)::bigint as wal, sum(wal_fpi)::bigint as fpi,
           sum(shared_blks_dirtied)::bigint as dirtied, sum(shared_blks_read)::bigint as read, sum(shared_blks_hit)::bigint as hit,
           sum(total_exec_time) as ms
      from ${pss}
     where dbid = (select oid from pg_database where datname = current_database())
       and (not toplevel or query like 'select booking.book(%')
     group by toplevel`);
  const top = rows.find((r) => r.toplevel);
  const nested = rows.find((r) => !r.toplevel);
  const per = (x) => Math.round((Number(x) / calls) * 100) / 100;
  console.log(`booking.book, ${calls} successful calls in one session (after ${warm} unmeasured):`);
  console.log(`  statements executed inside, per call: ${per(nested?.calls ?? 0)}`);
  console.log(`  WAL per call: ${per(top.wal)} bytes, ${per(top.fpi)} full-page images`);
  console.log(`  buffers per call: ${per(top.dirtied)} dirtied, ${per(top.read)} read, ${per(top.hit)} hit`);
  console.log(`  server time per call: ${per(top.ms)} ms (depends on the machine's load)`);
  const distinct = new Set(locks.map((l) => l.relation));
  console.log(`  relation locks of the last call's transaction: ${locks.length} (${distinct.size} relations), ${locks.filter((l) => l.fastpath).length} in the fast path`);
  console.log(`    ${locks.map((l) => `${l.relation}:${l.mode}${l.fastpath ? '*' : ''}`).join(' ')}`);
} finally {
  // the bookings are cancelled again, so a rerun finds the same free slots
  for (const id of made) {
    await sql.begin(async (tx) => {
      const [b] = await tx`select tenant_id from booking.bookings where id = ${id}`;
      await tx`select set_config('app.tenant_id', ${b.tenant_id}, true)`;
      await tx`select booking.cancel(${b.tenant_id}::uuid, ${id}::uuid, 'book-profile')`;
    });
  }
  await sql.end({ timeout: 5 });
}
