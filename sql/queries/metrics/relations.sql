-- The largest relations of the database (table + indexes + TOAST), estimated from
-- pg_class.relpages as of the last VACUUM/ANALYZE (autovacuum keeps them current).
-- Exact sizes (pg_total_relation_size) would take an ACCESS SHARE lock on every table,
-- so a migration holding ACCESS EXCLUSIVE would stall or fail the scrape; the catalog
-- read takes none. $1: how many.
SELECT n.nspname || '.' || c.relname AS relation,
       ((c.relpages::bigint
         + coalesce((SELECT t.relpages FROM pg_catalog.pg_class t WHERE t.oid = c.reltoastrelid), 0)
         + coalesce((SELECT pg_catalog.sum(i.relpages) FROM pg_catalog.pg_index x
                       JOIN pg_catalog.pg_class i ON i.oid = x.indexrelid
                      WHERE x.indrelid = c.oid), 0))
        * pg_catalog.current_setting('block_size')::bigint)::float8 AS bytes
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'm')
   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname NOT LIKE 'pg\_toast%'
 ORDER BY bytes DESC, relation
 LIMIT $1::int
