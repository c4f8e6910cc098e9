import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createTestDatabase, uniqueName } from '../helpers/database.js';
import { copyPackage, runCli } from '../helpers/cli.js';

function asUser(url: string, user: string, password: string): string {
  const u = new URL(url);
  u.username = user;
  u.password = password;
  return u.toString();
}

describe('deploy without superuser', () => {
  it('a login in bookingdb_owner can apply a new migration; objects stay owned by bookingdb_owner', async () => {
    const db = await createTestDatabase();
    // What the superuser's first deploy of this database did (a clone, like a restore
    // into a new database, does not keep database ACLs); a member of the owner role
    // cannot revoke it, and verification would name it.
    await db.sql.unsafe(`revoke temporary on database "${db.name}" from public`);
    const name = uniqueName('deployer');
    await db.sql.unsafe(`create role ${name} login password 'deployer-pw-1' in role bookingdb_owner`);
    const pkg = await copyPackage();
    writeFileSync(join(pkg.dir, 'migrations/0960_owner_deploy.sql'),
      '-- Up Migration\nCREATE TABLE booking.owner_probe (tenant_id uuid NOT NULL, id uuid NOT NULL, PRIMARY KEY (tenant_id, id));\n-- Down Migration\nDROP TABLE booking.owner_probe;\n');
    const r = await runCli(['deploy', '--json', '--database-url', asUser(db.url, name, 'deployer-pw-1')], { bin: pkg.bin });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).applied.migrations.map((m: { name: string }) => m.name)).toEqual(['0960_owner_deploy']);
    expect(await db.sql`select pg_get_userbyid(relowner) as o, relforcerowsecurity as forced from pg_class where oid = 'booking.owner_probe'::regclass`)
      .toEqual([{ o: 'bookingdb_owner', forced: true }]);
    await db.sql.unsafe(`drop owned by ${name}; drop role ${name}`);
  });

  it('a login outside bookingdb_owner is refused before anything changes (exit 4)', async () => {
    const db = await createTestDatabase();
    const name = uniqueName('outsider');
    await db.sql.unsafe(`create role ${name} login password 'outsider-pw-1'`);
    const r = await runCli(['deploy', '--database-url', asUser(db.url, name, 'outsider-pw-1')]);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/not a superuser and cannot act as bookingdb_owner/);
    expect(r.stderr).not.toContain('outsider-pw-1');
    await db.sql.unsafe(`drop role ${name}`);
  });
});

describe('repeatable files that run as bookingdb_ops', () => {
  const probe = `-- bookingdb: run as ops
CREATE OR REPLACE FUNCTION ops.probe_tenant_count() RETURNS bigint
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$ SELECT pg_catalog.count(*) FROM booking.tenants $$;
`;

  it('are owned by bookingdb_ops, see every tenant, and PUBLIC cannot execute them', async () => {
    const db = await createTestDatabase();
    await db.sql`insert into booking.tenants (slug, name) values ('ops-probe-a', 'A'), ('ops-probe-b', 'B')`;
    const pkg = await copyPackage();
    writeFileSync(join(pkg.dir, 'sql/schema/50-ops/900-probe.sql'), probe);
    const r = await runCli(['deploy', '--database-url', db.url], { bin: pkg.bin });
    expect(r.code, r.stderr).toBe(0);
    const [fn] = await db.sql`select pg_get_userbyid(proowner) as owner, has_function_privilege('public', oid, 'EXECUTE') as public_exec
                                from pg_proc where oid = 'ops.probe_tenant_count()'::regprocedure`;
    expect(fn).toEqual({ owner: 'bookingdb_ops', public_exec: false });
    // the function sees both tenants although the owner role (under FORCE RLS) sees none
    await db.sql.unsafe('grant execute on function ops.probe_tenant_count() to bookingdb_owner');
    const counts = await db.sql.begin(async (tx) => {
      await tx.unsafe('set local role bookingdb_owner');
      const [direct] = await tx`select count(*)::int as n from booking.tenants`;
      const [viaOps] = await tx`select ops.probe_tenant_count()::int as n`;
      return { direct: direct.n, viaOps: viaOps.n };
    });
    expect(counts).toEqual({ direct: 0, viaOps: 2 });
  });

  it('a deploy by a login in bookingdb_owner that must change one stops with exit 4 and changes nothing', async () => {
    const db = await createTestDatabase();
    const name = uniqueName('deployer');
    await db.sql.unsafe(`create role ${name} login password 'deployer-pw-2' in role bookingdb_owner`);
    const pkg = await copyPackage();
    writeFileSync(join(pkg.dir, 'sql/schema/50-ops/900-probe.sql'), probe);
    const r = await runCli(['deploy', '--database-url', asUser(db.url, name, 'deployer-pw-2')], { bin: pkg.bin });
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toMatch(/sql\/schema\/50-ops\/900-probe\.sql must be applied as bookingdb_ops/);
    expect(await db.sql`select to_regprocedure('ops.probe_tenant_count()') as f`).toEqual([{ f: null }]);
    await db.sql.unsafe(`drop owned by ${name}; drop role ${name}`);
  });
});
