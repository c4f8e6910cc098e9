import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { beforeAll, describe, expect, it } from 'vitest';
import { deploy } from '../../src/deploy/deploy.js';
import { runVerification } from '../../src/deploy/verify.js';
import { migrate } from '../../src/migrate/migrate.js';
import { createTestDatabase, uniqueName, type TestDatabase } from '../helpers/database.js';
import { runCli } from '../helpers/cli.js';
import { appPool, createLogin, createTenant, inTenant, pgError, type TenantFixture } from './helpers.js';

// Privileges around the app role and the schemas (issue 6): who may create objects
// where, who owns what, TEMP, LOGIN members that escape RLS, audit-log partitions read
// directly, the columns the app may write, and what counts as a time zone. Each
// check is tested by breaking a deployed clone the way an attacker or a careless
// DBA would. Anything cluster-wide (roles, memberships) is done inside a transaction
// that is rolled back, so test files running in parallel never see it.
const base = { rolePrefix: 'bookingdb', lockWaitSeconds: 60, lockTimeoutMs: 5000, connectTimeoutSeconds: 10 };
const db = await createTestDatabase();
const { sql: app, role: appRole } = await appPool(db, 2);
let T: TenantFixture;

/** Every violation of every check as `check: text`. */
async function violations(conn: postgres.Sql | postgres.ReservedSql = db.sql): Promise<string[]> {
  const results = await runVerification(conn, 'bookingdb');
  return results.flatMap((r) => r.violations.map((v) => `${r.check}: ${v}`));
}

/** Runs fn on one superuser connection inside a transaction that is always rolled back. */
async function rolledBack<T>(target: TestDatabase, fn: (conn: postgres.ReservedSql) => Promise<T>): Promise<T> {
  const conn = await target.sql.reserve();
  try {
    await conn.unsafe('BEGIN');
    return await fn(conn);
  } finally {
    await conn.unsafe('ROLLBACK').catch(() => undefined);
    conn.release();
  }
}

/** A LOGIN role created by the test itself (not through `roles create`), dropped after. */
async function withLogin<T>(target: TestDatabase, attrs: string, fn: (url: string, name: string) => Promise<T>): Promise<T> {
  const name = uniqueName('a2login');
  const password = `pw-${randomUUID()}`;
  await target.sql.unsafe(`create role ${name} login password '${password}' ${attrs}`);
  const u = new URL(target.url);
  u.username = name;
  u.password = password;
  const sql = postgres(u.toString(), { max: 1, onnotice: () => undefined });
  try {
    return await fn(u.toString(), name);
  } finally {
    await sql.end({ timeout: 5 });
    await target.sql.unsafe(`drop owned by ${name}`).catch(() => undefined);
    await target.sql.unsafe(`drop role if exists ${name}`);
  }
}

beforeAll(async () => {
  // A clone starts with the database-level defaults (CREATE DATABASE copies no
  // database ACL): a deploy re-asserts what bookingdb wants there.
  await deploy({ ...base, url: db.url });
  T = await createTenant(db.sql);
});

describe('post-deploy verification of privileges and ownership', () => {
  it('passes on a deployed database; the app login may not create anything, nor TEMP objects', async () => {
    expect(await violations()).toEqual([]);
    const [r] = await db.sql`select has_database_privilege('public', current_database(), 'TEMP') as public_temp,
      has_database_privilege(${appRole}, current_database(), 'TEMP') as app_temp,
      has_schema_privilege('public', 'public', 'CREATE') as public_create`;
    expect(r).toEqual({ public_temp: false, app_temp: false, public_create: false });
    for (const q of ['create temp table x (a int)', 'create function public.f() returns int language sql as $$ select 1 $$',
      'create table booking.x (a int)', 'create table ops.x (a int)', 'create function ext.f() returns int language sql as $$ select 1 $$']) {
      expect((await pgError(app.unsafe(q))).code, q).toBe('42501');
    }
  });

  it('names CREATE on public or a bookingdb schema for PUBLIC, for bookingdb_app, and through a role it is a member of', async () => {
    const found = await rolledBack(db, async (conn) => {
      await conn.unsafe('grant create on schema public to public');
      await conn.unsafe('grant create on schema booking to bookingdb_app');
      const mid = uniqueName('a2mid');
      await conn.unsafe(`create role ${mid} nologin; grant create on schema ext to ${mid}; grant ${mid} to bookingdb_app`);
      const v = await violations(conn);
      return v.map((x) => x.replaceAll(mid, 'MID'));
    });
    expect(found).toEqual(expect.arrayContaining([
      expect.stringMatching(/PUBLIC may CREATE in schema public .*fix: REVOKE CREATE ON SCHEMA public FROM PUBLIC/),
      expect.stringMatching(/bookingdb_app may CREATE in schema booking .*fix: REVOKE CREATE ON SCHEMA booking FROM bookingdb_app/),
      expect.stringMatching(/bookingdb_app may CREATE in schema ext .*through MID.*fix: REVOKE CREATE ON SCHEMA ext FROM MID/),
    ]));
  });

  it('names TEMP on the database for PUBLIC or the app', async () => {
    const found = await rolledBack(db, async (conn) => {
      await conn.unsafe(`grant temporary on database ${db.name} to public`);
      await conn.unsafe(`grant temporary on database ${db.name} to bookingdb_app`);
      return violations(conn);
    });
    expect(found).toEqual(expect.arrayContaining([
      expect.stringMatching(new RegExp(`PUBLIC has TEMPORARY on database ${db.name}\\b.*fix: REVOKE TEMPORARY ON DATABASE ${db.name} FROM PUBLIC`)),
      expect.stringMatching(new RegExp(`bookingdb_app has TEMPORARY on database ${db.name}\\b.*fix: REVOKE TEMPORARY ON DATABASE ${db.name} FROM bookingdb_app`)),
    ]));
  });

  it('names objects in bookingdb schemas or public not owned by bookingdb_owner; extension objects are not named', async () => {
    const found = await rolledBack(db, async (conn) => {
      await conn.unsafe('create table booking.rogue (a int)');
      await conn.unsafe('create function ops.rogue(numeric) returns int language sql as $$ select 1 $$');
      await conn.unsafe('create type public.rogue_t as (a int)');
      await conn.unsafe('create sequence ext.rogue_seq');
      await conn.unsafe('create view public.rogue_v as select 1 as a');
      return violations(conn);
    });
    const ownership = found.filter((v) => v.startsWith('object-ownership:'));
    expect(ownership).toEqual(expect.arrayContaining([
      expect.stringMatching(/table booking\.rogue is owned by postgres, not bookingdb_owner .*ALTER TABLE booking\.rogue OWNER TO bookingdb_owner/),
      expect.stringMatching(/function ops\.rogue\(numeric\) is owned by postgres.*DROP FUNCTION ops\.rogue\(numeric\)/),
      expect.stringMatching(/type public\.rogue_t is owned by postgres/),
      expect.stringMatching(/sequence ext\.rogue_seq is owned by postgres/),
      expect.stringMatching(/view public\.rogue_v is owned by postgres/),
    ]));
    expect(ownership).toHaveLength(5); // the extensions' own objects in ext (owned by postgres) are not named
  });

  it('names LOGIN members of bookingdb_app, direct or nested, that are superuser or BYPASSRLS', async () => {
    const names = { bypass: uniqueName('a2bypass'), sup: uniqueName('a2super'), mid: uniqueName('a2mid'), plain: uniqueName('a2plain') };
    const found = await rolledBack(db, async (conn) => {
      await conn.unsafe(`create role ${names.bypass} login bypassrls in role bookingdb_app`);
      await conn.unsafe(`create role ${names.mid} nologin in role bookingdb_app`);
      await conn.unsafe(`create role ${names.sup} login superuser in role ${names.mid}`);
      await conn.unsafe(`create role ${names.plain} nologin bypassrls in role bookingdb_app`);
      return violations(conn);
    });
    expect(found).toEqual(expect.arrayContaining([
      expect.stringMatching(new RegExp(`${names.bypass} is a LOGIN member of bookingdb_app and has BYPASSRLS .*fix: ALTER ROLE ${names.bypass} NOBYPASSRLS`)),
      expect.stringMatching(new RegExp(`${names.sup} is a LOGIN member of bookingdb_app \\(through ${names.mid}\\) and is a superuser .*fix: ALTER ROLE ${names.sup} NOSUPERUSER`)),
    ]));
    expect(found.join('\n')).not.toContain(names.plain); // not a LOGIN role
  });

  it('the planted public.setseed(numeric) attack: verification and a real deploy name it; the function is never called', async () => {
    const target = await createTestDatabase();
    // a pg_upgrade'd cluster: PUBLIC may still CREATE in public
    await target.sql.unsafe('grant create on schema public to public');
    const login = await createLogin(target, 'app');
    const attacker = postgres(login.url, { max: 1, onnotice: () => undefined });
    try {
      await attacker.unsafe(`create function public.setseed(numeric) returns void language sql
        as $$ alter role ${login.name} superuser $$`);
    } finally {
      await attacker.end({ timeout: 5 });
    }
    const found = await violations(target.sql);
    expect(found).toEqual(expect.arrayContaining([
      expect.stringMatching(/PUBLIC may CREATE in schema public/),
      expect.stringMatching(new RegExp(`function public\\.setseed\\(numeric\\) is owned by ${login.name}, not bookingdb_owner .*DROP FUNCTION public\\.setseed\\(numeric\\)`)),
    ]));
    const r = await runCli(['deploy', '--database-url', target.url]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/function public\.setseed\(numeric\) is owned by/);
    expect(r.stderr).toMatch(/rolled back/);
    const [role] = await target.sql`select rolsuper from pg_roles where rolname = ${login.name}`;
    expect(role.rolsuper).toBe(false);
    // once the planted function is gone, deploy passes and takes CREATE on public away from PUBLIC
    await target.sql.unsafe('drop function public.setseed(numeric)');
    const ok = await deploy({ ...base, url: target.url });
    expect(ok.verification.every((v) => v.status === 'ok')).toBe(true);
    const [after] = await target.sql`select has_schema_privilege('public', 'public', 'CREATE') as c`;
    expect(after.c).toBe(false);
  });
});

describe('audit-log partitions', () => {
  it('every partition has RLS enabled and forced and the tenant policy, also ones created later; rows are still moved out of the default partition', async () => {
    const target = await createTestDatabase();
    await target.sql.unsafe(`revoke temporary on database "${target.name}" from public`); // as a deploy would
    const tenant = await createTenant(target.sql);
    // a row for a month six months ahead lands in the default partition
    await target.sql`insert into ops.audit_log (tenant_id, occurred_at, action, entity)
      values (${tenant.tenantId}, date_trunc('month', now() at time zone 'UTC') at time zone 'UTC' + interval '6 months 1 day', 'test.moved', 'test')`;
    const [{ n }] = await target.sql`select ops.ensure_audit_partitions(8) as n`;
    expect(n).toBeGreaterThan(0);
    const parts = await target.sql`select c.oid::regclass::text as name, c.relrowsecurity as enabled, c.relforcerowsecurity as forced,
        (select count(*)::int from pg_policy p where p.polrelid = c.oid and p.polname = 'tenant_isolation') as policies
      from pg_inherits i join pg_class c on c.oid = i.inhrelid where i.inhparent = 'ops.audit_log'::regclass order by 1`;
    expect(parts.length).toBeGreaterThan(8);
    expect(parts.filter((p) => !(p.enabled && p.forced && p.policies === 1)).map((p) => p.name)).toEqual([]);
    const [moved] = await target.sql`select tableoid::regclass::text as part from ops.audit_log where action = 'test.moved'`;
    expect(moved.part).toMatch(/^ops\.audit_log_y\d{4}m\d{2}$/);
    expect(await violations(target.sql)).toEqual([]);
  });

  it('verification names a partition whose RLS was switched off', async () => {
    const found = await rolledBack(db, async (conn) => {
      await conn.unsafe('alter table ops.audit_log_default no force row level security');
      return violations(conn);
    });
    expect(found).toEqual(expect.arrayContaining([expect.stringMatching(
      /^rls-forced: ops\.audit_log_default: row level security is not forced \(fix: ALTER TABLE ops\.audit_log_default FORCE ROW LEVEL SECURITY\)$/)]));
  });
});

describe('the columns the app may write', () => {
  it('the app cannot set customers.anonymized_at or last_booking_at (undoing an erasure, escaping retention)', async () => {
    const c = T.customers[0];
    for (const q of [
      `update booking.customers set anonymized_at = null where id = $1`,
      `update booking.customers set last_booking_at = now() + interval '100 years' where id = $1`,
      `update booking.customers set tenant_id = tenant_id where id = $1`,
      `update booking.customers set id = id where id = $1`,
      `update booking.customers set created_at = now() where id = $1`,
    ]) {
      expect((await pgError(inTenant(app, T.tenantId, (tx) => tx.unsafe(q, [c])))).code, q).toBe('42501');
    }
    const e = await pgError(inTenant(app, T.tenantId, (tx) => tx`insert into booking.customers (tenant_id, full_name, last_booking_at)
      values (${T.tenantId}, 'Imported', now() + interval '100 years')`));
    expect(e.code).toBe('42501');
  });

  it('what a real app does still works: create and edit customers, locations, resources, services, hours and time off', async () => {
    const t = T.tenantId;
    await inTenant(app, t, async (tx) => {
      const [cust] = await tx`insert into booking.customers (tenant_id, email, full_name, phone) values (${t}, 'new@example.com', 'New Customer', '+1 555 0100') returning id`;
      const up = await tx`update booking.customers set email = 'renamed@example.com', full_name = 'Renamed', phone = null where id = ${cust.id}`;
      expect(up.count).toBe(1);
      const [loc] = await tx`insert into booking.locations (tenant_id, name, timezone) values (${t}, 'Second shop', 'Europe/Berlin') returning id`;
      await tx`update booking.locations set name = 'Second shop (old town)', timezone = 'Europe/Vienna' where id = ${loc.id}`;
      const id = randomUUID(); // client-generated ids work too
      await tx`insert into booking.resources (tenant_id, id, location_id, kind, name) values (${t}, ${id}, ${loc.id}, 'staff', 'Kim')`;
      await tx`update booking.resources set active = false, name = 'Kim (left)', location_id = ${T.locationId} where id = ${id}`;
      const [svc] = await tx`insert into booking.services (tenant_id, name, duration, price_cents) values (${t}, 'Beard', '30 minutes', 1500) returning id`;
      await tx`update booking.services set price_cents = 1800, active = false, buffer_after = '5 minutes' where id = ${svc.id}`;
      await tx`insert into booking.service_resources (tenant_id, service_id, resource_id) values (${t}, ${svc.id}, ${id})`;
      const [wh] = await tx`insert into booking.working_hours (tenant_id, resource_id, weekday, starts_local, ends_local) values (${t}, ${id}, 1, '09:00', '12:00') returning id`;
      await tx`update booking.working_hours set ends_local = '13:00' where id = ${wh.id}`;
      const [off] = await tx`insert into booking.time_off (tenant_id, resource_id, during, reason)
        values (${t}, ${id}, tstzrange(now() + interval '10 days', now() + interval '11 days'), 'holiday') returning id`;
      await tx`update booking.time_off set reason = 'conference' where id = ${off.id}`;
    });
  });

  it('grants exactly the documented column lists', async () => {
    const rows = await db.sql`
      select c.relname as t, p.priv, string_agg(a.attname, ',' order by a.attnum) as cols
        from pg_class c join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
        cross join unnest(array['INSERT', 'UPDATE']) as p(priv)
       where c.relnamespace = 'booking'::regnamespace and c.relkind = 'r'
         and has_column_privilege('bookingdb_app', c.oid, a.attnum, p.priv)
       group by 1, 2 order by 1, 2`;
    expect(Object.fromEntries(rows.map((r) => [`${r.t} ${r.priv}`, r.cols]))).toEqual({
      'customers INSERT': 'tenant_id,id,email,full_name,phone',
      'customers UPDATE': 'email,full_name,phone',
      'locations INSERT': 'tenant_id,id,name,timezone',
      'locations UPDATE': 'name,timezone',
      'resources INSERT': 'tenant_id,id,location_id,kind,name,active',
      'resources UPDATE': 'location_id,kind,name,active',
      'service_resources INSERT': 'tenant_id,service_id,resource_id',
      'service_resources UPDATE': 'service_id,resource_id',
      'services INSERT': 'tenant_id,id,name,duration,buffer_before,buffer_after,slot_step,price_cents,currency,active',
      'services UPDATE': 'name,duration,buffer_before,buffer_after,slot_step,price_cents,currency,active',
      'time_off INSERT': 'tenant_id,id,resource_id,during,reason',
      'time_off UPDATE': 'during,reason',
      'working_hours INSERT': 'tenant_id,id,resource_id,weekday,starts_local,ends_local',
      'working_hours UPDATE': 'weekday,starts_local,ends_local',
    });
  });
});

describe('time zones are IANA names', () => {
  const refused = ['PST', 'UTC+99', '<+1345>-13:45', '', 'europe/berlin', 'EST5EDT,M3.2.0,M11.1.0'];
  const accepted = ['Europe/Berlin', 'UTC', 'America/New_York', 'Asia/Kathmandu'];

  it('locations (as the app) and tenants refuse abbreviations and POSIX strings with 23514, and accept IANA names', async () => {
    for (const tz of refused) {
      const e = await pgError(inTenant(app, T.tenantId, (tx) => tx`insert into booking.locations (tenant_id, name, timezone) values (${T.tenantId}, 'x', ${tz})`));
      expect(e.code, `location ${JSON.stringify(tz)}`).toBe('23514');
      const u = await pgError(inTenant(app, T.tenantId, (tx) => tx`update booking.locations set timezone = ${tz} where id = ${T.locationId}`));
      expect(u.code, `location update ${JSON.stringify(tz)}`).toBe('23514');
      const t = await pgError(db.sql`insert into booking.tenants (slug, name, timezone) values (${'tz-' + randomUUID().slice(0, 8)}, 'x', ${tz})`);
      expect(t.code, `tenant ${JSON.stringify(tz)}`).toBe('23514');
    }
    for (const tz of accepted) {
      await inTenant(app, T.tenantId, (tx) => tx`insert into booking.locations (tenant_id, name, timezone) values (${T.tenantId}, ${'at ' + tz}, ${tz})`);
      await db.sql`insert into booking.tenants (slug, name, timezone) values (${'tz-' + randomUUID().slice(0, 8)}, 'x', ${tz})`;
    }
  });

  it('the migration fixes case-only differences and refuses to go on over other non-IANA zones, naming each row', async () => {
    const target = await createTestDatabase();
    // revert 0006 and whatever came after it (later migrations are re-applied by the deploy below)
    const [{ n }] = await target.sql`select count(*)::int as n from ops.pgmigrations where name >= '0006'`;
    const down = await migrate('down', { ...base, url: target.url, count: n });
    expect(down.map((m) => m.name).at(-1)).toBe('0006_tighter_grants');
    const tenant = await createTenant(target.sql, { tz: 'Europe/Berlin' });
    // accepted before the fix
    const [bad] = await target.sql`insert into booking.locations (tenant_id, name, timezone) values (${tenant.tenantId}, 'pst shop', 'PST') returning id`;
    await target.sql`insert into booking.locations (tenant_id, name, timezone) values (${tenant.tenantId}, 'lower', 'europe/berlin')`;
    await target.sql`update booking.tenants set timezone = 'UTC+99' where id = ${tenant.tenantId}`;
    const r = await runCli(['deploy', '--database-url', target.url]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain('0006_tighter_grants');
    expect(r.stderr).toContain(`booking.tenants ${tenant.slug}: 'UTC+99'`);
    expect(r.stderr).toContain(`booking.locations ${bad.id} (tenant ${tenant.slug}): 'PST'`);
    expect(r.stderr).not.toContain('europe/berlin');
    await target.sql`update booking.locations set timezone = 'America/Los_Angeles' where id = ${bad.id}`;
    await target.sql`update booking.tenants set timezone = 'Etc/GMT-12' where id = ${tenant.tenantId}`;
    await deploy({ ...base, url: target.url });
    // 'europe/berlin' became 'Europe/Berlin'; the fixed rows stay as set
    const zones = await target.sql`select timezone from booking.locations where tenant_id = ${tenant.tenantId}`;
    expect(zones.map((z) => z.timezone).sort()).toEqual(['America/Los_Angeles', 'Europe/Berlin', 'Europe/Berlin']);
  });
});
