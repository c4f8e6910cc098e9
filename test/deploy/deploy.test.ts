import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import postgres from 'postgres';
import { describe, expect, it } from 'vitest';
import { deploy } from '../../src/deploy/deploy.js';
import { createTestDatabase, pool, uniqueName, adminUrl } from '../helpers/database.js';
import { withDatabase } from '../../src/db/url.js';
import { copyPackage, runCli } from '../helpers/cli.js';

const base = { rolePrefix: 'bookingdb', lockWaitSeconds: 60, lockTimeoutMs: 5000, connectTimeoutSeconds: 10 };

/** Everything a deploy could change, as one comparable snapshot. */
async function catalogSnapshot(sql: postgres.Sql): Promise<string> {
  const rows = await sql`
    select 'rel' as k, n.nspname || '.' || c.relname || ':' || c.relkind::text || ':' || c.relrowsecurity::text || c.relforcerowsecurity::text as v
      from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast')
    union all select 'proc', p.oid::regprocedure::text || md5(p.prosrc) from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname not in ('pg_catalog', 'information_schema')
    union all select 'pol', polname || polrelid::regclass::text from pg_policy
    union all select 'ext', extname || extversion from pg_extension
    union all select 'acl', coalesce(relacl::text, '') || relname from pg_class where relnamespace::regnamespace::text in ('booking', 'ops')
    union all select 'ledger', coalesce((select string_agg(name || coalesce(sha256, ''), ',') from ops.pgmigrations), '')
    order by 1, 2`;
  return rows.map((r) => `${r.k} ${r.v}`).join('\n');
}

describe('deploy', () => {
  it('creates a missing database, deploys everything, and verifies it', async () => {
    const db = await createTestDatabase({ empty: true });
    const receipt = await deploy({ ...base, url: db.url });
    expect(receipt.applied.databaseCreated).toBe(true);
    expect(receipt.applied.migrations.map((m) => m.name)).toContain('0001_foundation');
    expect(receipt.applied.migrations.every((m) => /^[0-9a-f]{64}$/.test(m.sha256))).toBe(true);
    expect(receipt.verification.length).toBeGreaterThanOrEqual(6);
    expect(receipt.verification.every((v) => v.status === 'ok')).toBe(true);
    expect(receipt.target).not.toContain(new URL(db.url).password || '\0');
    const [owner] = await db.sql`select pg_get_userbyid(relowner) as o from pg_class where oid = 'booking.tenants'::regclass`;
    expect(owner.o).toBe('bookingdb_owner');
    const ext = await db.sql`select extname, extnamespace::regnamespace::text as ns from pg_extension where extname <> 'plpgsql' order by 1`;
    expect(ext.map((e) => `${e.extname}@${e.ns}`)).toEqual(['btree_gist@ext', 'pg_stat_statements@ext', 'pg_trgm@ext', 'pgcrypto@ext']);
  });

  it('a no-op redeploy applies nothing and takes no ACCESS EXCLUSIVE lock on any table', async () => {
    const db = await createTestDatabase();
    const holder = pool(db.url, 1);
    const tables = await db.sql`select format('%I.%I', schemaname, tablename) as t from pg_tables where schemaname in ('booking', 'ops')`;
    // Hold ACCESS SHARE on every table (what any SELECT takes): ACCESS EXCLUSIVE would wait.
    const release = holder.begin(async (tx) => {
      for (const { t } of tables) await tx.unsafe(`lock table ${t} in access share mode`);
      await tx`select pg_sleep(3)`;
    });
    await new Promise((r) => setTimeout(r, 300));
    const receipt = await deploy({ ...base, url: db.url, lockTimeoutMs: 500, attempts: 1 });
    expect(receipt.noop).toBe(true);
    expect(receipt.applied.migrations).toEqual([]);
    expect(receipt.applied.repeatable).toEqual([]);
    await release;
  });

  it('two concurrent deploys of a new database: both succeed, each migration is applied once', async () => {
    const db = await createTestDatabase({ empty: true });
    const [a, b] = await Promise.all([deploy({ ...base, url: db.url }), deploy({ ...base, url: db.url })]);
    const applied = [...a.applied.migrations, ...b.applied.migrations].map((m) => m.name);
    expect(new Set(applied).size).toBe(applied.length);
    const ledger = await db.sql`select name, count(*)::int as n from ops.pgmigrations group by name`;
    expect(ledger.every((r) => r.n === 1)).toBe(true);
    expect(ledger.length).toBe(applied.length);
  });

  it('--dry-run on a new database shows the plan and creates nothing', async () => {
    const name = uniqueName('bktest');
    const url = withDatabase(adminUrl(), name);
    const receipt = await deploy({ ...base, url, dryRun: true });
    expect(receipt.plan.createDatabase).toBe(true);
    expect(receipt.plan.migrations.length).toBeGreaterThan(0);
    const admin = pool(adminUrl(), 1);
    expect(await admin`select 1 from pg_database where datname = ${name}`).toHaveLength(0);
  });

  it('--dry-run with a pending migration and a changed repeatable file changes nothing', async () => {
    const db = await createTestDatabase();
    const pkg = await copyPackage();
    writeFileSync(join(pkg.dir, 'migrations/0900_dry_run_probe.sql'), '-- Up Migration\nCREATE TABLE booking.dry_probe (tenant_id uuid NOT NULL, id uuid PRIMARY KEY);\n-- Down Migration\nDROP TABLE booking.dry_probe;\n');
    appendFileSync(join(pkg.dir, 'sql/schema/10-tenancy/010-current-tenant-id.sql'), '\n-- touched\n');
    const before = await catalogSnapshot(db.sql);
    const r = await runCli(['deploy', '--dry-run', '--json', '--database-url', db.url], { bin: pkg.bin });
    expect(r.code, r.stderr).toBe(0);
    const receipt = JSON.parse(r.stdout);
    expect(receipt.plan.migrations.map((m: { name: string }) => m.name)).toEqual(['0900_dry_run_probe']);
    expect(receipt.plan.repeatable.map((f: { file: string }) => f.file)).toContain('10-tenancy/010-current-tenant-id.sql');
    expect(await catalogSnapshot(db.sql)).toBe(before);
  });

  it('refuses to deploy when an applied migration changed, naming the file (exit 1)', async () => {
    const db = await createTestDatabase();
    const pkg = await copyPackage();
    appendFileSync(join(pkg.dir, 'migrations/0001_foundation.sql'), '\n-- an innocent-looking edit\n');
    const before = await catalogSnapshot(db.sql);
    for (const args of [['deploy'], ['migrate', 'up'], ['migrate', 'verify']]) {
      const r = await runCli([...args, '--database-url', db.url], { bin: pkg.bin });
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(1);
      expect(r.stderr + r.stdout).toContain('0001_foundation.sql');
      expect(r.stderr + r.stdout).toMatch(/changed after it was applied/);
    }
    expect(await catalogSnapshot(db.sql)).toBe(before);
    // A CRLF checkout of the same file is not an edit.
    const crlf = await copyPackage();
    const file = join(crlf.dir, 'migrations/0001_foundation.sql');
    const { readFileSync } = await import('node:fs');
    writeFileSync(file, readFileSync(file, 'utf8').replace(/\n/g, '\r\n'));
    const ok = await runCli(['migrate', 'verify', '--database-url', db.url], { bin: crlf.bin });
    expect(ok.code, ok.stderr).toBe(0);
  });

  it('a failing verification rolls the whole deploy back and names each violation', async () => {
    const db = await createTestDatabase();
    const pkg = await copyPackage();
    // A new tenant table whose RLS the migration then explicitly disables after policies run.
    writeFileSync(join(pkg.dir, 'migrations/0901_bad_table.sql'), '-- Up Migration\nCREATE TABLE booking.leaky (tenant_id uuid NOT NULL, id uuid, PRIMARY KEY (tenant_id, id));\n-- Down Migration\nDROP TABLE booking.leaky;\n');
    writeFileSync(join(pkg.dir, 'sql/schema/99-zz-unforce.sql'), 'ALTER TABLE booking.leaky NO FORCE ROW LEVEL SECURITY;\nCREATE OR REPLACE FUNCTION ops.leaky_fn() RETURNS int LANGUAGE sql SECURITY DEFINER AS $$ SELECT 1 $$;\nGRANT EXECUTE ON FUNCTION ops.leaky_fn() TO PUBLIC;\n');
    const before = await catalogSnapshot(db.sql);
    const r = await runCli(['deploy', '--database-url', db.url], { bin: pkg.bin });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('booking.leaky: row level security is not forced');
    expect(r.stderr).toMatch(/ops\.leaky_fn\(\): SECURITY DEFINER without a pinned search_path/);
    expect(r.stderr).toMatch(/ops\.leaky_fn\(\): EXECUTE is granted to PUBLIC/);
    expect(r.stderr).toMatch(/rolled back/);
    expect(await catalogSnapshot(db.sql)).toBe(before);
  });
});

describe('deploy with another role prefix', () => {
  it('two databases deployed at once race to create the same new roles; both succeed and use the prefix', async () => {
    const prefix = uniqueName('bkt');
    const [a, b] = [await createTestDatabase({ empty: true }), await createTestDatabase({ empty: true })];
    const [ra, rb] = await Promise.all([deploy({ ...base, rolePrefix: prefix, url: a.url }), deploy({ ...base, rolePrefix: prefix, url: b.url })]);
    expect(ra.verification.every((v) => v.status === 'ok')).toBe(true);
    expect(rb.verification.every((v) => v.status === 'ok')).toBe(true);
    for (const db of [a, b]) {
      const [owner] = await db.sql`select pg_get_userbyid(relowner) as o from pg_class where oid = 'booking.bookings'::regclass`;
      expect(owner.o).toBe(`${prefix}_owner`);
      const [grant] = await db.sql`select has_function_privilege(${`${prefix}_app`}, 'booking.book(uuid,uuid,uuid,uuid,timestamptz,text,interval)', 'EXECUTE') as ok`;
      expect(grant.ok).toBe(true);
      expect(await db.sql`select 1 from pg_roles where rolname like 'bookingdb\\_%' and pg_has_role(rolname, ${`${prefix}_app`}, 'MEMBER')`).toHaveLength(0);
    }
    const roles = await a.sql`select rolname, rolbypassrls, rolcanlogin from pg_roles where rolname like ${prefix + '\\_%'} order by 1`;
    // all NOLOGIN; only the backup and ops groups bypass RLS
    expect(roles.map((r) => `${r.rolname}:${r.rolbypassrls}:${r.rolcanlogin}`)).toEqual(
      ['app:false', 'backup:true', 'monitor:false', 'ops:true', 'owner:false', 'reporting:false'].map((s) => `${prefix}_${s}:false`));
    // clean up: the databases go with the file; the roles are cluster-wide
    await Promise.all([a.sql.end(), b.sql.end()]);
    const admin = pool(adminUrl(), 1);
    for (const db of [a, b]) await admin.unsafe(`drop database "${db.name}" with (force)`);
    for (const kind of ['app', 'reporting', 'backup', 'monitor', 'ops', 'owner']) await admin.unsafe(`drop role "${prefix}_${kind}"`);
  });
});
