-- Up Migration
-- The catalogue a tenant edits itself: locations, resources, services, which resource
-- offers which service, weekly working hours, time off, customers.
--
-- Every table: tenant_id first, primary key (tenant_id, id), foreign keys between
-- domain tables are composite (tenant_id, x_id) -> (tenant_id, id), so a row can never
-- point into another tenant. Enum-like columns are CHECK'd text rather than enum types:
-- text = is leakproof (usable in index conditions under RLS), enum = is not.
-- Intervals (durations, buffers, steps) must be plain elapsed time (no day or month
-- part), so adding them to a timestamptz never depends on the session time zone.
-- RLS and the tenant_isolation policy are applied to every tenant_id table by
-- sql/schema/10-tenancy/020-tenant-policies.sql; they are enabled here as well so a
-- table is never readable without them, even between migration and repeatable SQL.

-- True when PostgreSQL knows the time zone name. Used by CHECK constraints, so the
-- app role needs EXECUTE on it (granted in sql/schema/90-grants).
CREATE FUNCTION booking.is_valid_timezone(p_timezone text)
  RETURNS boolean
  LANGUAGE plpgsql
  STABLE
  SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF p_timezone IS NULL OR pg_catalog.btrim(p_timezone) = '' THEN
    RETURN false;
  END IF;
  PERFORM pg_catalog.timezone(p_timezone, pg_catalog.now());
  RETURN true;
EXCEPTION WHEN invalid_parameter_value THEN
  RETURN false;
END
$$;

CREATE TABLE booking.locations (
  tenant_id  uuid NOT NULL REFERENCES booking.tenants (id) ON DELETE CASCADE,
  id         uuid NOT NULL DEFAULT gen_random_uuid(),
  name       text NOT NULL,
  timezone   text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT locations_pkey PRIMARY KEY (tenant_id, id),
  CONSTRAINT locations_name_not_blank CHECK (btrim(name) <> ''),
  CONSTRAINT locations_timezone_valid CHECK (booking.is_valid_timezone(timezone))
);

CREATE TABLE booking.resources (
  tenant_id   uuid NOT NULL REFERENCES booking.tenants (id) ON DELETE CASCADE,
  id          uuid NOT NULL DEFAULT gen_random_uuid(),
  location_id uuid NOT NULL,
  kind        text NOT NULL,
  name        text NOT NULL,
  active      boolean NOT NULL DEFAULT true,
  created_at  timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT resources_pkey PRIMARY KEY (tenant_id, id),
  CONSTRAINT resources_location_fkey FOREIGN KEY (tenant_id, location_id)
    REFERENCES booking.locations (tenant_id, id),
  CONSTRAINT resources_kind_check CHECK (kind IN ('staff', 'room', 'chair', 'court', 'equipment')),
  CONSTRAINT resources_name_not_blank CHECK (btrim(name) <> '')
);
CREATE INDEX resources_location_idx ON booking.resources (tenant_id, location_id);

CREATE TABLE booking.services (
  tenant_id     uuid NOT NULL REFERENCES booking.tenants (id) ON DELETE CASCADE,
  id            uuid NOT NULL DEFAULT gen_random_uuid(),
  name          text NOT NULL,
  duration      interval NOT NULL,
  buffer_before interval NOT NULL DEFAULT '0',
  buffer_after  interval NOT NULL DEFAULT '0',
  slot_step     interval,
  price_cents   integer NOT NULL DEFAULT 0,
  currency      text NOT NULL DEFAULT 'EUR',
  active        boolean NOT NULL DEFAULT true,
  created_at    timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT services_pkey PRIMARY KEY (tenant_id, id),
  CONSTRAINT services_name_not_blank CHECK (btrim(name) <> ''),
  CONSTRAINT services_duration_check CHECK (
    duration > interval '0' AND duration <= interval '24 hours'
    AND extract(day FROM duration) = 0 AND extract(month FROM duration) = 0),
  CONSTRAINT services_buffer_before_check CHECK (
    buffer_before >= interval '0' AND buffer_before <= interval '24 hours'
    AND extract(day FROM buffer_before) = 0 AND extract(month FROM buffer_before) = 0),
  CONSTRAINT services_buffer_after_check CHECK (
    buffer_after >= interval '0' AND buffer_after <= interval '24 hours'
    AND extract(day FROM buffer_after) = 0 AND extract(month FROM buffer_after) = 0),
  CONSTRAINT services_slot_step_check CHECK (slot_step IS NULL OR (
    slot_step >= interval '1 minute' AND slot_step <= interval '24 hours'
    AND extract(day FROM slot_step) = 0 AND extract(month FROM slot_step) = 0)),
  CONSTRAINT services_price_check CHECK (price_cents >= 0),
  CONSTRAINT services_currency_check CHECK (currency ~ '^[A-Z]{3}$')
);

CREATE TABLE booking.service_resources (
  tenant_id   uuid NOT NULL REFERENCES booking.tenants (id) ON DELETE CASCADE,
  service_id  uuid NOT NULL,
  resource_id uuid NOT NULL,
  CONSTRAINT service_resources_pkey PRIMARY KEY (tenant_id, service_id, resource_id),
  CONSTRAINT service_resources_service_fkey FOREIGN KEY (tenant_id, service_id)
    REFERENCES booking.services (tenant_id, id) ON DELETE CASCADE,
  CONSTRAINT service_resources_resource_fkey FOREIGN KEY (tenant_id, resource_id)
    REFERENCES booking.resources (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX service_resources_resource_idx ON booking.service_resources (tenant_id, resource_id);

-- Weekly opening blocks in the location's time zone; a day may have several blocks
-- (e.g. a lunch break), but blocks of one resource and weekday never overlap.
CREATE TABLE booking.working_hours (
  tenant_id    uuid NOT NULL REFERENCES booking.tenants (id) ON DELETE CASCADE,
  id           uuid NOT NULL DEFAULT gen_random_uuid(),
  resource_id  uuid NOT NULL,
  weekday      smallint NOT NULL,
  starts_local time NOT NULL,
  ends_local   time NOT NULL,
  CONSTRAINT working_hours_pkey PRIMARY KEY (tenant_id, id),
  CONSTRAINT working_hours_resource_fkey FOREIGN KEY (tenant_id, resource_id)
    REFERENCES booking.resources (tenant_id, id) ON DELETE CASCADE,
  CONSTRAINT working_hours_weekday_check CHECK (weekday BETWEEN 1 AND 7),
  CONSTRAINT working_hours_order_check CHECK (starts_local < ends_local),
  CONSTRAINT working_hours_no_overlap EXCLUDE USING gist (
    tenant_id WITH =, resource_id WITH =, weekday WITH =,
    numrange(extract(epoch FROM starts_local), extract(epoch FROM ends_local)) WITH &&)
);
CREATE INDEX working_hours_resource_idx ON booking.working_hours (tenant_id, resource_id, weekday);

-- starts/ends mirror the range as plain columns: range operators are not leakproof,
-- so under RLS only comparisons on plain columns can be index conditions.
CREATE TABLE booking.time_off (
  tenant_id   uuid NOT NULL REFERENCES booking.tenants (id) ON DELETE CASCADE,
  id          uuid NOT NULL DEFAULT gen_random_uuid(),
  resource_id uuid NOT NULL,
  during      tstzrange NOT NULL,
  reason      text,
  starts      timestamptz GENERATED ALWAYS AS (lower(during)) STORED,
  ends        timestamptz GENERATED ALWAYS AS (upper(during)) STORED,
  CONSTRAINT time_off_pkey PRIMARY KEY (tenant_id, id),
  CONSTRAINT time_off_resource_fkey FOREIGN KEY (tenant_id, resource_id)
    REFERENCES booking.resources (tenant_id, id) ON DELETE CASCADE,
  CONSTRAINT time_off_during_check CHECK (
    NOT isempty(during) AND lower_inc(during) AND NOT upper_inc(during)
    AND NOT lower_inf(during) AND NOT upper_inf(during))
);
CREATE INDEX time_off_resource_idx ON booking.time_off (tenant_id, resource_id, ends);

-- Anonymisation (GDPR erasure) clears email and phone and replaces full_name; the
-- row stays so past bookings keep their foreign key.
CREATE TABLE booking.customers (
  tenant_id       uuid NOT NULL REFERENCES booking.tenants (id) ON DELETE CASCADE,
  id              uuid NOT NULL DEFAULT gen_random_uuid(),
  email           text,
  full_name       text NOT NULL,
  phone           text,
  last_booking_at timestamptz,
  anonymized_at   timestamptz,
  created_at      timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT customers_pkey PRIMARY KEY (tenant_id, id),
  CONSTRAINT customers_email_format CHECK (email IS NULL OR email ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
  CONSTRAINT customers_full_name_not_blank CHECK (btrim(full_name) <> ''),
  CONSTRAINT customers_phone_format CHECK (phone IS NULL OR phone ~ '^\+?[0-9 ()./-]{3,32}$'),
  CONSTRAINT customers_anonymized_check CHECK (anonymized_at IS NULL OR (email IS NULL AND phone IS NULL))
);
CREATE UNIQUE INDEX customers_email_key ON booking.customers (tenant_id, lower(email)) WHERE email IS NOT NULL;
CREATE INDEX customers_last_booking_idx ON booking.customers (tenant_id, last_booking_at);

COMMENT ON COLUMN booking.customers.email IS 'pii';
COMMENT ON COLUMN booking.customers.full_name IS 'pii';
COMMENT ON COLUMN booking.customers.phone IS 'pii';

ALTER TABLE booking.locations ENABLE ROW LEVEL SECURITY;
ALTER TABLE booking.locations FORCE ROW LEVEL SECURITY;
ALTER TABLE booking.resources ENABLE ROW LEVEL SECURITY;
ALTER TABLE booking.resources FORCE ROW LEVEL SECURITY;
ALTER TABLE booking.services ENABLE ROW LEVEL SECURITY;
ALTER TABLE booking.services FORCE ROW LEVEL SECURITY;
ALTER TABLE booking.service_resources ENABLE ROW LEVEL SECURITY;
ALTER TABLE booking.service_resources FORCE ROW LEVEL SECURITY;
ALTER TABLE booking.working_hours ENABLE ROW LEVEL SECURITY;
ALTER TABLE booking.working_hours FORCE ROW LEVEL SECURITY;
ALTER TABLE booking.time_off ENABLE ROW LEVEL SECURITY;
ALTER TABLE booking.time_off FORCE ROW LEVEL SECURITY;
ALTER TABLE booking.customers ENABLE ROW LEVEL SECURITY;
ALTER TABLE booking.customers FORCE ROW LEVEL SECURITY;

-- Down Migration
-- CASCADE also drops the repeatable views and policies built on these tables; the
-- next deploy re-creates whatever still applies.
DROP TABLE booking.customers CASCADE;
DROP TABLE booking.time_off CASCADE;
DROP TABLE booking.working_hours CASCADE;
DROP TABLE booking.service_resources CASCADE;
DROP TABLE booking.services CASCADE;
DROP TABLE booking.resources CASCADE;
DROP TABLE booking.locations CASCADE;
DROP FUNCTION booking.is_valid_timezone(text);
