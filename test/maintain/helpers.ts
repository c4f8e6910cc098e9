import type postgres from 'postgres';

/** The audit-log partition name of the UTC month `offset` months from now. */
export async function partitionName(sql: postgres.Sql, offset: number): Promise<string> {
  const [r] = await sql`select 'audit_log_' || to_char(date_trunc('month', now() at time zone 'UTC') + make_interval(months => ${offset}::int), '"y"YYYY"m"MM') as n`;
  return String(r.n);
}

/** The UTC start of the month `offset` months from now, as timestamptz text. */
export async function monthStart(sql: postgres.Sql, offset: number): Promise<string> {
  const [r] = await sql`select ((date_trunc('month', now() at time zone 'UTC') + make_interval(months => ${offset}::int)) at time zone 'UTC')::text as t`;
  return String(r.t);
}

/** The monthly partitions of ops.audit_log, by name. */
export async function auditPartitions(sql: postgres.Sql): Promise<string[]> {
  const rows = await sql`select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid
    where i.inhparent = 'ops.audit_log'::regclass order by 1`;
  return rows.map((r) => String(r.relname));
}

/** What a dry run must leave alone: partitions, bookings by status, waitlist, runs, snapshots, audit rows. */
export async function snapshot(sql: postgres.Sql): Promise<unknown> {
  const [counts] = await sql`select
      (select count(*) from ops.runs)::int as runs,
      (select count(*) from ops.metric_snapshots)::int as snapshots,
      (select count(*) from ops.audit_log)::int as audit,
      (select count(*) from ops.audit_log_default)::int as audit_default,
      (select json_object_agg(status, n) from (select status, count(*) n from booking.bookings group by status) s) as bookings,
      (select json_object_agg(status, n) from (select status, count(*) n from booking.waitlist_entries group by status) s) as waitlist`;
  return { partitions: await auditPartitions(sql), ...counts };
}
