import type { Row, RowList, Sql, TransactionSql } from 'postgres';
import type { TxMode } from './options.js';
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
 * One call in the tenant, sent one of two ways (--tx):
 * - `statement` (the default): one statement, so one round trip and its own implicit
 *   transaction, the set_config(..., true) in a subquery the call takes the tenant id
 *   from (c.t: it runs first, and is local to the statement's transaction, so it is
 *   safe behind PgBouncer in transaction pooling too). How an app should send a call
 *   that needs nothing else in its transaction; a booking's locks go at its own commit.
 * - `explicit`: BEGIN, then the set_config and the call sent together (postgres.js
 *   pipelines the queries a transaction callback returns as an array), then COMMIT:
 *   three round trips, as an app that writes its own rows in the same transaction; the
 *   resource lock a booking takes is held until the app's COMMIT arrives.
 * A call is written as its select list and an optional FROM item, with `$1::uuid` for
 * the tenant; resolves to the call's rows.
 */
interface CallSql {
  cols: string;
  from?: string;
}

const TENANT = '$1::uuid';

function statementSql(c: CallSql): string {
  const t = (x: string) => x.split(TENANT).join('c.t');
  return `select ${t(c.cols)} from (select pg_catalog.set_config('app.tenant_id', $1, true)::uuid as t) as c`
    + (c.from ? ` cross join lateral ${t(c.from)}` : '');
}

function caller(sql: Sql, tx: TxMode, prepare: boolean) {
  return (c: CallSql, params: unknown[]): Promise<RowList<Row[]>> => {
    if (tx === 'statement') return sql.unsafe(statementSql(c), params as never[], { prepare });
    const text = `select ${c.cols}${c.from ? ` from ${c.from}` : ''}`;
    return sql.begin((t: TransactionSql) => [
      t.unsafe('select pg_catalog.set_config(\'app.tenant_id\', $1, true)', [params[0]] as never[], { prepare }),
      t.unsafe(text, params as never[], { prepare }),
    ]).then((results) => (results as unknown as RowList<Row[]>[])[1]);
  };
}

const toSlots = (rows: readonly Record<string, unknown>[]): Slot[] =>
  rows.map((r) => ({ resourceId: r.resource_id as string, startMs: (r.starts_at as Date).getTime() }));

/**
 * The four calls on the functions in `schema` (booking, or the anchor's), both systems
 * sent the same way; they differ only in the extra arguments of the anchor's cancel
 * (no reason) and reschedule (it takes the service, for the buffers).
 */
function callsOn(sql: Sql, reads: Sql, schema: string, anchor: boolean, tx: TxMode, prepare: boolean): SystemCalls {
  const write = caller(sql, tx, prepare);
  const read = caller(reads, tx, prepare);
  const q = {
    availability: { cols: 's.resource_id, s.starts_at', from: `${schema}.available_slots(${TENANT}, $2::uuid, $3::timestamptz, $4::timestamptz, $5::uuid[]) as s` },
    book: { cols: `${schema}.book(${TENANT}, $2::uuid, $3::uuid, $4::uuid, $5::timestamptz) as id` },
    cancel: { cols: anchor ? `${schema}.cancel(${TENANT}, $2::uuid)` : `${schema}.cancel(${TENANT}, $2::uuid, 'bench')` },
    reschedule: { cols: anchor ? `${schema}.reschedule(${TENANT}, $2::uuid, $5::uuid, $3::timestamptz, $4::uuid)`
      : `${schema}.reschedule(${TENANT}, $2::uuid, $3::timestamptz, $4::uuid)` },
  };
  return {
    availability: (t, from, to) => read(q.availability, [t.tenantId, t.serviceId, from, to, t.resources]).then(toSlots),
    book: (t, s, customer) => write(q.book, [t.tenantId, t.serviceId, s.resourceId, customer, new Date(s.startMs)]).then((rows) => rows[0].id as string),
    cancel: (t, id) => write(q.cancel, [t.tenantId, id]).then(() => undefined),
    reschedule: (t, id, s) => write(q.reschedule, [t.tenantId, id, new Date(s.startMs), s.resourceId, ...(anchor ? [t.serviceId] : [])])
      .then(() => undefined),
  };
}

/** booking.* as the app calls it. `reads` serves availability (a replica, or the primary). */
export function procedureCalls(sql: Sql, reads: Sql, tx: TxMode, prepare: boolean): SystemCalls {
  return callsOn(sql, reads, 'booking', false, tx, prepare);
}

/** The anchor's bare functions in its scratch schema (see ./anchor.ts), called the same way. */
export function anchorCalls(sql: Sql, reads: Sql, schema: string, tx: TxMode, prepare: boolean): SystemCalls {
  return callsOn(sql, reads, quoteIdent(schema), true, tx, prepare);
}

/** A system with its own copy of the free slots found at the start. */
export function newSystem(name: System['name'], calls: SystemCalls, free: Slot[][], allocations: string): System {
  return { name, calls, free: free.map((f) => new SlotPool(f)), made: free.map(() => []), allocations };
}
