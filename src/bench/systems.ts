import type { PendingQuery, Row, RowList, Sql, TransactionSql } from 'postgres';
import { quoteIdent } from '../db/ident.js';
import { SlotPool, type Slot } from './slots.js';
import type { Target } from './targets.js';

/**
 * A system under test: the procedures (booking.*) or the anchor's baseline, called the
 * same way (one transaction per call, tenant set with set_config(..., true) first, as
 * the app does through PgBouncer). Both take their inputs from the run's one offer
 * stream (./offers.ts); each keeps its own state: the free slots it is known to have
 * and the bookings this run made in it, so cancel and reschedule act on this run's
 * bookings in that system.
 */
export interface Booked extends Slot {
  id: string;
}

export interface SystemCalls {
  availability(t: Target, from: Date, to: Date): Promise<Slot[]>;
  book(t: Target, slot: Slot, customer: string): Promise<string>;
  cancel(t: Target, id: string): Promise<void>;
  reschedule(t: Target, id: string, slot: Slot): Promise<void>;
}

export interface System {
  name: 'procedures' | 'anchor';
  calls: SystemCalls;
  /** Per target (same order as the targets): free slots, bookings made. */
  free: SlotPool[];
  made: Booked[][];
  /** Allocation table for the overlap proof (quoted). */
  allocations: string;
}

/**
 * One transaction in the tenant: BEGIN, then the set_config and the call sent together
 * (postgres.js pipelines the queries a transaction callback returns as an array: one
 * round trip for both, as an app would write it), then COMMIT. Resolves to the call's rows.
 */
function inTenant(sql: Sql, tenantId: string, call: (tx: TransactionSql) => PendingQuery<Row[]>): Promise<RowList<Row[]>> {
  return sql.begin((tx) => [
    tx`select pg_catalog.set_config('app.tenant_id', ${tenantId}, true)`,
    call(tx),
  ]).then((results) => (results as unknown as RowList<Row[]>[])[1]);
}

/**
 * A read in the tenant as one statement, so one round trip and its own implicit
 * transaction: the set_config(..., true) in a subquery the call takes the tenant id
 * from (LATERAL: it runs first, and is local to this statement's transaction). This is
 * how an app should send a read that needs nothing else in its transaction (also
 * behind PgBouncer in transaction pooling); writes keep the explicit transaction above,
 * as an app that writes its own rows with the booking does.
 */
const TENANT_SUBQUERY = `(select pg_catalog.set_config('app.tenant_id', $1, true)::uuid as t) as c`;

const toSlots = (rows: readonly Record<string, unknown>[]): Slot[] =>
  rows.map((r) => ({ resourceId: r.resource_id as string, startMs: (r.starts_at as Date).getTime() }));

/** booking.* as the app calls it. `reads` serves availability (a replica, or the primary). */
export function procedureCalls(sql: Sql, reads: Sql, prepare: boolean): SystemCalls {
  return {
    availability: (t, from, to) => reads.unsafe(`select s.resource_id, s.starts_at from ${TENANT_SUBQUERY}
        cross join lateral booking.available_slots(c.t, $2::uuid, $3::timestamptz, $4::timestamptz, $5::uuid[]) as s`,
      [t.tenantId, t.serviceId, from, to, t.resources] as never[], { prepare }).then(toSlots),
    book: (t, s, customer) => inTenant(sql, t.tenantId, (tx) => tx`select booking.book(${t.tenantId}::uuid, ${t.serviceId}::uuid, ${s.resourceId}::uuid,
        ${customer}::uuid, ${new Date(s.startMs)}::timestamptz) as id`).then((rows) => rows[0].id as string),
    cancel: (t, id) => inTenant(sql, t.tenantId, (tx) => tx`select booking.cancel(${t.tenantId}::uuid, ${id}::uuid, 'bench')`).then(() => undefined),
    reschedule: (t, id, s) => inTenant(sql, t.tenantId, (tx) =>
      tx`select booking.reschedule(${t.tenantId}::uuid, ${id}::uuid, ${new Date(s.startMs)}::timestamptz, ${s.resourceId}::uuid)`).then(() => undefined),
  };
}

/** The anchor's bare functions in its scratch schema (see ./anchor.ts). */
export function anchorCalls(sql: Sql, reads: Sql, schema: string, prepare: boolean): SystemCalls {
  const s = quoteIdent(schema);
  const q = {
    slots: `select s.resource_id, s.starts_at from ${TENANT_SUBQUERY}
      cross join lateral ${s}.available_slots(c.t, $2::uuid, $3::timestamptz, $4::timestamptz, $5::uuid[]) as s`,
    book: `select ${s}.book($1::uuid, $2::uuid, $3::uuid, $4::uuid, $5::timestamptz) as id`,
    cancel: `select ${s}.cancel($1::uuid, $2::uuid)`,
    reschedule: `select ${s}.reschedule($1::uuid, $2::uuid, $3::uuid, $4::timestamptz, $5::uuid)`,
  };
  const p = (...v: unknown[]) => v as never[];
  return {
    availability: (t, from, to) => reads.unsafe(q.slots, p(t.tenantId, t.serviceId, from, to, t.resources), { prepare }).then(toSlots),
    book: (t, slot, customer) => inTenant(sql, t.tenantId, (tx) =>
      tx.unsafe(q.book, p(t.tenantId, t.serviceId, slot.resourceId, customer, new Date(slot.startMs)), { prepare })).then((rows) => rows[0].id as string),
    cancel: (t, id) => inTenant(sql, t.tenantId, (tx) => tx.unsafe(q.cancel, p(t.tenantId, id), { prepare })).then(() => undefined),
    reschedule: (t, id, slot) => inTenant(sql, t.tenantId, (tx) =>
      tx.unsafe(q.reschedule, p(t.tenantId, id, t.serviceId, new Date(slot.startMs), slot.resourceId), { prepare })).then(() => undefined),
  };
}

/** A system with its own copy of the free slots found at the start. */
export function newSystem(name: System['name'], calls: SystemCalls, free: Slot[][], allocations: string): System {
  return { name, calls, free: free.map((f) => new SlotPool(f)), made: free.map(() => []), allocations };
}
