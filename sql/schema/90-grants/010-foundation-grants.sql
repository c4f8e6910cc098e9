-- Grants for the foundation objects. Domain grants live in later files of this folder.
-- Role names are written with the default prefix; deploy rewrites them for --role-prefix.

REVOKE ALL ON SCHEMA booking, ops FROM PUBLIC;
GRANT USAGE ON SCHEMA booking TO bookingdb_app, bookingdb_reporting, bookingdb_backup, bookingdb_monitor;
GRANT USAGE ON SCHEMA ops TO bookingdb_reporting, bookingdb_backup, bookingdb_monitor;
GRANT USAGE ON SCHEMA ext TO bookingdb_owner, bookingdb_app, bookingdb_reporting, bookingdb_backup, bookingdb_monitor;

-- Functions created by the owner are not executable by PUBLIC unless granted. The
-- IN SCHEMA form of this statement has no effect on the PUBLIC default; this one does.
ALTER DEFAULT PRIVILEGES FOR ROLE bookingdb_owner REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA booking, ops FROM PUBLIC;

GRANT EXECUTE ON FUNCTION booking.current_tenant_id() TO bookingdb_app, bookingdb_reporting;
GRANT SELECT ON booking.tenants TO bookingdb_app, bookingdb_reporting;
