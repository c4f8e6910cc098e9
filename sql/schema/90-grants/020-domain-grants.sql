-- Grants on the domain objects, exactly as the role table of DESIGN.md:
--   app:       SELECT on every domain table; INSERT and UPDATE on the catalogue only,
--              and there only on the columns an app sets (column-level grants, below);
--              bookings, allocations and the waitlist change only through the API
--              functions (SECURITY DEFINER), which it may EXECUTE; subject to RLS.
--   reporting: SELECT only (tables under RLS, the security_invoker views, the audit log).
--   backup:    nothing here: pg_read_all_data + BYPASSRLS (granted by deploy) cover it.
--   monitor:   nothing here: pg_monitor + ops.health_check() (granted with it).
-- Internal helpers (booking._*, ops.write_audit, ops.*_audit_partitions) are granted
-- to nobody: only the owner runs them. Re-applied on every deploy, so REVOKEs first.

-- Only objects of this part are revoked (other files grant on ops objects of their own).
REVOKE ALL ON ALL TABLES IN SCHEMA booking FROM bookingdb_app, bookingdb_reporting;
REVOKE ALL ON ops.audit_log FROM bookingdb_app, bookingdb_reporting;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA booking FROM PUBLIC, bookingdb_app, bookingdb_reporting;
REVOKE ALL ON FUNCTION ops.write_audit(uuid, text, text, uuid, jsonb),
  ops.ensure_audit_partitions(integer), ops.drop_audit_partitions(integer) FROM PUBLIC;

GRANT SELECT ON
  booking.tenants, booking.locations, booking.resources, booking.services,
  booking.service_resources, booking.working_hours, booking.time_off, booking.customers,
  booking.bookings, booking.booking_allocations, booking.waitlist_entries,
  booking.payments, booking.erasure_requests
  TO bookingdb_app, bookingdb_reporting;

-- The catalogue, column by column: what an app must be able to do (create a customer
-- and edit its contact details, open a location, add staff and deactivate them, price
-- a service, set hours and time off), and nothing else. Never tenant_id, id or
-- created_at after the insert (tenant_id and id may be given on INSERT: tenant_id has
-- no default, and client-generated ids make retries idempotent; the policy's WITH
-- CHECK keeps tenant_id to the transaction's tenant). customers.last_booking_at and
-- anonymized_at are the API's and the erasure's to maintain (booking._insert_booking
-- runs as the owner): an app that could set them could undo an erasure or keep a
-- customer out of retention forever. Generated columns (starts, ends) are written by
-- nobody. A new column is not writable by the app until it is listed here.
GRANT INSERT (tenant_id, id, name, timezone),
      UPDATE (name, timezone)
  ON booking.locations TO bookingdb_app;
GRANT INSERT (tenant_id, id, location_id, kind, name, active),
      UPDATE (location_id, kind, name, active)
  ON booking.resources TO bookingdb_app;
GRANT INSERT (tenant_id, id, name, duration, buffer_before, buffer_after, slot_step, price_cents, currency, active),
      UPDATE (name, duration, buffer_before, buffer_after, slot_step, price_cents, currency, active)
  ON booking.services TO bookingdb_app;
GRANT INSERT (tenant_id, service_id, resource_id),
      UPDATE (service_id, resource_id)
  ON booking.service_resources TO bookingdb_app;
GRANT INSERT (tenant_id, id, resource_id, weekday, starts_local, ends_local),
      UPDATE (weekday, starts_local, ends_local)
  ON booking.working_hours TO bookingdb_app;
GRANT INSERT (tenant_id, id, resource_id, during, reason),
      UPDATE (during, reason)
  ON booking.time_off TO bookingdb_app;
GRANT INSERT (tenant_id, id, email, full_name, phone),
      UPDATE (email, full_name, phone)
  ON booking.customers TO bookingdb_app;

-- The time zone CHECKs read it with the inserting role's rights.
GRANT SELECT ON booking.iana_timezones TO bookingdb_app, bookingdb_reporting;

GRANT SELECT ON booking.daily_dashboard, booking.resource_utilisation
  TO bookingdb_app, bookingdb_reporting;

GRANT SELECT ON ops.audit_log TO bookingdb_reporting;

GRANT EXECUTE ON FUNCTION
  booking.available_slots(uuid, uuid, timestamptz, timestamptz, uuid[]),
  booking.book(uuid, uuid, uuid, uuid, timestamptz, text, interval),
  booking.confirm(uuid, uuid),
  booking.cancel(uuid, uuid, text),
  booking.reschedule(uuid, uuid, timestamptz, uuid),
  booking.join_waitlist(uuid, uuid, uuid, tstzrange, uuid),
  booking.expire_holds(),
  booking.expire_tenant_holds(uuid)
  TO bookingdb_app;

-- CHECK constraints call these with the inserting role's rights.
GRANT EXECUTE ON FUNCTION booking.is_valid_timezone(text) TO bookingdb_app;
-- Re-grant what the foundation file granted (the REVOKEs above cleared it).
GRANT EXECUTE ON FUNCTION booking.current_tenant_id() TO bookingdb_app, bookingdb_reporting;
