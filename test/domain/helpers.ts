import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { afterAll } from 'vitest';
import { createLoginRole } from '../../src/roles/login-roles.js';
import type { RoleKind } from '../../src/deploy/group-roles.js';
import { adminUrl, uniqueName, type TestDatabase } from '../helpers/database.js';

/**
 * Fixtures for the domain tests: LOGIN roles made the way `bookingdb roles create`
 * makes them, tenants with a catalogue (inserted as superuser, which bypasses RLS),
 * tenant-scoped transactions as the app runs them, and the booking API as calls.
 */

export type Sql = postgres.Sql;
export type Tx = postgres.TransactionSql;

/** A LOGIN member of bookingdb_<kind> (created by the real roles code) and its URL. */
export async function createLogin(db: TestDatabase, kind: RoleKind): Promise<{ name: string; password: string; url: string }> {
  const { name, password } = await createLoginRole(db.sql, 'bookingdb', kind, uniqueName(`t${kind}`));
  afterAll(async () => {
    const admin = postgres(adminUrl(), { max: 1, onnotice: () => undefined });
    try {
      await admin.unsafe(`drop role if exists "${name}"`);
    } catch {
      // still connected from an unfinished pool: the role is harmless without a database
    } finally {
      await admin.end();
    }
  });
  const u = new URL(db.url);
  u.username = name;
  u.password = password;
  return { name, password, url: u.toString() };
}

/** A pool of `max` connections logged in as a fresh member of bookingdb_app. */
export async function appPool(db: TestDatabase, max = 4): Promise<{ sql: Sql; role: string }> {
  const login = await createLogin(db, 'app');
  const sql = postgres(login.url, { max, onnotice: () => undefined, idle_timeout: 20 });
  afterAll(async () => { await sql.end({ timeout: 5 }); });
  return { sql, role: login.name };
}

/** One unit of work of the app: a transaction scoped to a tenant with set_config(..., true). */
export function inTenant<T>(sql: Sql, tenantId: string | null, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return sql.begin(async (tx) => {
    if (tenantId !== null) await tx`select set_config('app.tenant_id', ${tenantId}, true)`;
    return fn(tx);
  }) as Promise<T>;
}

/** The error a promise rejects with; fails the test if it resolves. */
export async function pgError(p: Promise<unknown>): Promise<postgres.PostgresError> {
  try {
    await p;
  } catch (e) {
    return e as postgres.PostgresError;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

/** Settles a promise into {ok, value} or {ok: false, code, message}, for race tests. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; code: string; message: string };
export function settle<T>(p: Promise<T>): Promise<Outcome<T>> {
  return p.then(
    (value) => ({ ok: true as const, value }),
    (e: unknown) => {
      const err = e as { code?: string; message?: string };
      return { ok: false as const, code: String(err.code ?? 'no-code'), message: String(err.message ?? e) };
    },
  );
}

// ---------------------------------------------------------------- time

/** The UTC calendar date `days` from today, as YYYY-MM-DD (far enough ahead to be future everywhere). */
export function futureDate(days: number): string {
  return new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
}

/** The ISO weekday (1 = Monday .. 7 = Sunday) of a YYYY-MM-DD date. */
export function isoWeekday(date: string): number {
  const d = new Date(`${date}T12:00:00Z`).getUTCDay();
  return d === 0 ? 7 : d;
}

/** A wall-clock time on a date at a fixed UTC offset ('+05:30'), as an instant. */
export function at(date: string, time: string, offset: string): Date {
  return new Date(`${date}T${time}:00${offset}`);
}

export function addMinutes(d: Date, minutes: number): Date {
  return new Date(d.getTime() + minutes * 60_000);
}

export function iso(d: Date): string {
  return d.toISOString();
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

// ---------------------------------------------------------------- fixtures

export interface ServiceSpec {
  duration: string;
  bufferBefore?: string;
  bufferAfter?: string;
  slotStep?: string | null;
  priceCents?: number;
  active?: boolean;
}

export interface TenantOptions {
  /** Time zone of the tenant's one location (default Asia/Kolkata: +05:30, no DST). */
  tz?: string;
  resources?: number;
  /** Working blocks [start, end) in local time, on every weekday in `weekdays`. */
  hours?: Array<[string, string]>;
  weekdays?: number[];
  /** Services by name; every resource offers every service. Default: one 60-minute 'cut'. */
  services?: Record<string, ServiceSpec>;
  customers?: number;
}

export interface TenantFixture {
  tenantId: string;
  slug: string;
  tz: string;
  locationId: string;
  resources: string[];
  resourceNames: string[];
  services: Record<string, string>;
  customers: string[];
}

/** A tenant with one location, resources with weekly hours, services and customers. */
export async function createTenant(sql: Sql, options: TenantOptions = {}): Promise<TenantFixture> {
  const tenantId = randomUUID();
  const slug = `t-${tenantId.slice(0, 8)}`;
  const tz = options.tz ?? 'Asia/Kolkata';
  const hours = options.hours ?? [['09:00', '17:00']];
  const weekdays = options.weekdays ?? [1, 2, 3, 4, 5, 6, 7];
  const specs = options.services ?? { cut: { duration: '60 minutes' } };
  await sql`insert into booking.tenants (id, slug, name, timezone) values (${tenantId}, ${slug}, ${'Tenant ' + slug}, ${tz})`;
  const [loc] = await sql`insert into booking.locations (tenant_id, name, timezone) values (${tenantId}, 'Main street', ${tz}) returning id`;
  const resourceNames = Array.from({ length: options.resources ?? 2 }, (_, i) => `Chair ${i + 1} of ${slug}`);
  const resources: string[] = [];
  for (const name of resourceNames) {
    resources.push(await addResource(sql, tenantId, loc.id, name, { hours, weekdays }));
  }
  const services: Record<string, string> = {};
  for (const [name, spec] of Object.entries(specs)) {
    services[name] = await addService(sql, tenantId, name, spec, resources);
  }
  const customers: string[] = [];
  for (let i = 0; i < (options.customers ?? 6); i++) {
    const [c] = await sql`insert into booking.customers (tenant_id, email, full_name, phone)
      values (${tenantId}, ${`c${i}@${slug}.example`}, ${`Customer ${i} of ${slug}`}, '+49 30 1234567') returning id`;
    customers.push(c.id);
  }
  return { tenantId, slug, tz, locationId: loc.id, resources, resourceNames, services, customers };
}

/** A resource with weekly hours; returns its id. */
export async function addResource(sql: Sql, tenantId: string, locationId: string, name: string,
  opts: { hours?: Array<[string, string]>; weekdays?: number[]; active?: boolean; kind?: string } = {}): Promise<string> {
  const [r] = await sql`insert into booking.resources (tenant_id, location_id, kind, name, active)
    values (${tenantId}, ${locationId}, ${opts.kind ?? 'chair'}, ${name}, ${opts.active ?? true}) returning id`;
  for (const weekday of opts.weekdays ?? [1, 2, 3, 4, 5, 6, 7]) {
    for (const [start, end] of opts.hours ?? [['09:00', '17:00']]) {
      await sql`insert into booking.working_hours (tenant_id, resource_id, weekday, starts_local, ends_local)
        values (${tenantId}, ${r.id}, ${weekday}, ${start}, ${end})`;
    }
  }
  return r.id;
}

/** A service offered by the given resources; returns its id. */
export async function addService(sql: Sql, tenantId: string, name: string, spec: ServiceSpec, resourceIds: string[]): Promise<string> {
  const [s] = await sql`insert into booking.services
      (tenant_id, name, duration, buffer_before, buffer_after, slot_step, price_cents, active)
    values (${tenantId}, ${name}, ${spec.duration}::interval, ${spec.bufferBefore ?? '0'}::interval,
            ${spec.bufferAfter ?? '0'}::interval, ${spec.slotStep ?? null}::interval, ${spec.priceCents ?? 2500},
            ${spec.active ?? true}) returning id`;
  for (const rid of resourceIds) {
    await sql`insert into booking.service_resources (tenant_id, service_id, resource_id) values (${tenantId}, ${s.id}, ${rid})`;
  }
  return s.id;
}

// ---------------------------------------------------------------- the API as calls

export interface Slot { resource_id: string; starts_at: Date; ends_at: Date }

/** The booking API of one tenant as the app calls it: one tenant-scoped transaction per call. */
export function bookingApi(app: Sql, tenantId: string) {
  const run = <T>(fn: (tx: Tx) => Promise<T>) => inTenant(app, tenantId, fn);
  return {
    run,
    async book(a: { service: string; resource: string; customer: string; start: Date; key?: string | null; hold?: string | null; asTenant?: string }): Promise<string> {
      return run(async (tx) => {
        const [r] = await tx`select booking.book(${a.asTenant ?? tenantId}, ${a.service}, ${a.resource}, ${a.customer},
          ${a.start}, ${a.key ?? null}, ${a.hold ?? null}::interval) as id`;
        return r.id as string;
      });
    },
    confirm: (id: string | null) => run((tx) => tx`select booking.confirm(${tenantId}, ${id})`),
    cancel: (id: string | null, reason: string | null = null) => run((tx) => tx`select booking.cancel(${tenantId}, ${id}, ${reason})`),
    reschedule: (id: string | null, start: Date | null, resource: string | null = null) =>
      run((tx) => tx`select booking.reschedule(${tenantId}, ${id}, ${start}, ${resource})`),
    async joinWaitlist(a: { service: string | null; customer: string | null; from: Date; to: Date; resource?: string | null }): Promise<string> {
      return run(async (tx) => {
        const [r] = await tx`select booking.join_waitlist(${tenantId}, ${a.service}, ${a.customer},
          tstzrange(${a.from}::timestamptz, ${a.to}::timestamptz), ${a.resource ?? null}) as id`;
        return r.id as string;
      });
    },
    slots(service: string | null, from: Date | null, to: Date | null, resourceIds: string[] | null = null): Promise<Slot[]> {
      return run(async (tx) => (await tx`select resource_id, starts_at, ends_at
          from booking.available_slots(${tenantId}, ${service}, ${from}, ${to}, ${resourceIds}::uuid[])`) as unknown as Slot[]);
    },
  };
}

/** A booking row as the app role sees it. */
export interface BookingRow {
  id: string; status: string; resource_id: string; customer_id: string; service_id: string;
  starts: Date; ends: Date; hold_expires_at: Date | null; cancelled_at: Date | null;
  cancel_reason: string | null; idempotency_key: string | null; price_cents: number;
  allocations: { resource_id: string; starts: Date; ends: Date; active: boolean }[];
}

export async function readBooking(app: Sql, tenantId: string, id: string): Promise<BookingRow | undefined> {
  return inTenant(app, tenantId, async (tx) => {
    const [b] = await tx`select id, status, resource_id, customer_id, service_id, lower(during) as starts, upper(during) as ends,
        hold_expires_at, cancelled_at, cancel_reason, idempotency_key, price_cents
      from booking.bookings where id = ${id}`;
    const allocations = await tx`select resource_id, lower(blocked) as starts, upper(blocked) as ends, active
      from booking.booking_allocations where booking_id = ${id} order by active desc`;
    return b ? ({ ...b, allocations } as unknown as BookingRow) : undefined;
  });
}

/** Start times (ISO) of the slots of one resource. */
export function startsOf(slots: Slot[], resourceId?: string): string[] {
  return slots.filter((s) => !resourceId || s.resource_id === resourceId).map((s) => s.starts_at.toISOString());
}
