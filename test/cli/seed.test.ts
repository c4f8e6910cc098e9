import postgres from 'postgres';
import { describe, expect, it } from 'vitest';
import { createTestDatabase, uniqueName } from '../helpers/database.js';
import { runCli } from '../helpers/cli.js';
import { seedDemo } from '../../src/seed/demo.js';

/** `seed demo` says what it did, refuses junk sizes, and never runs a planted function. */
const SMALL = ['--tenants', '2', '--locations-per-tenant', '1', '--resources-per-location', '1', '--days', '2', '--bookings', '10'];

describe('seed demo reports', () => {
  it('re-seeding existing tenants says they were skipped, by count and slug', async () => {
    const db = await createTestDatabase();
    const first = await runCli(['seed', 'demo', ...SMALL, '--json', '--database-url', db.url]);
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ seeded: { tenants: 2 }, skipped: { tenants: 0, slugs: [] } });

    const again = await runCli(['seed', 'demo', ...SMALL, '--database-url', db.url]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/skipped 2 demo tenants that already exist/);
    expect(again.stderr).toContain('demo-berlin-salon-1');
    expect(again.stderr).toContain('demo-new-york-tennis-2');

    const json = await runCli(['seed', 'demo', ...SMALL.slice(0, -2), '--bookings', '0', '--tenants', '3', '--json', '--database-url', db.url]);
    expect(json.code, json.stderr).toBe(0);
    const doc = JSON.parse(json.stdout);
    expect(doc.seeded.tenants).toBe(1);
    expect(doc.skipped).toEqual({ tenants: 2, slugs: ['demo-berlin-salon-1', 'demo-new-york-tennis-2'] });
  });

  it('more bookings than fit is a warning with the capacity and what was seeded', async () => {
    const db = await createTestDatabase();
    const r = await runCli(['seed', 'demo', '--tenants', '1', '--locations-per-tenant', '1', '--resources-per-location', '1',
      '--days', '1', '--bookings', '100000', '--json', '--database-url', db.url]);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.seeded.bookings).toBeLessThan(100000);
    expect(doc.capacity).toBe(doc.seeded.bookings);
    expect(r.stderr).toMatch(new RegExp(`warning: .*100000 bookings.* only ${doc.capacity} fit.*seeded ${doc.seeded.bookings}`));
    expect(doc.warnings).toHaveLength(1);
  });

  it('a database that was never deployed is exit 4 saying to run deploy', async () => {
    const db = await createTestDatabase({ empty: true });
    const admin = postgres(db.adminUrl, { max: 1, onnotice: () => undefined });
    try {
      await admin.unsafe(`create database "${db.name}"`);
    } finally {
      await admin.end();
    }
    const r = await runCli(['seed', 'demo', ...SMALL, '--database-url', db.url]);
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toMatch(/bookingdb deploy/);
    expect(r.stderr).not.toMatch(/this is a bug/);
  });

  it('sizes are strict whole numbers in range: exit 2 naming the flag and the range', async () => {
    for (const [flag, value] of [['--tenants', '1e3'], ['--tenants', '0x10'], ['--days', '2.5'], ['--bookings', '-1'], ['--tenants', '0'], ['--tenants', '1001'], ['--resources-per-location', ' 3']]) {
      const r = await runCli(['seed', 'demo', flag, value, '--database-url', 'postgres://nobody@127.0.0.1:1/none']);
      expect(r.code, `${flag} ${value}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toContain(flag);
      expect(r.stderr).toMatch(/whole number from \d+ to \d+/);
    }
  });
});

describe('planted functions in public are never called by seed demo', () => {
  /**
   * PostgreSQL 14-style public schema: an app login plants functions that match the
   * seed SQL's unqualified calls better than pg_catalog's (setseed(numeric) for the
   * literal 0.42; unnest(integer[]) over the polymorphic one), which would make the
   * superuser running the seed grant the login SUPERUSER and leave a marker row.
   */
  async function plant(): Promise<{ db: Awaited<ReturnType<typeof createTestDatabase>>; attacker: string }> {
    const db = await createTestDatabase();
    const attacker = uniqueName('mallory');
    await db.sql.unsafe('grant create on schema public to public');
    await db.sql.unsafe(`create role ${attacker} login password 'mallory-pw' in role bookingdb_app`);
    await db.sql.unsafe(`grant connect on database "${db.name}" to ${attacker}`);
    const u = new URL(db.url);
    u.username = attacker;
    u.password = 'mallory-pw';
    const sql = postgres(u.toString(), { max: 1, onnotice: () => undefined });
    try {
      await sql.unsafe(`
        create table public.planted_marker (fn text, at timestamptz default now());
        grant insert on public.planted_marker to public;
        create function public.bk_escalate(fn text) returns void language plpgsql as $f$
        begin
          insert into public.planted_marker (fn) values (fn);
          execute format('alter role %I superuser', '${attacker}');
        end $f$;
        create function public.setseed(numeric) returns void language plpgsql as $f$
          begin perform public.bk_escalate('setseed'); end $f$;
        create function public.unnest(integer[]) returns setof integer language plpgsql as $f$
          begin perform public.bk_escalate('unnest'); return query select x from pg_catalog.unnest($1::int[]) x; end $f$;
        create function public.md5(text) returns text language plpgsql as $f$
          begin perform public.bk_escalate('md5'); return pg_catalog.md5($1); end $f$;`);
    } finally {
      await sql.end({ timeout: 1 });
    }
    return { db, attacker };
  }

  async function assertNotCalled(db: Awaited<ReturnType<typeof createTestDatabase>>, attacker: string): Promise<void> {
    expect(await db.sql`select fn from public.planted_marker`).toEqual([]);
    const [role] = await db.sql`select rolsuper from pg_roles where rolname = ${attacker}`;
    expect(role.rolsuper).toBe(false);
    expect((await db.sql`select count(*)::int as n from booking.tenants where slug like 'demo-%'`)[0].n).toBeGreaterThan(0);
    await db.sql.unsafe(`drop owned by ${attacker}; drop role ${attacker}`);
  }

  it('through the CLI (superuser connection)', async () => {
    const { db, attacker } = await plant();
    const r = await runCli(['seed', 'demo', ...SMALL, '--database-url', db.url]);
    expect(r.code, r.stderr).toBe(0);
    await assertNotCalled(db, attacker);
  });

  it('through the seed core on a connection with the default search_path ("$user", public)', async () => {
    const { db, attacker } = await plant();
    const sql = postgres(db.url, { max: 1, onnotice: () => undefined });
    try {
      const [{ search_path }] = await sql`show search_path`;
      expect(search_path).toMatch(/public/);
      await seedDemo(sql, { tenants: 2, locationsPerTenant: 1, resourcesPerLocation: 1, days: 2, bookings: 10 });
    } finally {
      await sql.end({ timeout: 1 });
    }
    await assertNotCalled(db, attacker);
  });
});
