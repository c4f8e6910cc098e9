-- The objects `bookingdb deploy --citus` distributes, read from the catalog with the
-- split of sql/verify/citus-invariants.sql: booking/ops tables with a tenant_id column
-- are 'distributed' (by tenant_id), the booking tables without one are 'reference'; the
-- other ops tables stay local on the coordinator and are not listed. Partitions are not
-- listed (Citus distributes a partitioned table's partitions with it). API functions
-- (SECURITY DEFINER in booking) are 'function', as regprocedure text. `refs` are the
-- listed tables this table's foreign keys point at (the order Citus needs: a referenced
-- table is distributed first).
WITH tables AS (
  SELECT c.oid, c.oid::regclass::text AS name,
         CASE WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                            WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)
              THEN 'distributed' ELSE 'reference' END AS kind,
         n.nspname
    FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname IN ('booking', 'ops') AND c.relkind IN ('r', 'p') AND NOT c.relispartition
)
SELECT t.kind, t.name,
       coalesce((SELECT pg_catalog.array_agg(DISTINCT r.name ORDER BY r.name)
                   FROM pg_catalog.pg_constraint con
                   JOIN tables r ON r.oid = con.confrelid
                  WHERE con.conrelid = t.oid AND con.contype = 'f' AND con.confrelid <> t.oid), '{}') AS refs
  FROM tables t
 WHERE t.kind = 'distributed' OR t.nspname = 'booking'
UNION ALL
SELECT 'function', p.oid::regprocedure::text, '{}'
  FROM pg_catalog.pg_proc p
 WHERE p.pronamespace = 'booking'::regnamespace AND p.prosecdef
ORDER BY 1, 2;
