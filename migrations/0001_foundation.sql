-- Up Migration
-- Foundation: the tenants table. Schemas (booking, ops, ext), extensions and group
-- roles are created by `bookingdb deploy` before any migration runs; migrations run
-- as bookingdb_owner so every object they create is owned by it.

CREATE TABLE booking.tenants (
  id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  slug       text NOT NULL,
  name       text NOT NULL,
  timezone   text NOT NULL DEFAULT 'UTC',
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT tenants_slug_key UNIQUE (slug),
  CONSTRAINT tenants_slug_format CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  CONSTRAINT tenants_name_not_blank CHECK (btrim(name) <> ''),
  CONSTRAINT tenants_timezone_not_blank CHECK (btrim(timezone) <> '')
);

-- A tenant sees only its own row. The policy itself is repeatable SQL
-- (sql/schema/10-tenancy/), because it depends on booking.current_tenant_id().
ALTER TABLE booking.tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE booking.tenants FORCE ROW LEVEL SECURITY;

-- Down Migration
DROP TABLE booking.tenants;
