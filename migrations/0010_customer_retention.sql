-- Up Migration
-- What the `retention` task of `bookingdb maintain` (GDPR) needs from the schema.
--
-- booking.tenants.customer_retention: how long a tenant keeps a customer with no
-- booking activity before anonymising it. NULL means the global default (config
-- maintain.retention.months, 24 months); a tenant whose law or contract says
-- otherwise sets its own. At least one day, so a typo cannot anonymise every customer
-- of a tenant on the next nightly run.
ALTER TABLE booking.tenants ADD COLUMN customer_retention interval;
ALTER TABLE booking.tenants ADD CONSTRAINT tenants_customer_retention_check
  CHECK (customer_retention IS NULL OR customer_retention >= interval '1 day');

-- The batch selection: per tenant, customers not yet anonymised, oldest last activity
-- first (activity = the later of created_at and last_booking_at), keyset-paged by
-- (activity, id). Partial on anonymized_at IS NULL, so the index holds only the live
-- customers, the ones retention may still have to visit: each batch is an index range
-- scan that stops at the cutoff and never reads the customers table in full, and
-- anonymised customers (which only grow in number) cost it nothing.
CREATE INDEX customers_retention_idx ON booking.customers
  (tenant_id, (GREATEST(created_at, last_booking_at)), id)
  WHERE anonymized_at IS NULL;

-- Down Migration
DROP INDEX booking.customers_retention_idx;
ALTER TABLE booking.tenants DROP COLUMN customer_retention;
