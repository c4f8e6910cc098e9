-- bookingdb puts nothing in the public schema (extensions live in ext).
SELECT pg_catalog.format('public.%s (%s) is owned by bookingdb_owner', c.relname, c.relkind) AS violation
  FROM pg_catalog.pg_class c
 WHERE c.relnamespace = 'public'::regnamespace
   AND c.relowner = 'bookingdb_owner'::regrole
UNION ALL
SELECT pg_catalog.format('%s is in public and owned by bookingdb_owner', p.oid::regprocedure)
  FROM pg_catalog.pg_proc p
 WHERE p.pronamespace = 'public'::regnamespace
   AND p.proowner = 'bookingdb_owner'::regrole
ORDER BY 1;
