-- Grants for the foundation objects. Domain grants live in later files of this folder.
-- Role names are written with the default prefix; deploy rewrites them for --role-prefix.

REVOKE ALL ON SCHEMA booking, ops FROM PUBLIC;
GRANT USAGE ON SCHEMA booking TO bookingdb_app, bookingdb_reporting, bookingdb_backup, bookingdb_monitor;
GRANT USAGE ON SCHEMA ops TO bookingdb_reporting, bookingdb_backup, bookingdb_monitor;
GRANT USAGE ON SCHEMA ext TO bookingdb_owner, bookingdb_app, bookingdb_reporting, bookingdb_backup, bookingdb_monitor;

-- Functions created by the owner are not executable by PUBLIC unless granted. The
-- IN SCHEMA form of this statement has no effect on the PUBLIC default; this one does.
ALTER DEFAULT PRIVILEGES FOR ROLE bookingdb_owner REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
-- Only the owner's own functions: those of bookingdb_ops (run-as-ops files) revoke
-- PUBLIC themselves, and REVOKE on a function the owner holds no privilege on is 42501.
DO $$
DECLARE
  f regprocedure;
BEGIN
  FOR f IN
    SELECT p.oid::regprocedure
      FROM pg_catalog.pg_proc p
     WHERE p.pronamespace IN ('booking'::regnamespace, 'ops'::regnamespace)
       AND p.proowner = (SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname = current_user)
  LOOP
    EXECUTE pg_catalog.format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', f);
  END LOOP;
END
$$;

GRANT EXECUTE ON FUNCTION booking.current_tenant_id() TO bookingdb_app, bookingdb_reporting;
GRANT SELECT ON booking.tenants TO bookingdb_app, bookingdb_reporting;
