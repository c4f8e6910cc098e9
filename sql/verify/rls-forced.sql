-- Every table in booking/ops with a tenant_id column (and booking.tenants) has row-level
-- security enabled and forced, and at least one policy.
SELECT pg_catalog.format('%I.%I: %s', n.nspname, c.relname,
         CASE WHEN NOT c.relrowsecurity THEN 'row level security is not enabled'
              WHEN NOT c.relforcerowsecurity THEN 'row level security is not forced'
              ELSE 'has no policy' END) AS violation
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname IN ('booking', 'ops')
   AND c.relkind IN ('r', 'p')
   AND NOT c.relispartition
   AND (EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                 WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)
        OR (n.nspname = 'booking' AND c.relname = 'tenants'))
   AND (NOT c.relrowsecurity OR NOT c.relforcerowsecurity
        OR NOT EXISTS (SELECT 1 FROM pg_catalog.pg_policy p WHERE p.polrelid = c.oid))
 ORDER BY 1;
