import { randomBytes } from 'node:crypto';
import type { Sql } from 'postgres';
import { quoteIdent } from '../db/ident.js';
import type { AnchorCopy } from './options.js';
import { slotQuery } from './slots.js';

/**
 * The bare baseline `--anchor` measures the procedures against, installed by the
 * admin in a scratch schema bench_anchor_<random> and dropped after the run (also on
 * error, by the caller's finally):
 * - `allocations`: a copy of booking.booking_allocations' shape (starts/ends generated)
 *   under the same exclusion constraint (btree_gist: tenant_id WITH =, resource_id
 *   WITH =, blocked WITH &&, WHERE active), no RLS, no other index, filled with the
 *   allocations of the benched resources that block at the start (with `history`, the
 *   default, all of them, past and future: the same data the procedures read, so an
 *   overlap probe of either system searches indexes of the same size; with `window`,
 *   only those from a day before to a day after the window, which favours the baseline):
 *   active, and not a hold past its expiry (the procedures expire those on the spot
 *   and available_slots lists their slots as free; copied, they would refuse in the
 *   anchor the free slots both systems are offered), so both systems start from the
 *   same bookings; with `all`, every such allocation of the database, whatever tenant
 *   or resource: a table and indexes as big as booking.booking_allocations', so the
 *   baseline's probes and inserts meet the same cache misses (on a 1M-booking database
 *   with the default 128 MB shared_buffers, the procedures' GiST index alone is larger
 *   than the buffer cache; a copy of the benched resources' rows fits in it). The
 *   constraint is added after the copy (one bulk index build, not one insert each);
 * - `book(...)`: a per-resource pg_advisory_xact_lock, an overlap check, the insert
 *   (23P01 when taken); `cancel`/`reschedule` the same way;
 * - `available_slots(...)`: the naive query, one generate_series row per slot over the
 *   same working hours and one overlap probe per slot (src/bench/slots.ts).
 * Functions are SECURITY INVOKER: the workers run them as the app login, which reads
 * the catalogue under RLS exactly as the procedures do.
 */
export interface Anchor {
  schema: string;
  /** Allocations copied in at the start. */
  copied: number;
}

export const ANCHOR_SCHEMA_PREFIX = 'bench_anchor_';

function ddl(s: string): string[] {
  return [
    `CREATE SCHEMA ${s}`,
    `CREATE TABLE ${s}.allocations (
       tenant_id uuid NOT NULL, id uuid NOT NULL DEFAULT pg_catalog.gen_random_uuid(), resource_id uuid NOT NULL,
       blocked tstzrange NOT NULL, active boolean NOT NULL DEFAULT true, hold_expires_at timestamptz,
       starts timestamptz GENERATED ALWAYS AS (lower(blocked)) STORED,
       ends timestamptz GENERATED ALWAYS AS (upper(blocked)) STORED,
       PRIMARY KEY (tenant_id, id))`,
    `CREATE FUNCTION ${s}.book(p_tenant_id uuid, p_service_id uuid, p_resource_id uuid, p_customer_id uuid, p_starts_at timestamptz)
       RETURNS uuid LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
     DECLARE v_blocked tstzrange; v_id uuid;
     BEGIN
       SELECT pg_catalog.tstzrange(p_starts_at - sv.buffer_before, p_starts_at + sv.duration + sv.buffer_after) INTO v_blocked
         FROM booking.services sv WHERE sv.tenant_id = p_tenant_id AND sv.id = p_service_id;
       PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended(p_resource_id::text, 0));
       IF EXISTS (SELECT 1 FROM ${s}.allocations a WHERE a.tenant_id = p_tenant_id AND a.resource_id = p_resource_id
                     AND a.active AND a.blocked && v_blocked) THEN
         RAISE EXCEPTION 'slot taken' USING ERRCODE = '23P01';
       END IF;
       INSERT INTO ${s}.allocations (tenant_id, resource_id, blocked) VALUES (p_tenant_id, p_resource_id, v_blocked)
         RETURNING id INTO v_id;
       RETURN v_id;
     END $$`,
    `CREATE FUNCTION ${s}.cancel(p_tenant_id uuid, p_id uuid) RETURNS void LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
       UPDATE ${s}.allocations SET active = false WHERE tenant_id = p_tenant_id AND id = p_id AND active $$`,
    `CREATE FUNCTION ${s}.reschedule(p_tenant_id uuid, p_id uuid, p_service_id uuid, p_new_starts_at timestamptz, p_new_resource_id uuid)
       RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
     DECLARE v_blocked tstzrange;
     BEGIN
       SELECT pg_catalog.tstzrange(p_new_starts_at - sv.buffer_before, p_new_starts_at + sv.duration + sv.buffer_after) INTO v_blocked
         FROM booking.services sv WHERE sv.tenant_id = p_tenant_id AND sv.id = p_service_id;
       PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended(p_new_resource_id::text, 0));
       IF EXISTS (SELECT 1 FROM ${s}.allocations a WHERE a.tenant_id = p_tenant_id AND a.resource_id = p_new_resource_id
                     AND a.active AND a.id <> p_id AND a.blocked && v_blocked) THEN
         RAISE EXCEPTION 'slot taken' USING ERRCODE = '23P01';
       END IF;
       UPDATE ${s}.allocations SET resource_id = p_new_resource_id, blocked = v_blocked
        WHERE tenant_id = p_tenant_id AND id = p_id AND active;
     END $$`,
    `CREATE FUNCTION ${s}.available_slots(p_tenant_id uuid, p_service_id uuid, p_from timestamptz, p_to timestamptz, p_resource_ids uuid[] DEFAULT NULL)
       RETURNS TABLE (resource_id uuid, starts_at timestamptz, ends_at timestamptz)
       LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
     ${slotQuery({ tenant: 'p_tenant_id', service: 'p_service_id', from: 'p_from', to: 'p_to', resources: 'p_resource_ids' }, `${s}.allocations`)}
     $$`,
    `REVOKE ALL ON ALL FUNCTIONS IN SCHEMA ${s} FROM PUBLIC`,
  ];
}

/**
 * Installs the baseline and copies the allocations (one transaction: a failure leaves
 * no schema behind). `appRole` gets what the workers need: USAGE, EXECUTE, and
 * SELECT/INSERT/UPDATE on the copy.
 */
export async function installAnchor(admin: Sql, appRole: string, copy: { tenants: string[]; resources: string[]; from: Date; to: Date; what: AnchorCopy }): Promise<Anchor> {
  const name = `${ANCHOR_SCHEMA_PREFIX}${randomBytes(5).toString('hex')}`;
  const s = quoteIdent(name);
  const role = quoteIdent(appRole);
  const copied = await admin.begin(async (tx) => {
    await tx.unsafe("SET LOCAL lock_timeout = '5s'; SET LOCAL statement_timeout = '300s'");
    for (const statement of ddl(s)) await tx.unsafe(statement);
    await tx.unsafe(`GRANT USAGE ON SCHEMA ${s} TO ${role}`);
    await tx.unsafe(`GRANT SELECT, INSERT, UPDATE ON ${s}.allocations TO ${role}`);
    await tx.unsafe(`GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA ${s} TO ${role}`);
    const rows = await tx.unsafe(`
      INSERT INTO ${s}.allocations (tenant_id, id, resource_id, blocked, active, hold_expires_at)
      SELECT a.tenant_id, a.id, a.resource_id, a.blocked, a.active, a.hold_expires_at
        FROM booking.booking_allocations a
       WHERE ($6::boolean OR (a.tenant_id = ANY ($1::uuid[]) AND a.resource_id = ANY ($2::uuid[]))) AND a.active
         AND (a.hold_expires_at IS NULL OR a.hold_expires_at > pg_catalog.now())
         AND ($5::boolean OR (a.starts < $4::timestamptz + interval '1 day' AND a.ends > $3::timestamptz - interval '1 day'))`,
    [copy.tenants, copy.resources, copy.from, copy.to, copy.what !== 'window', copy.what === 'all'] as never[]);
    await tx.unsafe(`ALTER TABLE ${s}.allocations
      ADD EXCLUDE USING gist (tenant_id WITH =, resource_id WITH =, blocked WITH &&) WHERE (active)`);
    await tx.unsafe(`ANALYZE ${s}.allocations`);
    return rows.count;
  });
  return { schema: name, copied };
}

/** Drops the baseline (idempotent); used in a finally. */
export async function dropAnchor(admin: Sql, schema: string): Promise<void> {
  await admin.begin(async (tx) => {
    await tx.unsafe("SET LOCAL lock_timeout = '30s'; SET LOCAL statement_timeout = '60s'");
    await tx.unsafe(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
  });
}
