import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { runVerification } from '../../src/deploy/verify.js';

// sql/verify/citus-invariants.sql: passes on the deployed schema, and names each kind
// of violation planted in a clone (each plant in a transaction that is rolled back).
const check = readFileSync(fileURLToPath(new URL('../../sql/verify/citus-invariants.sql', import.meta.url)), 'utf8');

let db: TestDatabase;
beforeAll(async () => { db = await createTestDatabase(); });

class Rollback extends Error {}

/** Runs `plant` and then the check in one transaction, rolled back; returns the violations. */
async function violationsAfter(plant: string): Promise<string[]> {
  let found: string[] = [];
  await db.sql.begin(async (tx) => {
    await tx.unsafe(plant);
    found = (await tx.unsafe(check)).map((r) => String(r.violation));
    throw new Rollback();
  }).catch((error) => { if (!(error instanceof Rollback)) throw error; });
  return found;
}

describe('citus-invariants verification', () => {
  it('passes on the deployed schema, as part of every deploy\'s verification', async () => {
    const results = await runVerification(db.sql, 'bookingdb');
    expect(results.find((r) => r.check === 'citus-invariants')).toEqual({ check: 'citus-invariants', status: 'ok', violations: [] });
  });

  const plants: [string, string, string][] = [
    ['a primary key without tenant_id',
      'CREATE TABLE booking.probe_pk (tenant_id uuid NOT NULL, id uuid PRIMARY KEY)',
      'booking.probe_pk: primary key probe_pk_pkey does not include tenant_id'],
    ['a unique constraint without tenant_id',
      'ALTER TABLE booking.customers ADD CONSTRAINT probe_email UNIQUE (email)',
      'booking.customers: unique constraint probe_email does not include tenant_id'],
    ['a unique index without tenant_id',
      'CREATE UNIQUE INDEX probe_key ON booking.bookings (idempotency_key)',
      'booking.bookings: unique index booking.probe_key does not include tenant_id'],
    ['an exclusion constraint without tenant_id',
      'ALTER TABLE booking.time_off ADD CONSTRAINT probe_excl EXCLUDE USING gist (resource_id WITH =, during WITH &&)',
      'booking.time_off: exclusion constraint probe_excl does not include tenant_id'],
    ['an exclusion constraint that compares tenant_id with <>',
      'ALTER TABLE booking.time_off ADD CONSTRAINT probe_ne EXCLUDE USING gist (tenant_id WITH <>, resource_id WITH =, during WITH &&)',
      'booking.time_off: exclusion constraint probe_ne does not compare tenant_id WITH ='],
    ['a foreign key that does not pair tenant_id',
      `CREATE TABLE booking.probe_fk (tenant_id uuid NOT NULL, owner_tenant uuid NOT NULL, customer_id uuid NOT NULL,
         PRIMARY KEY (tenant_id, customer_id), FOREIGN KEY (owner_tenant, customer_id) REFERENCES booking.customers (tenant_id, id))`,
      'booking.probe_fk: foreign key probe_fk_owner_tenant_customer_id_fkey does not pair tenant_id with booking.customers\'s tenant_id'],
    ['a foreign key to a coordinator-local ops table',
      'CREATE TABLE booking.probe_local (tenant_id uuid NOT NULL, run_id bigint NOT NULL REFERENCES ops.runs (id), PRIMARY KEY (tenant_id, run_id))',
      'booking.probe_local: foreign key probe_local_run_id_fkey points at ops.runs, which stays on the coordinator'],
    ['a foreign key from a reference table to a distributed one',
      `CREATE TABLE booking.probe_ref (code text PRIMARY KEY, owner uuid, location_id uuid,
         FOREIGN KEY (owner, location_id) REFERENCES booking.locations (tenant_id, id))`,
      'booking.probe_ref: foreign key probe_ref_owner_location_id_fkey of a reference table points at booking.locations, which is not one'],
    ['a trigger on a distributed table',
      `CREATE FUNCTION booking.probe_touch() RETURNS trigger LANGUAGE plpgsql SET search_path = pg_catalog AS $$ BEGIN RETURN NEW; END $$;
       CREATE TRIGGER probe_touch BEFORE UPDATE ON booking.bookings FOR EACH ROW EXECUTE FUNCTION booking.probe_touch()`,
      'booking.bookings: trigger probe_touch on a table Citus distributes by tenant_id'],
    ['a policy with a subquery',
      'CREATE POLICY probe_sub ON booking.locations USING (tenant_id IN (SELECT t.id FROM booking.tenants t))',
      'booking.locations: policy probe_sub has a subquery in its USING'],
    ['a policy with a subquery in WITH CHECK only',
      'CREATE POLICY probe_chk ON booking.services FOR INSERT WITH CHECK (EXISTS (SELECT 1 FROM booking.tenants t WHERE t.id = tenant_id))',
      'booking.services: policy probe_chk has a subquery in its WITH CHECK'],
    ['an API function without p_tenant_id first',
      `CREATE FUNCTION booking.probe_api(p_booking_id uuid, p_tenant_id uuid) RETURNS void
         LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$ SELECT $$`,
      'booking.probe_api(uuid,uuid): an API function whose first argument is not p_tenant_id uuid (Citus distributes it by $1)'],
  ];

  it.each(plants)('names %s', async (_what, plant, expected) => {
    expect(await violationsAfter(plant)).toEqual([expected]);
  });
});
