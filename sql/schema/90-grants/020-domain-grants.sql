-- Grants on the domain objects, exactly as the role table of DESIGN.md:
--   app:       SELECT on every domain table; INSERT and UPDATE on the catalogue only;
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

GRANT INSERT, UPDATE ON
  booking.locations, booking.resources, booking.services, booking.service_resources,
  booking.working_hours, booking.time_off, booking.customers
  TO bookingdb_app;

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
