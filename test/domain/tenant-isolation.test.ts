import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import postgres from 'postgres';
import { createTestDatabase } from '../helpers/database.js';
import { quoteIdent } from '../../src/db/ident.js';
import { appPool, at, bookingApi, createTenant, futureDate, inTenant, pgError, settle, type TenantFixture } from './helpers.js';

// Tenant isolation as the app role, generated from the catalog: every table in
// booking/ops with a tenant_id column (plus booking.tenants, keyed by id) and every
// SECURITY DEFINER function with a p_tenant_id argument is covered, so a table or
// function added later is tested without anyone editing this file.
const db = await createTestDatabase();
const { sql: app, role: appRole } = await appPool(db, 4);
const IST = '+05:30';
const day = futureDate(8);

interface TenantTable {
  name: string; key: string; partition: boolean; parent: string; canSelect: boolean; canInsert: boolean; canUpdate: boolean; canDelete: boolean;
  /** A column the app may UPDATE (column-level grants), if any. */
  updatable: string | null;
}

let A: TenantFixture;
let B: TenantFixture;
const bookingsOf: Record<string, string> = {};
let tables: TenantTable[] = [];

/** Rows in every tenant table for one tenant: catalogue, bookings, waitlist, payments, erasure, audit, reporting stage. */
async function populate(fx: TenantFixture) {
  const api = bookingApi(app, fx.tenantId);
  await db.sql`insert into booking.time_off (tenant_id, resource_id, during)
    values (${fx.tenantId}, ${fx.resources[1]}, tstzrange(${at(day, '15:00', IST)}::timestamptz, ${at(day, '16:00', IST)}::timestamptz))`;
  const id = await api.book({ service: fx.services.cut, resource: fx.resources[0], customer: fx.customers[0], start: at(day, '10:00', IST), key: `k-${fx.slug}` });
  await api.joinWaitlist({ service: fx.services.cut, customer: fx.customers[1], from: at(day, '09:00', IST), to: at(day, '12:00', IST) });
  await db.sql`insert into booking.payments (tenant_id, booking_id, amount_cents, status, provider, provider_ref)
    values (${fx.tenantId}, ${id}, 2500, 'succeeded', 'manual', ${'ref-' + fx.slug})`;
  await db.sql`insert into booking.erasure_requests (tenant_id, customer_id, note) values (${fx.tenantId}, ${fx.customers[2]}, 'please forget me')`;
  // an audit row in every partition of ops.audit_log (the API filled only this month's),
  // inside the partition's bounds; the default partition gets one from long ago
  await db.sql`insert into ops.audit_log (tenant_id, occurred_at, action, entity)
    select ${fx.tenantId}, coalesce(substring(pg_get_expr(c.relpartbound, c.oid) from $$FROM \\('([^']+)'\\)$$)::timestamptz + interval '1 hour',
                                   '2001-01-01'::timestamptz), 'test.fixture', 'test'
      from pg_inherits i join pg_class c on c.oid = i.inhrelid where i.inhparent = 'ops.audit_log'::regclass`;
  // the reporting views' stage tables: this tenant's rows, as maintain's refresh computes them
  await db.sql`select ops.reporting_stage_tenant('daily_bookings', ${fx.tenantId}), ops.reporting_stage_tenant('daily_utilisation', ${fx.tenantId})`;
  bookingsOf[fx.tenantId] = id;
}

/** Row counts of one tenant in every table, read as superuser. */
async function countsOf(tenantId: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of tables) {
    const [r] = await db.sql.unsafe(`select count(*)::int as n from ${t.name} where ${quoteIdent(t.key)} = $1`, [tenantId]);
    out[t.name] = r.n;
  }
  return out;
}

beforeAll(async () => {
  A = await createTenant(db.sql);
  B = await createTenant(db.sql);
  await populate(A);
  await populate(B);
  const rows = await db.sql`
    select format('%I.%I', n.nspname, c.relname) as name,
           case when c.oid = 'booking.tenants'::regclass then 'id' else 'tenant_id' end as key,
           c.relispartition as partition,
           coalesce((select format('%I.%I', pn.nspname, pc.relname) from pg_inherits i join pg_class pc on pc.oid = i.inhparent
                      join pg_namespace pn on pn.oid = pc.relnamespace where i.inhrelid = c.oid),
                    format('%I.%I', n.nspname, c.relname)) as parent,
           has_table_privilege(${appRole}, c.oid, 'SELECT') as "canSelect",
           has_any_column_privilege(${appRole}, c.oid, 'INSERT') as "canInsert",
           has_any_column_privilege(${appRole}, c.oid, 'UPDATE') as "canUpdate",
           has_table_privilege(${appRole}, c.oid, 'DELETE') as "canDelete",
           (select a.attname from pg_attribute a where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
               and has_column_privilege(${appRole}, c.oid, a.attnum, 'UPDATE') order by a.attnum limit 1) as updatable
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where n.nspname in ('booking', 'ops') and c.relkind in ('r', 'p')
       and (c.oid = 'booking.tenants'::regclass
            or exists (select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped))
     order by 1`;
  tables = rows as unknown as TenantTable[];
});

describe('tenant isolation (generated from the catalog)', () => {
  it('finds the tenant tables, and the fixture has rows of both tenants in each (add fixture rows for a new table)', async () => {
    const names = tables.filter((t) => !t.partition).map((t) => t.name);
    for (const known of ['booking.tenants', 'booking.locations', 'booking.resources', 'booking.services', 'booking.service_resources',
      'booking.working_hours', 'booking.time_off', 'booking.customers', 'booking.bookings', 'booking.booking_allocations',
      'booking.waitlist_entries', 'booking.payments', 'booking.erasure_requests', 'ops.audit_log']) {
      expect(names).toContain(known);
    }
    const a = await countsOf(A.tenantId);
    const b = await countsOf(B.tenantId);
    const parents = tables.filter((t) => !t.partition).map((t) => t.name);
    expect(parents.filter((t) => !(a[t] > 0 && b[t] > 0)), 'tables without rows of both tenants in this fixture').toEqual([]);
  });

  it('the app role is an ordinary role: not superuser, not BYPASSRLS, owns nothing', async () => {
    const [r] = await inTenant(app, A.tenantId, (tx) => tx`select r.rolsuper, r.rolbypassrls, pg_has_role(current_user, 'bookingdb_app', 'MEMBER') as member,
      (select count(*)::int from pg_class c where c.relowner = r.oid) as owns
      from pg_roles r where r.rolname = current_user`);
    expect(r).toEqual({ rolsuper: false, rolbypassrls: false, member: true, owns: 0 });
    // partitions included: a role with SELECT on a partition (pg_read_all_data) reads it directly
    const forced = await db.sql`select format('%I.%I', n.nspname, c.relname) as t from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where format('%I.%I', n.nspname, c.relname) = any(${tables.map((t) => t.name)})
        and not (c.relrowsecurity and c.relforcerowsecurity and exists (select 1 from pg_policy p where p.polrelid = c.oid))`;
    expect(forced.map((f) => f.t), 'tenant tables and partitions without ENABLE + FORCE row level security and a policy').toEqual([]);
    expect(tables.filter((t) => t.partition).map((t) => t.name)).toContain('ops.audit_log_default');
  });

  it('in tenant A, every tenant table shows A\'s rows and none of B\'s; partitions are not readable directly', async () => {
    const leaks: string[] = [];
    for (const t of tables) {
      const q = `select count(*) filter (where ${quoteIdent(t.key)} = $1)::int as b, count(*) filter (where ${quoteIdent(t.key)} is distinct from $2)::int as not_a,
        count(*) filter (where ${quoteIdent(t.key)} = $2)::int as a from ${t.name}`;
      if (!t.canSelect || t.partition) {
        // no grant on partitions: the app reads through the parent (partitions carry the policy too, see the pg_read_all_data test)
        expect(t.canSelect, `${t.name}: app may read a partition directly, bypassing the parent's policy`).toBe(false);
        const e = await pgError(inTenant(app, A.tenantId, (tx) => tx.unsafe(q, [B.tenantId, A.tenantId])));
        expect(e.code, t.name).toBe('42501');
        continue;
      }
      const [r] = await inTenant(app, A.tenantId, (tx) => tx.unsafe(q, [B.tenantId, A.tenantId]));
      if (r.b !== 0 || r.not_a !== 0) leaks.push(`${t.name}: ${r.b} rows of B, ${r.not_a} not of A`);
      if (r.a === 0) leaks.push(`${t.name}: A's own rows are invisible (the test would prove nothing)`);
    }
    expect(leaks).toEqual([]);
  });

  it('in tenant A, B\'s rows cannot be inserted, updated or deleted, in any tenant table', async () => {
    const before = await countsOf(B.tenantId);
    const problems: string[] = [];
    for (const t of tables) {
      // one of B's rows (a partition may be empty: take it from the parent), with a fresh id, as the row to insert
      // the columns the app may insert (column-level grants), so the row policy is what refuses it
      const cols = await db.sql`select a.attname from pg_attribute a
        where a.attrelid = ${t.name}::regclass and a.attnum > 0 and not a.attisdropped and a.attgenerated = ''
          and (not ${t.canInsert} or has_column_privilege(${appRole}, a.attrelid, a.attnum, 'INSERT')) order by a.attnum`;
      const list = cols.map((c) => quoteIdent(c.attname)).join(', ');
      const [row] = await db.sql.unsafe(`select to_jsonb(x) as j from ${t.parent} x where ${quoteIdent(t.key)} = $1 limit 1`, [B.tenantId]);
      const j = { ...row.j };
      if ('id' in j && t.key !== 'id') j.id = randomUUID();
      const ins = await pgError(inTenant(app, A.tenantId, (tx) =>
        tx.unsafe(`insert into ${t.name} (${list}) select ${list} from jsonb_populate_record(null::${t.name}, $1::jsonb)`, [j])))
        .catch((e: Error) => ({ code: 'succeeded', message: e.message }));
      if (ins.code !== '42501') problems.push(`insert into ${t.name}: ${ins.code} ${ins.message}`);
      else if (t.canInsert && !/row-level security/.test(ins.message)) problems.push(`insert into ${t.name}: ${ins.message}`);

      // an UPDATE the app may make on some column (column-level grants); else any update, which must be refused
      const col = quoteIdent(t.updatable ?? t.key);
      const upd = `update ${t.name} set ${col} = ${col} where ${quoteIdent(t.key)} = $1`;
      const del = `delete from ${t.name} where ${quoteIdent(t.key)} = $1`;
      for (const [what, q, allowed] of [['update', upd, t.canUpdate], ['delete', del, t.canDelete]] as const) {
        if (allowed) {
          const r = await inTenant(app, A.tenantId, (tx) => tx.unsafe(q, [B.tenantId]));
          if (r.count !== 0) problems.push(`${what} of B's rows in ${t.name} affected ${r.count}`);
        } else {
          const e = await pgError(inTenant(app, A.tenantId, (tx) => tx.unsafe(q, [B.tenantId]))).catch((x: Error) => ({ code: 'succeeded', message: x.message }));
          if (e.code !== '42501') problems.push(`${what} ${t.name}: ${e.code} ${e.message}`);
        }
      }
      if (t.canUpdate && t.key === 'tenant_id') {
        // moving one of A's own rows into B: tenant_id is not updatable (and the policy's WITH CHECK would refuse it)
        const e = await pgError(inTenant(app, A.tenantId, (tx) =>
          tx.unsafe(`update ${t.name} set tenant_id = $1 where tenant_id = $2`, [B.tenantId, A.tenantId])))
          .catch((x: Error) => ({ code: 'succeeded', message: x.message }));
        if (e.code !== '42501') problems.push(`moving A's rows of ${t.name} to B: ${e.code} ${e.message}`);
      }
    }
    expect(problems).toEqual([]);
    expect(await countsOf(B.tenantId)).toEqual(before);
  });

  it('a login in pg_read_all_data without BYPASSRLS reads no tenant table or partition directly: refused, or no other tenant\'s rows', async () => {
    // pg_read_all_data grants SELECT on every table, partitions included, but not
    // BYPASSRLS: each table and partition must carry the policy itself. (Today the
    // policy's booking.current_tenant_id() is not executable by such a role, so it is
    // refused with 42501; were it granted, the policy would show one tenant at most.)
    const name = `reader_${randomUUID().slice(0, 8)}`;
    const password = `pw-${randomUUID()}`;
    await db.sql.unsafe(`create role ${name} login nobypassrls password '${password}' in role pg_read_all_data`);
    const u = new URL(db.url);
    u.username = name;
    u.password = password;
    const reader = postgres(u.toString(), { max: 1, onnotice: () => undefined });
    try {
      const leaks: string[] = [];
      for (const t of tables) {
        const k = quoteIdent(t.key);
        const [all] = await db.sql.unsafe(`select count(*) filter (where ${k} = $1)::int as a, count(*)::int as n from ${t.name}`, [A.tenantId]);
        if (all.n <= all.a) leaks.push(`${t.name}: the fixture has no rows of another tenant here (the test would prove nothing)`);
        const q = `select count(*)::int as n, count(*) filter (where ${k} = $1)::int as a from ${t.name}`;
        for (const [scope, tenant] of [['no tenant', null], ['tenant A', A.tenantId]] as const) {
          const r = await settle(inTenant(reader, tenant, (tx) => tx.unsafe(q, [A.tenantId])));
          if (!r.ok) {
            if (r.code !== '42501') leaks.push(`${t.name} (${scope}): ${r.code} ${r.message}`);
            continue;
          }
          const [row] = r.value as unknown as Array<{ n: number; a: number }>;
          const visible = tenant ? row.n - row.a : row.n;
          if (visible !== 0) leaks.push(`${t.name} (${scope}): ${visible} rows of ${all.n} readable that are not the tenant's`);
        }
      }
      expect(leaks).toEqual([]);
    } finally {
      await reader.end({ timeout: 5 });
      await db.sql.unsafe(`drop role ${name}`);
    }
  });

  it('views are security_invoker and show A only; materialized views (cross-tenant) are not readable by the app', async () => {
    const views = await db.sql`
      select format('%I.%I', n.nspname, c.relname) as name, c.relkind as kind,
             coalesce('security_invoker=true' = any(c.reloptions) or 'security_invoker=on' = any(c.reloptions), false) as invoker,
             has_table_privilege(${appRole}, c.oid, 'SELECT') as "canSelect",
             exists (select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = 'tenant_id') as "hasTenant"
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
       where n.nspname in ('booking', 'ops') and c.relkind in ('v', 'm') order by 1`;
    expect(views.filter((v) => v.kind === 'v' && !v.invoker).map((v) => v.name), 'views without security_invoker').toEqual([]);
    expect(views.filter((v) => v.kind === 'm' && v.canSelect).map((v) => v.name), 'materialized views the app can read').toEqual([]);
    expect(views.map((v) => v.name)).toContain('booking.daily_dashboard');
    for (const v of views.filter((x) => x.kind === 'v' && x.canSelect && x.hasTenant)) {
      const [r] = await inTenant(app, A.tenantId, (tx) => tx.unsafe(`select count(*) filter (where tenant_id is distinct from $1)::int as other,
        count(*)::int as mine from ${v.name}`, [A.tenantId]));
      expect(r.other, `${v.name} shows other tenants' rows`).toBe(0);
      if (v.name === 'booking.daily_dashboard') expect(r.mine).toBeGreaterThan(0);
    }
  });

  it('every SECURITY DEFINER function with p_tenant_id raises 42501 for another tenant\'s id, and with no tenant set', async () => {
    const fns = await db.sql`
      select p.oid::regprocedure::text as sig, format('%I.%I', n.nspname, p.proname) as name, p.proretset as srf,
             (select array_agg(format_type(t, null) order by i) from unnest(p.proargtypes::oid[]) with ordinality as u(t, i)) as types,
             p.proargnames[1:p.pronargs] as names,
             has_function_privilege(${appRole}, p.oid, 'EXECUTE') as can
        from pg_proc p join pg_namespace n on n.oid = p.pronamespace
       where n.nspname in ('booking', 'ops') and p.prosecdef and 'p_tenant_id' = any(p.proargnames)
       order by 1`;
    expect(fns.map((f) => f.name)).toEqual(expect.arrayContaining(['booking.available_slots', 'booking.book', 'booking.confirm',
      'booking.cancel', 'booking.reschedule', 'booking.join_waitlist']));
    const problems: string[] = [];
    for (const f of fns) {
      if (!f.can) continue; // not callable by the app at all (asserted for the API above via the list)
      const args = (f.types as string[]).map((type, i) => ((f.names as string[])[i] === 'p_tenant_id' ? '$1::uuid' : `null::${type}`));
      const call = `select * from ${f.name}(${args.join(', ')})`;
      for (const [scope, tenant] of [['tenant A, p_tenant_id B', A.tenantId], ['no tenant, p_tenant_id A', null]] as const) {
        const e = await pgError(inTenant(app, tenant, (tx) => tx.unsafe(call, [tenant ? B.tenantId : A.tenantId])))
          .catch((x: Error) => ({ code: 'succeeded', message: x.message }));
        if (e.code !== '42501' || !/tenant/.test(e.message)) problems.push(`${f.sig} (${scope}): ${e.code} ${e.message}`);
      }
    }
    expect(problems).toEqual([]);
    const apiFns = fns.filter((f) => /^booking\.(available_slots|book|confirm|cancel|reschedule|join_waitlist)$/.test(f.name));
    expect(apiFns.filter((f) => !f.can).map((f) => f.sig), 'API functions the app role cannot execute').toEqual([]);
  });

  it('A cannot reach B\'s service, resource, customer or booking through the API', async () => {
    const api = bookingApi(app, A.tenantId);
    const start = at(day, '13:00', IST);
    const own = { service: A.services.cut, resource: A.resources[0], customer: A.customers[3], start };
    const bBooking = bookingsOf[B.tenantId];
    const calls: Array<[string, () => Promise<unknown>]> = [
      ['book B\'s resource', () => api.book({ ...own, resource: B.resources[0] })],
      ['book for B\'s customer', () => api.book({ ...own, customer: B.customers[3] })],
      ['book B\'s service', () => api.book({ ...own, service: B.services.cut })],
      ['confirm B\'s booking', () => api.confirm(bBooking)],
      ['cancel B\'s booking', () => api.cancel(bBooking)],
      ['reschedule B\'s booking', () => api.reschedule(bBooking, start)],
      ['reschedule onto B\'s resource', () => api.reschedule(bookingsOf[A.tenantId], start, B.resources[0])],
      ['waitlist for B\'s customer', () => api.joinWaitlist({ service: A.services.cut, customer: B.customers[3], from: start, to: at(day, '16:00', IST) })],
      ['waitlist on B\'s resource', () => api.joinWaitlist({ service: A.services.cut, customer: A.customers[3], from: start, to: at(day, '16:00', IST), resource: B.resources[0] })],
      ['slots of B\'s service', () => api.slots(B.services.cut, at(day, '09:00', IST), at(day, '17:00', IST))],
    ];
    for (const [what, call] of calls) {
      const e = await pgError(call());
      expect(e.code, `${what}: ${e.message}`).toBe('BK002');
    }
    expect(await api.slots(A.services.cut, at(day, '09:00', IST), at(day, '17:00', IST), B.resources)).toEqual([]);
    const [b] = await db.sql`select status, lower(during) as s, resource_id from booking.bookings where id = ${bBooking}`;
    expect([b.status, b.s.toISOString(), b.resource_id]).toEqual(['confirmed', at(day, '10:00', IST).toISOString(), B.resources[0]]);
  });

  it('A\'s catalogue rows cannot point at B\'s rows (composite foreign keys)', async () => {
    const statements: Array<[string, string, unknown[]]> = [
      ['resource at B\'s location', `insert into booking.resources (tenant_id, location_id, kind, name) values ($1, $2, 'chair', 'x')`, [A.tenantId, B.locationId]],
      ['A\'s service on B\'s resource', `insert into booking.service_resources (tenant_id, service_id, resource_id) values ($1, $2, $3)`, [A.tenantId, A.services.cut, B.resources[0]]],
      ['hours for B\'s resource', `insert into booking.working_hours (tenant_id, resource_id, weekday, starts_local, ends_local) values ($1, $2, 1, '09:00', '10:00')`, [A.tenantId, B.resources[0]]],
      ['time off for B\'s resource', `insert into booking.time_off (tenant_id, resource_id, during) values ($1, $2, tstzrange(now() + interval '1 day', now() + interval '2 days'))`, [A.tenantId, B.resources[0]]],
      ['A\'s resource moved to B\'s location', `update booking.resources set location_id = $2 where tenant_id = $1 and id = $3`, [A.tenantId, B.locationId, A.resources[0]]],
    ];
    for (const [what, q, params] of statements) {
      const e = await pgError(inTenant(app, A.tenantId, (tx) => tx.unsafe(q, params as string[])));
      expect(e.code, `${what}: ${e.message}`).toBe('23503');
    }
  });

  it('with no tenant set every tenant table reads as empty, without a cast error, also after an earlier SET LOCAL on the connection', async () => {
    const readable = tables.filter((t) => t.canSelect);
    const count = (tx: { unsafe: (q: string) => Promise<unknown[]> }) =>
      Promise.all(readable.map(async (t) => [t.name, ((await tx.unsafe(`select count(*)::int as n from ${t.name}`)) as Array<{ n: number }>)[0].n] as const));
    const zero = Object.fromEntries(readable.map((t) => [t.name, 0]));
    expect(Object.fromEntries(await inTenant(app, null, count))).toEqual(zero);
    const conn = await app.reserve();
    try {
      await conn`begin`;
      await conn`select set_config('app.tenant_id', ${A.tenantId}, true)`;
      await conn`commit`;
      // the setting now reads '' on this connection, not NULL
      const [{ v }] = await conn`select current_setting('app.tenant_id', true) as v`;
      expect(v).toBe('');
      expect(Object.fromEntries(await count(conn))).toEqual(zero);
      await conn`begin`;
      await conn`select set_config('app.tenant_id', '', true)`;
      expect(Object.fromEntries(await count(conn))).toEqual(zero);
      await conn`commit`;
    } finally {
      conn.release();
    }
    // a malformed tenant id is an error, not a silent match
    expect((await pgError(inTenant(app, 'not-a-uuid', (tx) => tx`select count(*) from booking.bookings`))).code).toBe('22P02');
  });

  it('the app role writes to the catalogue only: bookings and allocations change only through the API', async () => {
    // no table-wide write privilege at all; INSERT and UPDATE on chosen columns of the catalogue
    const writes = await db.sql`
      select format('%I.%I', n.nspname, c.relname) as t, p.priv, has_table_privilege(${appRole}, c.oid, p.priv) as whole
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        cross join unnest(array['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) as p(priv)
       where n.nspname in ('booking', 'ops') and c.relkind in ('r', 'p', 'v', 'm')
         and (has_table_privilege(${appRole}, c.oid, p.priv)
              or (p.priv in ('INSERT', 'UPDATE') and has_any_column_privilege(${appRole}, c.oid, p.priv)))
       order by 1, 2`;
    const catalogue = ['booking.customers', 'booking.locations', 'booking.resources', 'booking.service_resources', 'booking.services',
      'booking.time_off', 'booking.working_hours'];
    expect(writes.map((w) => `${w.t} ${w.priv}`)).toEqual(catalogue.flatMap((t) => [`${t} INSERT`, `${t} UPDATE`]));
    expect(writes.filter((w) => w.whole).map((w) => `${w.t} ${w.priv}`), 'table-wide write privileges (grant column lists)').toEqual([]);

    const id = bookingsOf[A.tenantId];
    const statements: Array<[string, string, unknown[]]> = [
      ['insert a booking', `insert into booking.bookings (tenant_id, customer_id, service_id, resource_id, during)
         values ($1, $2, $3, $4, tstzrange(now() + interval '3 days', now() + interval '3 days 1 hour'))`,
        [A.tenantId, A.customers[4], A.services.cut, A.resources[1]]],
      ['confirm by UPDATE', `update booking.bookings set status = 'cancelled', cancelled_at = now() where tenant_id = $1 and id = $2`, [A.tenantId, id]],
      ['delete a booking', `delete from booking.bookings where tenant_id = $1 and id = $2`, [A.tenantId, id]],
      ['insert an allocation', `insert into booking.booking_allocations (tenant_id, booking_id, resource_id, blocked)
         values ($1, $2, $3, tstzrange(now() + interval '3 days', now() + interval '3 days 1 hour'))`, [A.tenantId, id, A.resources[1]]],
      ['free an allocation by UPDATE', `update booking.booking_allocations set active = false where tenant_id = $1 and booking_id = $2`, [A.tenantId, id]],
      ['delete an allocation', `delete from booking.booking_allocations where tenant_id = $1 and booking_id = $2`, [A.tenantId, id]],
    ];
    for (const [what, q, params] of statements) {
      const e = await pgError(inTenant(app, A.tenantId, (tx) => tx.unsafe(q, params as string[])));
      expect(e.code, `${what}: ${e.message}`).toBe('42501');
    }
    const [b] = await db.sql`select b.status, (select bool_and(active) from booking.booking_allocations a where a.booking_id = b.id) as active
      from booking.bookings b where b.id = ${id}`;
    expect(b).toEqual({ status: 'confirmed', active: true });
  });
});
