-- bookingdb_ops sees every tenant (BYPASSRLS), so it must stay a role nobody is: NOLOGIN,
-- not a superuser, with no members (no login, not the owner, not the app), so the
-- only way to its rights is through the few audited SECURITY DEFINER functions it owns.
SELECT violation FROM (
  SELECT 'bookingdb_ops does not exist (deploy creates it)' AS violation
   WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'bookingdb_ops')
  UNION ALL
  SELECT 'bookingdb_ops can log in' FROM pg_catalog.pg_roles WHERE rolname = 'bookingdb_ops' AND rolcanlogin
  UNION ALL
  SELECT 'bookingdb_ops is a superuser' FROM pg_catalog.pg_roles WHERE rolname = 'bookingdb_ops' AND rolsuper
  UNION ALL
  SELECT 'bookingdb_ops lacks BYPASSRLS' FROM pg_catalog.pg_roles WHERE rolname = 'bookingdb_ops' AND NOT rolbypassrls
  UNION ALL
  SELECT pg_catalog.format('%I is a member of bookingdb_ops (REVOKE bookingdb_ops FROM %I)', m.rolname, m.rolname)
    FROM pg_catalog.pg_auth_members am
    JOIN pg_catalog.pg_roles g ON g.oid = am.roleid AND g.rolname = 'bookingdb_ops'
    JOIN pg_catalog.pg_roles m ON m.oid = am.member
) v
ORDER BY 1;
