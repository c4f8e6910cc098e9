import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Sql } from 'postgres';
import { BookingDbError, ExitCode } from '../errors.js';
import { paths } from '../paths.js';
import { parseInteger, type IntegerRange } from '../validate.js';

/** The size of a demo data set (`bookingdb seed demo` flags). */
export interface SeedOptions {
  tenants: number;
  locationsPerTenant: number;
  resourcesPerLocation: number;
  days: number;
  bookings: number;
}

/** What a seed run created (tenants that already existed are skipped, not counted). */
export interface SeedResult {
  tenants: number;
  locations: number;
  resources: number;
  services: number;
  customers: number;
  bookings: number;
  seconds: number;
}

/** A seed run: what it created, what it skipped, and how many bookings could fit. */
export interface SeedReport {
  seeded: SeedResult;
  /** Slugs of the demo tenants that already existed (left as they are). */
  skipped: string[];
  /** Bookings that fit the new tenants' hours and time off; seeded = min(requested, capacity). */
  capacity: number;
}

/** The allowed sizes, by option, with the flag that sets each. */
export const SEED_LIMITS: Record<keyof SeedOptions, IntegerRange & { flag: string }> = {
  tenants: { flag: '--tenants', min: 1, max: 1000 },
  locationsPerTenant: { flag: '--locations-per-tenant', min: 1, max: 50 },
  resourcesPerLocation: { flag: '--resources-per-location', min: 1, max: 200 },
  days: { flag: '--days', min: 1, max: 3650 },
  bookings: { flag: '--bookings', min: 0, max: 50_000_000 },
};

const SEEDED_TABLES = [
  'booking.tenants', 'booking.locations', 'booking.resources', 'booking.services',
  'booking.service_resources', 'booking.working_hours', 'booking.time_off', 'booking.customers',
  'booking.bookings', 'booking.booking_allocations', 'booking.payments', 'booking.waitlist_entries',
];

/**
 * Seeds realistic demo tenants (several time zones; salons, tennis clubs, clinics,
 * barbers, loc studios) with hours, time off, services, customers, payments, waitlist
 * entries and bookings over `days` local days (two thirds in the past). The SQL in
 * sql/seed/ generates everything server-side and set-based in one transaction, so a
 * million bookings take about a minute. Bookings are non-overlapping by construction.
 * Needs a superuser or BYPASSRLS connection (many tenants per statement); as
 * superuser it skips foreign-key triggers for speed, the data being consistent by
 * construction. Re-running skips the demo tenants that exist (and says which). Runs
 * with search_path = pg_catalog, pg_temp pinned for its transaction and on every seed
 * function, whatever the connection's search_path, so nothing planted in public runs
 * as the superuser. Exit 4 on a database that was never deployed. Never prints.
 */
export async function seedDemo(sql: Sql, options: SeedOptions): Promise<SeedReport> {
  validateOptions(options);
  const started = performance.now();
  const scripts = await readSeedScripts();

  const [deployed] = await sql`select pg_catalog.to_regclass('booking.tenants') is not null as ok`;
  if (!deployed?.ok) {
    throw new BookingDbError('not_deployed', 'the database has no bookingdb schema yet (booking.tenants is missing)', {
      hint: 'run `bookingdb deploy` first (or `bookingdb deploy --demo`, which deploys and seeds)',
      exitCode: ExitCode.precondition,
    });
  }

  const [role] = await sql<{ rolsuper: boolean; rolbypassrls: boolean }[]>`
    select rolsuper, rolbypassrls from pg_catalog.pg_roles where rolname = current_user`;
  if (!role || !(role.rolsuper || role.rolbypassrls)) {
    throw new BookingDbError('seed_needs_bypassrls',
      'seeding demo data needs a role that bypasses row-level security (superuser or BYPASSRLS)', {
        hint: 'run it with the deploy (superuser) connection: --database-url postgres://<superuser>@host/db',
        exitCode: ExitCode.precondition,
      });
  }

  const row = await sql.begin(async (tx) => {
    await tx.unsafe('SET LOCAL search_path = pg_catalog, pg_temp');
    if (role.rolsuper) await tx`set local session_replication_role = replica`;
    for (const text of scripts) await tx.unsafe(text);
    const [counts] = await tx<Record<string, string | string[]>[]>`
      select * from pg_temp.seed_demo(${options.tenants}::integer, ${options.locationsPerTenant}::integer,
                                      ${options.resourcesPerLocation}::integer, ${options.days}::integer,
                                      ${options.bookings}::bigint)`;
    return counts;
  });
  // fresh statistics, or the first availability queries plan against empty tables
  await sql.unsafe(`analyze ${SEEDED_TABLES.join(', ')}`);

  return {
    seeded: {
      tenants: Number(row.tenants),
      locations: Number(row.locations),
      resources: Number(row.resources),
      services: Number(row.services),
      customers: Number(row.customers),
      bookings: Number(row.bookings),
      seconds: Math.round((performance.now() - started) / 100) / 10,
    },
    skipped: (row.skipped as string[] | null) ?? [],
    capacity: Number(row.capacity),
  };
}

/** Exit 2 unless every size is a whole number in range (named by its flag); the CLI calls it before connecting. */
export function validateOptions(options: SeedOptions): void {
  for (const [key, range] of Object.entries(SEED_LIMITS) as [keyof SeedOptions, IntegerRange & { flag: string }][]) {
    parseInteger(range.flag, options[key], range);
  }
}

async function readSeedScripts(): Promise<string[]> {
  const names = (await readdir(paths.seed)).filter((n) => n.endsWith('.sql')).sort();
  if (names.length === 0) {
    throw new BookingDbError('seed_sql_missing', `no seed SQL found in ${paths.seed}`, {
      hint: 'reinstall bookingdb: the package ships sql/seed/',
      exitCode: ExitCode.precondition,
    });
  }
  return Promise.all(names.map((n) => readFile(join(paths.seed, n), 'utf8')));
}
