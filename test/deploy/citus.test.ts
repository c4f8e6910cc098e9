import { beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { runCli } from '../helpers/cli.js';
import { citusPlan, orderByReferences, type CitusPlan } from '../../src/deploy/citus.js';

// deploy --citus without Citus: the generated calls are checked by their invariants
// against the catalog, and executed against citus-like stubs (same names and argument
// lists as Citus 12's, checking what Citus checks: the table and the distribution column
// exist, a colocation target is already distributed with the same column type, a
// referenced table is distributed first, the function's $1 has that type).
let db: TestDatabase;
let plan: CitusPlan;
beforeAll(async () => {
  db = await createTestDatabase();
  plan = await citusPlan(db.sql);
});

const STUBS = `
CREATE SCHEMA citus_stub;
CREATE TABLE citus_stub.dist (rel regclass PRIMARY KEY, kind text NOT NULL, col_type regtype, colocated_with regclass, seq serial);
CREATE TABLE citus_stub.funcs (fn regprocedure PRIMARY KEY, arg_type regtype NOT NULL, colocated_with regclass NOT NULL);
CREATE FUNCTION citus_stub.assert_refs_done(t regclass) RETURNS void LANGUAGE plpgsql AS $$
DECLARE missing regclass;
BEGIN
  SELECT c.confrelid INTO missing FROM pg_catalog.pg_constraint c
   WHERE c.conrelid = t AND c.contype = 'f' AND c.confrelid <> t
     AND NOT EXISTS (SELECT 1 FROM citus_stub.dist d WHERE d.rel = c.confrelid) LIMIT 1;
  IF missing IS NOT NULL THEN RAISE EXCEPTION '% references %, which is not distributed yet', t, missing; END IF;
  IF EXISTS (SELECT 1 FROM citus_stub.dist d WHERE d.rel = t) THEN RAISE EXCEPTION 'table % is already distributed', t; END IF;
END $$;
CREATE FUNCTION citus_stub.create_reference_table(table_name regclass) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  PERFORM citus_stub.assert_refs_done(table_name);
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_constraint c JOIN citus_stub.dist d ON d.rel = c.confrelid
              WHERE c.conrelid = table_name AND c.contype = 'f' AND d.kind <> 'reference') THEN
    RAISE EXCEPTION 'a reference table cannot reference a distributed table';
  END IF;
  INSERT INTO citus_stub.dist (rel, kind) VALUES (table_name, 'reference');
END $$;
CREATE FUNCTION citus_stub.create_distributed_table(table_name regclass, distribution_column text, distribution_type text DEFAULT 'hash',
                                                    colocate_with text DEFAULT 'default', shard_count int DEFAULT NULL) RETURNS void LANGUAGE plpgsql AS $$
DECLARE t regtype; target citus_stub.dist;
BEGIN
  SELECT a.atttypid::regtype INTO t FROM pg_catalog.pg_attribute a
   WHERE a.attrelid = table_name AND a.attname = distribution_column AND NOT a.attisdropped;
  IF t IS NULL THEN RAISE EXCEPTION 'column "%" of relation "%" does not exist', distribution_column, table_name; END IF;
  PERFORM citus_stub.assert_refs_done(table_name);
  IF colocate_with NOT IN ('none', 'default') THEN
    SELECT * INTO target FROM citus_stub.dist d WHERE d.rel = colocate_with::regclass AND d.kind = 'distributed';
    IF NOT FOUND THEN RAISE EXCEPTION 'cannot colocate with %: it is not distributed', colocate_with; END IF;
    IF target.col_type <> t THEN RAISE EXCEPTION 'cannot colocate tables % and %: distribution column types differ', table_name, colocate_with; END IF;
  END IF;
  INSERT INTO citus_stub.dist (rel, kind, col_type, colocated_with)
  VALUES (table_name, 'distributed', t, CASE WHEN colocate_with IN ('none', 'default') THEN table_name ELSE colocate_with::regclass END);
END $$;
CREATE FUNCTION citus_stub.create_distributed_function(function_name regprocedure, distribution_arg_name text DEFAULT NULL,
                                                       colocate_with text DEFAULT 'default', force_delegation bool DEFAULT NULL) RETURNS void LANGUAGE plpgsql AS $$
DECLARE n int := substr(distribution_arg_name, 2)::int; argtype regtype; target citus_stub.dist;
BEGIN
  SELECT p.proargtypes[n - 1]::regtype INTO argtype FROM pg_catalog.pg_proc p WHERE p.oid = function_name AND n BETWEEN 1 AND p.pronargs;
  IF argtype IS NULL THEN RAISE EXCEPTION 'cannot distribute the function % by argument %', function_name, distribution_arg_name; END IF;
  SELECT * INTO target FROM citus_stub.dist d WHERE d.rel = colocate_with::regclass AND d.kind = 'distributed';
  IF NOT FOUND OR target.col_type <> argtype THEN RAISE EXCEPTION 'cannot colocate function % with %', function_name, colocate_with; END IF;
  INSERT INTO citus_stub.funcs VALUES (function_name, argtype, target.rel);
END $$;`;

class Rollback extends Error {}

describe('deploy --citus: the generated calls', () => {
  it('name every booking table and every API function exactly once, tables with tenant_id distributed, the rest reference', async () => {
    const tables = await db.sql`
      select c.oid::regclass::text as name,
             exists (select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = 'tenant_id') as tenant
        from pg_class c where c.relnamespace = 'booking'::regnamespace and c.relkind in ('r', 'p') and not c.relispartition order by 1`;
    const api = await db.sql`select oid::regprocedure::text as name from pg_proc where pronamespace = 'booking'::regnamespace and prosecdef order by 1`;
    const mentioned = (name: string) => plan.statements.filter((s) => s.includes(`('${name}'`)).length;
    for (const t of tables) expect(mentioned(t.name), t.name).toBe(1);
    for (const f of api) expect(mentioned(f.name), f.name).toBe(1);
    expect(plan.reference.sort()).toEqual(tables.filter((t) => !t.tenant).map((t) => t.name));
    expect(plan.distributed.filter((t) => t.startsWith('booking.')).sort()).toEqual(tables.filter((t) => t.tenant).map((t) => t.name));
    expect(plan.distributed).toContain('ops.audit_log'); // the API writes it: it must live on the tenant's node
    expect(plan.reference).toContain('booking.tenants');
    expect(plan.functions).toEqual(api.map((f) => f.name));
    expect(api.map((f) => f.name)).toContain('booking.book(uuid,uuid,uuid,uuid,timestamp with time zone,text,interval)');
    expect(plan.statements).toHaveLength(plan.reference.length + plan.distributed.length + plan.functions.length);
  });

  it('colocate everything with one root, by tenant_id and $1', () => {
    const colocations = plan.statements.map((s) => /colocate_with => '([^']+)'/.exec(s)?.[1]).filter(Boolean);
    expect(colocations.filter((c) => c === 'none')).toHaveLength(1);
    expect(plan.statements).toContain(`SELECT create_distributed_table('${plan.root}', 'tenant_id', colocate_with => 'none');`);
    expect(new Set(colocations.filter((c) => c !== 'none'))).toEqual(new Set([plan.root]));
    expect(plan.statements.filter((s) => s.includes('create_distributed_table')).every((s) => s.includes("'tenant_id'"))).toBe(true);
    expect(plan.statements.filter((s) => s.includes('create_distributed_function')).every((s) => s.includes("'$1'"))).toBe(true);
  });

  it('run in order against citus-like stubs: names resolve, referenced tables go first, colocation types match', async () => {
    const result = await db.sql.begin(async (tx) => {
      await tx.unsafe(STUBS);
      await tx.unsafe('SET LOCAL search_path = citus_stub, pg_catalog');
      for (const statement of plan.statements) await tx.unsafe(statement);
      const dist = await tx`select rel::text, kind, colocated_with::text from citus_stub.dist order by seq`;
      const funcs = await tx`select fn::text, colocated_with::text from citus_stub.funcs order by 1`;
      throw Object.assign(new Rollback(), { dist, funcs });
    }).catch((error) => { if (error instanceof Rollback) return error as Rollback & { dist: any[]; funcs: any[] }; throw error; });
    expect(result.dist.map((d) => d.rel)).toEqual([...plan.reference, ...plan.distributed]);
    expect(new Set(result.dist.filter((d) => d.kind === 'distributed').map((d) => d.colocated_with))).toEqual(new Set([plan.root]));
    expect(result.funcs.map((f) => f.fn)).toEqual(plan.functions);
  });

  it('the stubs refuse what Citus would (so the run above proves something)', async () => {
    const refused = async (statement: string) => db.sql.begin(async (tx) => {
      await tx.unsafe(STUBS);
      await tx.unsafe('SET LOCAL search_path = citus_stub, pg_catalog');
      await tx.unsafe(statement);
    }).then(() => 'accepted', (error: Error) => error.message);
    expect(await refused("SELECT create_distributed_table('booking.bookings', 'tenant_id', colocate_with => 'none')")).toMatch(/references booking\.\w+, which is not distributed yet/);
    expect(await refused("SELECT create_distributed_table('booking.tenants', 'tenant_id')")).toMatch(/column "tenant_id" of relation "booking.tenants" does not exist/);
    expect(await refused("SELECT create_distributed_function('booking.confirm(uuid)', '$1', colocate_with => 'booking.customers')")).toMatch(/does not exist/);
  });

  it('orders tables after the tables they reference, and names a cycle', () => {
    expect(orderByReferences([{ kind: 'distributed', name: 'b', refs: ['a'] }, { kind: 'distributed', name: 'a', refs: ['x'] }])).toEqual(['a', 'b']);
    expect(() => orderByReferences([{ kind: 'distributed', name: 'a', refs: ['b'] }, { kind: 'distributed', name: 'b', refs: ['a'] }])).toThrow(/cycle among a, b/);
  });
});

describe('bookingdb deploy --citus', () => {
  it('--dry-run prints the calls and changes nothing (exit 0)', async () => {
    const r = await runCli(['deploy', '--citus', '--dry-run', '--json', '--database-url', db.url]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).citus.statements).toEqual(plan.statements);
  });

  it('without the citus extension prints the calls, then says so (exit 4)', async () => {
    const r = await runCli(['deploy', '--citus', '--yes', '--database-url', db.url]);
    expect(r.code).toBe(4);
    expect(r.stdout).toContain(plan.statements[0]);
    expect(r.stdout).toContain(plan.statements.at(-1));
    expect(r.stderr).toMatch(/error: the citus extension is not installed on this server: printed the \d+ statements, ran none/);
  });
});
