import type { Sql } from 'postgres';
import { BookingDbError, ExitCode } from '../errors.js';
import { slotQuery, type Slot } from './slots.js';

/**
 * What the bench works on, read once through the admin connection (which sees every
 * tenant): per tenant, the active service offered by the most active resources (at
 * most 20 of them: a salon's staff, a club's courts), up to 200 customers, and the
 * local days of the window (today and the coming `days - 1` days in the tenant's zone).
 * The grid is every slot of those days in working hours outside time off, taken or
 * not: a "random slot" is drawn from it, so a random booking is refused only because
 * the slot is taken (23P01), never for being outside hours (BK001).
 */
export interface Target {
  tenantId: string;
  slug: string;
  timezone: string;
  serviceId: string;
  serviceName: string;
  resources: string[];
  customers: string[];
  /** [from, to) of each local day of the window, ms since epoch. */
  days: Array<{ from: number; to: number }>;
  grid: Slot[];
}

export const MAX_RESOURCES = 20;

const TIMEOUTS = "SET LOCAL statement_timeout = '60s'; SET LOCAL lock_timeout = '5s'";

export async function loadTargets(admin: Sql, tenants: number, days: number): Promise<Target[]> {
  const rows = await admin.begin(async (tx) => {
    await tx.unsafe(TIMEOUTS);
    return tx`
      select t.id as tenant_id, t.slug, t.timezone, s.id as service_id, s.name,
             (array_agg(r.id order by r.name, r.id))[1:${MAX_RESOURCES}::int] as resources, count(*)::int as n
        from booking.tenants t
        join booking.services s on s.tenant_id = t.id and s.active
        join booking.service_resources sr on sr.tenant_id = s.tenant_id and sr.service_id = s.id
        join booking.resources r on r.tenant_id = sr.tenant_id and r.id = sr.resource_id and r.active
       group by t.id, t.slug, t.timezone, s.id, s.name
       order by count(*) desc, t.slug, s.name`;
  });
  const seen = new Set<string>();
  const picked = rows.filter((r) => !seen.has(r.tenant_id) && seen.add(r.tenant_id)).slice(0, tenants);
  if (picked.length === 0) {
    throw new BookingDbError('bench_no_data', 'the database has no tenant with an active service and resources to bench', {
      hint: 'seed demo data first: add --seed small (or run `bookingdb seed demo`)', exitCode: ExitCode.precondition,
    });
  }
  const targets: Target[] = [];
  for (const r of picked) {
    targets.push(await loadTarget(admin, r, days));
  }
  if (targets.every((t) => t.customers.length === 0)) {
    throw new BookingDbError('bench_no_data', 'the benched tenants have no customers to book for', {
      hint: 'seed demo data first: add --seed small (or run `bookingdb seed demo`)', exitCode: ExitCode.precondition,
    });
  }
  return targets.filter((t) => t.customers.length > 0);
}

async function loadTarget(admin: Sql, r: Record<string, any>, days: number): Promise<Target> {
  return admin.begin(async (tx) => {
    await tx.unsafe(TIMEOUTS);
    const customers = await tx`
      select id from booking.customers where tenant_id = ${r.tenant_id} and anonymized_at is null order by id limit 200`;
    const windows = await tx`
      select extract(epoch from ((now() at time zone ${r.timezone})::date + i)::timestamp at time zone ${r.timezone}) * 1000 as "from",
             extract(epoch from ((now() at time zone ${r.timezone})::date + i + 1)::timestamp at time zone ${r.timezone}) * 1000 as "to"
        from generate_series(0, ${days - 1}::int) as i`;
    const from = new Date(Number(windows[0].from));
    const to = new Date(Number(windows[windows.length - 1].to));
    const grid = await tx.unsafe(slotQuery({ tenant: '$1::uuid', service: '$2::uuid', from: '$3::timestamptz', to: '$4::timestamptz', resources: '$5::uuid[]' }),
      [r.tenant_id, r.service_id, from, to, r.resources] as never[]);
    return {
      tenantId: r.tenant_id,
      slug: r.slug,
      timezone: r.timezone,
      serviceId: r.service_id,
      serviceName: r.name,
      resources: r.resources as string[],
      customers: customers.map((c) => c.id as string),
      days: windows.map((w) => ({ from: Number(w.from), to: Number(w.to) })),
      grid: grid.map((g) => ({ resourceId: g.resource_id as string, startMs: (g.starts_at as Date).getTime() })),
    };
  });
}

/** The time range every target's window covers (for the overlap proof and the anchor copy). */
export function windowOf(targets: Target[]): { from: Date; to: Date } {
  return {
    from: new Date(Math.min(...targets.map((t) => t.days[0].from))),
    to: new Date(Math.max(...targets.map((t) => t.days[t.days.length - 1].to))),
  };
}
