import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ReservedSql, Sql } from 'postgres';
import { quoteLiteral } from '../db/ident.js';
import { BookingDbError, preconditionError } from '../errors.js';
import { packageRoot } from '../paths.js';

/**
 * `bookingdb deploy --citus`: the calls that distribute a deployed database on Citus,
 * generated from its catalog (sql/queries/deploy/citus-objects.sql), never from a list:
 * - `create_reference_table` for the booking tables without tenant_id (booking.tenants,
 *   whose UNIQUE (slug) cannot include a distribution column; lookups), first;
 * - `create_distributed_table(t, 'tenant_id', colocate_with => root)` for every table
 *   with tenant_id, referenced tables before the tables that point at them; the root
 *   (the first in that order) gets `colocate_with => 'none'` (a new colocation group),
 *   every other table is colocated with it, so a tenant's rows of every table share a node;
 * - `create_distributed_function(f, '$1', colocate_with => root)` for every API function
 *   (SECURITY DEFINER in booking, first argument p_tenant_id: sql/verify/citus-invariants.sql),
 *   so a call runs on the tenant's node.
 * The other ops tables stay local on the coordinator. The statements are unqualified, as
 * Citus's docs write them (its functions live in pg_catalog).
 */
export interface CitusObject {
  kind: 'reference' | 'distributed' | 'function';
  name: string;
  refs: string[];
}

export interface CitusPlan {
  reference: string[];
  distributed: string[];
  functions: string[];
  /** The table every distributed table and function is colocated with. */
  root: string;
  statements: string[];
}

const QUERY = join(packageRoot, 'sql', 'queries', 'deploy', 'citus-objects.sql');

export async function readCitusObjects(sql: Sql | ReservedSql): Promise<CitusObject[]> {
  const rows = await sql.unsafe(readFileSync(QUERY, 'utf8'));
  return rows.map((r) => ({ kind: r.kind, name: String(r.name), refs: (r.refs as string[]) ?? [] }));
}

/** Tables ordered so that each comes after the listed tables it references (name order among equals). */
export function orderByReferences(tables: CitusObject[]): string[] {
  const pending = new Map(tables.map((t) => [t.name, new Set(t.refs.filter((r) => r !== t.name))]));
  const names = new Set(pending.keys());
  const ordered: string[] = [];
  while (pending.size > 0) {
    const ready = [...pending.entries()].filter(([, refs]) => [...refs].every((r) => !names.has(r) || ordered.includes(r)))
      .map(([name]) => name).sort();
    if (ready.length === 0) {
      throw new BookingDbError('citus_cycle', `foreign keys form a cycle among ${[...pending.keys()].join(', ')}: citus cannot distribute them in any order`, {
        hint: 'break the cycle (a nullable key set after both rows exist), then run deploy --citus again',
      });
    }
    for (const name of ready) { ordered.push(name); pending.delete(name); }
  }
  return ordered;
}

export function planCitus(objects: CitusObject[]): CitusPlan {
  const of = (kind: CitusObject['kind']) => objects.filter((o) => o.kind === kind);
  const reference = orderByReferences(of('reference'));
  const distributed = orderByReferences(of('distributed'));
  const functions = of('function').map((f) => f.name).sort();
  if (distributed.length === 0) {
    throw preconditionError('citus_nothing', 'the database has no table with tenant_id to distribute', 'run `bookingdb deploy` first, then deploy --citus');
  }
  const root = distributed[0];
  const statements = [
    ...reference.map((t) => `SELECT create_reference_table(${quoteLiteral(t)});`),
    ...distributed.map((t) => `SELECT create_distributed_table(${quoteLiteral(t)}, 'tenant_id', colocate_with => ${quoteLiteral(t === root ? 'none' : root)});`),
    ...functions.map((f) => `SELECT create_distributed_function(${quoteLiteral(f)}, '$1', colocate_with => ${quoteLiteral(root)});`),
  ];
  return { reference, distributed, functions, root, statements };
}

/** The plan of the database `sql` is connected to. */
export async function citusPlan(sql: Sql | ReservedSql): Promise<CitusPlan> {
  return planCitus(await readCitusObjects(sql));
}

/** Whether the server offers the citus extension, and the created one's version. */
export async function citusState(sql: Sql | ReservedSql): Promise<{ available: boolean; version?: string }> {
  const [row] = await sql`select e.extversion,
                                 exists (select 1 from pg_catalog.pg_available_extensions a where a.name = 'citus') as available
                            from (select 1) one left join pg_catalog.pg_extension e on e.extname = 'citus'`;
  return { available: Boolean(row.available), ...(row.extversion ? { version: String(row.extversion) } : {}) };
}

/** Exit 4 when the server has no citus extension: the plan is printed, nothing is run. */
export function citusMissingError(plan: CitusPlan, available: boolean, details: Record<string, unknown> = {}): BookingDbError {
  return new BookingDbError('citus_missing', `the citus extension is ${available ? 'available but not created' : 'not installed'} on this server: printed the ${plan.statements.length} statements, ran none`, {
    exitCode: 4,
    hint: available
      ? 'add citus first to shared_preload_libraries, restart, CREATE EXTENSION citus on the coordinator, add the workers (citus_add_node), then run deploy --citus again'
      : 'install Citus on the coordinator and the workers (https://docs.citusdata.com), or run the printed statements there',
    details: { ...details, citus: plan },
  });
}

/**
 * Runs the plan on a Citus coordinator, skipping what is already distributed (so a
 * rerun after an interruption finishes the job). Each call is its own transaction:
 * create_distributed_table copies the table's rows to the shards.
 */
export async function applyCitusPlan(sql: Sql, plan: CitusPlan, log: (m: string) => void = () => undefined): Promise<string[]> {
  const tables = new Set((await sql`select logicalrelid::regclass::text as name from pg_catalog.pg_dist_partition`).map((r) => String(r.name)));
  const functions = new Set((await sql`select objid::regprocedure::text as name from pg_catalog.pg_dist_object
                                         where classid = 'pg_catalog.pg_proc'::regclass and distribution_argument_index is not null`).map((r) => String(r.name)));
  const ran: string[] = [];
  const names = [...plan.reference, ...plan.distributed, ...plan.functions];
  for (const [i, statement] of plan.statements.entries()) {
    if (tables.has(names[i]) || functions.has(names[i])) continue;
    log(statement);
    await sql.unsafe(statement);
    ran.push(statement);
  }
  return ran;
}
