-- Only the owner may create objects in public or in bookingdb's schemas. An object that
-- PUBLIC or the app could plant there (directly, or through a role bookingdb_app or one
-- of its logins is a member of) would be resolved by name in a privileged session: the
-- planted public.setseed(numeric) attack. Deploy revokes CREATE on public from PUBLIC
-- when it can; a later re-grant is named here.
WITH RECURSIVE app_roles AS (
  -- bookingdb_app and every role that is a member of it, at any depth
  SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname = 'bookingdb_app'
  UNION
  SELECT m.member FROM pg_catalog.pg_auth_members m JOIN app_roles a ON m.roleid = a.oid
),
grants AS (
  SELECT n.nspname, n.nspowner, g.grantee
    FROM pg_catalog.pg_namespace n
   CROSS JOIN LATERAL pg_catalog.aclexplode(coalesce(n.nspacl, pg_catalog.acldefault('n', n.nspowner))) AS g
   WHERE n.nspname IN ('public', 'booking', 'ops', 'ext', 'reporting') AND g.privilege_type = 'CREATE'
)
SELECT pg_catalog.format('PUBLIC may CREATE in schema %I (fix: REVOKE CREATE ON SCHEMA %I FROM PUBLIC)', g.nspname, g.nspname) AS violation
  FROM grants g
 WHERE g.grantee = 0
UNION ALL
-- a grant to bookingdb_app, to one of its members, or to a role one of them belongs to;
-- superusers are left to app-role-not-privileged (they may do anything anyway)
SELECT pg_catalog.format('%s may CREATE in schema %I%s (fix: REVOKE CREATE ON SCHEMA %I FROM %s)',
         CASE WHEN pg_catalog.bool_or(r.rolname = 'bookingdb_app') THEN 'bookingdb_app'
              ELSE pg_catalog.string_agg(DISTINCT r.rolname::text, ', ') END,
         g.nspname,
         CASE WHEN g.grantee::regrole::text = 'bookingdb_app' THEN ''
              ELSE pg_catalog.format(' through %s', g.grantee::regrole) END,
         g.nspname, g.grantee::regrole)
  FROM grants g
  JOIN app_roles a ON g.grantee <> 0 AND g.grantee <> g.nspowner AND pg_catalog.pg_has_role(a.oid, g.grantee, 'MEMBER')
  JOIN pg_catalog.pg_roles r ON r.oid = a.oid AND NOT r.rolsuper
 GROUP BY g.nspname, g.grantee
UNION ALL
-- a member of the schema's owner may create there too
SELECT pg_catalog.format('%s may CREATE in schema %I as a member of its owner %s (fix: REVOKE %s FROM %s)',
         r.rolname, n.nspname, n.nspowner::regrole, n.nspowner::regrole, r.rolname)
  FROM pg_catalog.pg_namespace n
  JOIN app_roles a ON pg_catalog.pg_has_role(a.oid, n.nspowner, 'MEMBER')
  JOIN pg_catalog.pg_roles r ON r.oid = a.oid AND NOT r.rolsuper
 WHERE n.nspname IN ('public', 'booking', 'ops', 'ext', 'reporting')
ORDER BY 1;
