-- Every table in booking/ops with a tenant_id column (and booking.tenants) has row-level
-- security enabled and forced, and at least one policy. Partitions too: the parent's
-- policy applies only to reads through the parent, and a role with SELECT on a
-- partition (pg_read_all_data, a careless GRANT) would read it directly.
SELECT pg_catalog.format('%I.%I: %s', n.nspname, c.relname,
         CASE WHEN NOT c.relrowsecurity
              THEN pg_catalog.format('row level security is not enabled (fix: ALTER TABLE %I.%I ENABLE ROW LEVEL SECURITY)', n.nspname, c.relname)
              WHEN NOT c.relforcerowsecurity
              THEN pg_catalog.format('row level security is not forced (fix: ALTER TABLE %I.%I FORCE ROW LEVEL SECURITY)', n.nspname, c.relname)
              ELSE 'has no policy (fix: create its tenant_isolation policy as sql/schema/10-tenancy/020-tenant-policies.sql does)' END) AS violation
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname IN ('booking', 'ops')
   AND c.relkind IN ('r', 'p')
   AND (EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                 WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)
        OR (n.nspname = 'booking' AND c.relname = 'tenants'))
   AND (NOT c.relrowsecurity OR NOT c.relforcerowsecurity
        OR NOT EXISTS (SELECT 1 FROM pg_catalog.pg_policy p WHERE p.polrelid = c.oid))
 ORDER BY 1;
