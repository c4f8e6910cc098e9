-- No LOGIN member of bookingdb_app, direct or through other roles, is a superuser or
-- has BYPASSRLS: such a login would act as the app with row-level security off.
-- (BYPASSRLS is never inherited, so the login's own attribute is what counts.)
WITH RECURSIVE members AS (
  SELECT m.member AS oid, NULL::text AS via
    FROM pg_catalog.pg_auth_members m JOIN pg_catalog.pg_roles g ON g.oid = m.roleid
   WHERE g.rolname = 'bookingdb_app'
  UNION
  SELECT m.member, coalesce(a.via || ', ', '') || a.oid::regrole::text
    FROM pg_catalog.pg_auth_members m JOIN members a ON m.roleid = a.oid
)
SELECT pg_catalog.format('%s is a LOGIN member of bookingdb_app%s and %s (fix: ALTER ROLE %s %s, or REVOKE bookingdb_app FROM it)',
         r.oid::regrole,
         CASE WHEN pg_catalog.min(m.via) IS NULL THEN '' ELSE pg_catalog.format(' (through %s)', pg_catalog.min(m.via)) END,
         CASE WHEN r.rolsuper AND r.rolbypassrls THEN 'is a superuser with BYPASSRLS'
              WHEN r.rolsuper THEN 'is a superuser' ELSE 'has BYPASSRLS' END,
         r.oid::regrole,
         pg_catalog.concat_ws(' ', CASE WHEN r.rolsuper THEN 'NOSUPERUSER' END, CASE WHEN r.rolbypassrls THEN 'NOBYPASSRLS' END)) AS violation
  FROM members m
  JOIN pg_catalog.pg_roles r ON r.oid = m.oid
 WHERE r.rolcanlogin AND (r.rolsuper OR r.rolbypassrls)
 GROUP BY r.oid, r.rolsuper, r.rolbypassrls
ORDER BY 1;
