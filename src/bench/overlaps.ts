import type { Sql } from 'postgres';

/**
 * The end-of-run proof: no two active allocations of one resource overlap among the
 * rows the run could have touched (the benched tenants and resources, around the
 * window). A self-join on `&&` with the same tenant and resource, through the admin
 * connection (which sees every tenant); `a` ranges over the window widened by a day
 * each side (allocations are shorter than a day), so a pair with either row in the
 * window is found, each pair once (a.id < b.id). Works on any table with the columns of
 * booking.booking_allocations (tenant_id, id, resource_id, blocked, active, starts,
 * ends): the real one, the anchor's copy, or a crafted one in a test.
 */
export interface Overlap {
  tenantId: string;
  resourceId: string;
  a: string;
  b: string;
  aBlocked: string;
  bBlocked: string;
}

export interface OverlapScope {
  tenants: string[];
  resources: string[];
  from: Date;
  to: Date;
}

/** `table` is a trusted, already quoted name (e.g. booking.booking_allocations). */
export async function findOverlaps(admin: Sql, table: string, scope: OverlapScope): Promise<{ checked: number; overlaps: Overlap[] }> {
  return admin.begin(async (tx) => {
    await tx.unsafe("SET LOCAL statement_timeout = '120s'; SET LOCAL lock_timeout = '5s'");
    const params = [scope.tenants, scope.resources, scope.from, scope.to] as never[];
    const inScope = `a.tenant_id = ANY ($1::uuid[]) AND a.resource_id = ANY ($2::uuid[]) AND a.active
                     AND a.starts < $4::timestamptz + interval '1 day' AND a.ends > $3::timestamptz - interval '1 day'`;
    const [{ n }] = await tx.unsafe(`SELECT pg_catalog.count(*)::bigint AS n FROM ${table} a WHERE ${inScope}`, params);
    const rows = await tx.unsafe(`
      SELECT a.tenant_id, a.resource_id, a.id AS a_id, b.id AS b_id, a.blocked::text AS a_blocked, b.blocked::text AS b_blocked
        FROM ${table} a
        JOIN ${table} b ON b.tenant_id = a.tenant_id AND b.resource_id = a.resource_id AND b.active
                       AND b.id > a.id AND b.blocked && a.blocked
       WHERE ${inScope}
       LIMIT 100`, params);
    return {
      checked: Number(n),
      overlaps: rows.map((r) => ({
        tenantId: r.tenant_id, resourceId: r.resource_id, a: r.a_id, b: r.b_id, aBlocked: r.a_blocked, bBlocked: r.b_blocked,
      })),
    };
  });
}
