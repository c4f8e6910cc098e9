-- bookingdb_app does not need TEMPORARY on the database (the API creates no temporary
-- objects; the demo seed that does runs as superuser), so it must not have it: neither
-- through PUBLIC (the PostgreSQL default, which deploy revokes when it can), nor
-- granted to it, to one of its logins or to a role they belong to.
WITH RECURSIVE app_roles AS (
  SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname = 'bookingdb_app'
  UNION
  SELECT m.member FROM pg_catalog.pg_auth_members m JOIN app_roles a ON m.roleid = a.oid
),
grants AS (
  SELECT d.datname, d.datdba, g.grantee
    FROM pg_catalog.pg_database d
   CROSS JOIN LATERAL pg_catalog.aclexplode(coalesce(d.datacl, pg_catalog.acldefault('d', d.datdba))) AS g
   WHERE d.datname = pg_catalog.current_database() AND g.privilege_type = 'TEMPORARY'
)
SELECT pg_catalog.format('PUBLIC has TEMPORARY on database %I, so bookingdb_app may create temporary objects (fix: REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC, as the database owner or a superuser)',
         g.datname, g.datname) AS violation
  FROM grants g
 WHERE g.grantee = 0
UNION ALL
SELECT pg_catalog.format('%s has TEMPORARY on database %I%s (fix: REVOKE TEMPORARY ON DATABASE %I FROM %s)',
         CASE WHEN pg_catalog.bool_or(r.rolname = 'bookingdb_app') THEN 'bookingdb_app'
              ELSE pg_catalog.string_agg(DISTINCT r.rolname::text, ', ') END,
         g.datname,
         CASE WHEN g.grantee::regrole::text = 'bookingdb_app' THEN ''
              ELSE pg_catalog.format(' through %s', g.grantee::regrole) END,
         g.datname, g.grantee::regrole)
  FROM grants g
  JOIN app_roles a ON g.grantee <> 0 AND g.grantee <> g.datdba AND pg_catalog.pg_has_role(a.oid, g.grantee, 'MEMBER')
  JOIN pg_catalog.pg_roles r ON r.oid = a.oid AND NOT r.rolsuper
 GROUP BY g.datname, g.grantee
UNION ALL
SELECT pg_catalog.format('%s owns database %I (or is a member of its owner %s), so it may create temporary objects (fix: ALTER DATABASE %I OWNER TO another role)',
         r.rolname, d.datname, d.datdba::regrole, d.datname)
  FROM pg_catalog.pg_database d
  JOIN app_roles a ON pg_catalog.pg_has_role(a.oid, d.datdba, 'MEMBER')
  JOIN pg_catalog.pg_roles r ON r.oid = a.oid AND NOT r.rolsuper
 WHERE d.datname = pg_catalog.current_database()
ORDER BY 1;
