// Server time of one booking.book() refused with 23P01, next to the bench's bare anchor
// function (src/bench/anchor.ts) refusing the same slot (issue 10). Not a vitest test:
// nothing is asserted. Inside one session, so neither the client, the network nor the
// server log is in the number:
//
//   PROFILE_DATABASE_URL=ADMIN_URL node test/bench/book-refusal-cost.mjs [--calls 4000] [--rounds 3]
//
// ADMIN_URL: a superuser of a deployed, seeded database (e.g. a copy of the 1M-booking one).
// It picks a confirmed future booking, then calls booking.book for the same slot --calls
// times per round in a PL/pgSQL loop (EXECUTE, one subtransaction per call, 23P01 caught),
// and the anchor the same way, as bookingdb_app (SET ROLE, so RLS applies as for the app).
// The anchor is the bench's own (installAnchor from a built dist/, its allocation copy
// the tenant's resources; SECURITY INVOKER, so it reads booking.services under the
// app's RLS), dropped at the end. booking.book is SECURITY DEFINER, owned by
// bookingdb_owner, under RLS: compare copies of it only with that owner, since one owned
// by a superuser skips RLS. An empty loop's cost is printed too (the subtransaction and
// EXECUTE every call pays).
import postgres from 'postgres';
import { dropAnchor, installAnchor } from '../../dist/bench/anchor.js';

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(`--${name}`); return i >= 0 ? args[i + 1] : dflt; };
const url = process.env.PROFILE_DATABASE_URL;
if (!url) {
  console.error('usage: PROFILE_DATABASE_URL=ADMIN_URL node test/bench/book-refusal-cost.mjs [--calls 4000] [--rounds 3]');
  process.exit(2);
}
const calls = Number(opt('calls', '4000'));
const rounds = Number(opt('rounds', '3'));
const sql = postgres(url, { max: 1, onnotice: (n) => console.log(n.message) });
let schema;

try {
  const [slot] = await sql`
    select a.tenant_id::text as t, b.service_id::text as s, a.resource_id::text as r, b.customer_id::text as c,
           lower(b.during) as st
      from booking.booking_allocations a
      join booking.bookings b on b.tenant_id = a.tenant_id and b.id = a.booking_id
     where a.active and b.status = 'confirmed' and a.starts > pg_catalog.now() + interval '3 days'
     limit 1`;
  if (!slot) throw new Error('no confirmed future booking to refuse: seed the database first');
  // the copy holds the tenant's every resource, as the bench's does (with one resource's
  // rows alone, ANALYZE makes the overlap check a sequential scan)
  const resources = (await sql`select id::text from booking.resources where tenant_id = ${slot.t}`).map((r) => r.id);
  ({ schema } = await installAnchor(sql, 'bookingdb_app', { tenants: [slot.t], resources, from: slot.st, to: slot.st, what: 'history' }));
  console.log(`refusing ${slot.st.toISOString()} on resource ${slot.r}, ${calls} calls a round, ${rounds} rounds`);
  const lit = (v) => `'${String(v).replace(/'/g, "''")}'`;
  const call = (f) => `for i in 1..${calls} loop
      begin
        execute 'select ${f}($1, $2, $3, $4, $5)' using ${lit(slot.t)}::uuid, ${lit(slot.s)}::uuid, ${lit(slot.r)}::uuid, ${lit(slot.c)}::uuid, ${lit(slot.st.toISOString())}::timestamptz;
      exception when exclusion_violation then null;
      end;
    end loop;`;
  await sql.begin(async (tx) => {
    await tx.unsafe('set local role bookingdb_app');
    await tx.unsafe('select pg_catalog.set_config($1, $2, true)', ['app.tenant_id', slot.t]);
    await tx.unsafe(`do $do$ declare t0 timestamptz; f text; begin
      for r in 1..${rounds} loop
        foreach f in array array['booking.book', '${schema}.book', 'pg_catalog.abs'] loop
          t0 := pg_catalog.clock_timestamp();
          if f = 'pg_catalog.abs' then
            for i in 1..${calls} loop begin execute 'select pg_catalog.abs(1)'; exception when exclusion_violation then null; end; end loop;
          elsif f = 'booking.book' then ${call('booking.book')}
          else ${call(`${schema}.book`)}
          end if;
          raise notice '%: % us a call', case f when 'pg_catalog.abs' then 'empty loop' when 'booking.book' then 'booking.book refused' else 'anchor refused' end,
            pg_catalog.round((extract(epoch from pg_catalog.clock_timestamp() - t0) * 1e6 / ${calls})::numeric, 1);
        end loop;
      end loop;
    end $do$`);
  }); // every refused call rolled back its own subtransaction: this commits only the conflict counter
} finally {
  if (schema) await dropAnchor(sql, schema);
  await sql.end();
}
