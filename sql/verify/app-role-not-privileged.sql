-- The application role is subject to RLS: not superuser, not BYPASSRLS, owns nothing
-- in booking/ops, and is not a member of the owner role.
SELECT violation FROM (
  SELECT 'bookingdb_app is a superuser' AS violation
    FROM pg_catalog.pg_roles WHERE rolname = 'bookingdb_app' AND rolsuper
  UNION ALL
  SELECT 'bookingdb_app has BYPASSRLS'
    FROM pg_catalog.pg_roles WHERE rolname = 'bookingdb_app' AND rolbypassrls
  UNION ALL
  SELECT 'bookingdb_app is a member of bookingdb_owner'
   WHERE pg_catalog.pg_has_role('bookingdb_app', 'bookingdb_owner', 'MEMBER')
  UNION ALL
  SELECT pg_catalog.format('bookingdb_app owns %s', c.oid::regclass)
    FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname IN ('booking', 'ops') AND c.relowner = 'bookingdb_app'::regrole
  UNION ALL
  SELECT pg_catalog.format('bookingdb_app owns %s', p.oid::regprocedure)
    FROM pg_catalog.pg_proc p
    JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
   WHERE n.nspname IN ('booking', 'ops') AND p.proowner = 'bookingdb_app'::regrole
  UNION ALL
  SELECT 'bookingdb_owner has BYPASSRLS or is a superuser'
    FROM pg_catalog.pg_roles WHERE rolname = 'bookingdb_owner' AND (rolbypassrls OR rolsuper)
) v
ORDER BY 1;
