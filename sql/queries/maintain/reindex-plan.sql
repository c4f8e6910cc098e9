-- The indexes the `reindex` task of `bookingdb maintain` considers: those of
-- bookingdb's schemas (booking, ops, reporting), with what it decides on, from the
-- catalog and the planner statistics only (no index or table is read; pgstattuple
-- is not needed):
--   valid, building   indisvalid; a CREATE INDEX / REINDEX (CONCURRENTLY) is running
--                     on the table now (pg_stat_progress_create_index): an invalid
--                     index may then be that build's own, and is left alone
--   exclusion         the index of an exclusion constraint (REINDEX CONCURRENTLY
--                     cannot rebuild it)
--   expected_pages    the btree estimate also used by health-check's index-bloat
--                     (check_postgres / ioguix): reltuples * (MAXALIGN(8 + key width) + 4)
--                     / ((block_size - 40) * fillfactor (default 90 %)) + 1 meta page,
--                     NULL when it cannot be estimated (an expression key, a key column
--                     without statistics, never analysed). For an exclusion (GiST)
--                     index the same formula is a rough yardstick: a fresh one reads
--                     about 1.8 times "bloated".
SELECT n.nspname::text AS schema, ic.relname::text AS name, tc.relname::text AS table_name,
       am.amname::text AS method, i.indisvalid AS valid,
       ic.relpages::float8 AS pages,
       ic.relpages::float8 * pg_catalog.current_setting('block_size')::float8 AS bytes,
       EXISTS (SELECT 1 FROM pg_catalog.pg_constraint x WHERE x.conindid = ic.oid AND x.contype = 'x') AS exclusion,
       EXISTS (SELECT 1 FROM pg_catalog.pg_stat_progress_create_index p WHERE p.relid = i.indrelid) AS building,
       CASE WHEN i.indexprs IS NULL AND k.nstats = i.indnatts AND ic.reltuples >= 0 AND tc.reltuples >= 0 THEN
         (pg_catalog.ceil(ic.reltuples::numeric * (8 * pg_catalog.ceil((8 + k.width) / 8) + 4)
           / ((pg_catalog.current_setting('block_size')::numeric - 40)
              * coalesce((SELECT (pg_catalog.regexp_match(o, '^fillfactor=(\d+)$'))[1]::numeric
                            FROM pg_catalog.unnest(ic.reloptions) o WHERE o LIKE 'fillfactor=%'), 90) / 100)) + 1)::float8
       END AS expected_pages
  FROM pg_catalog.pg_index i
  JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
  JOIN pg_catalog.pg_class tc ON tc.oid = i.indrelid
  JOIN pg_catalog.pg_am am ON am.oid = ic.relam
  JOIN pg_catalog.pg_namespace n ON n.oid = ic.relnamespace
  CROSS JOIN LATERAL (
    SELECT pg_catalog.count(s.avg_width) AS nstats, coalesce(pg_catalog.sum(s.avg_width), 0)::numeric AS width
      FROM pg_catalog.unnest(i.indkey::int2[]) AS key(attnum)
      JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = key.attnum
      JOIN pg_catalog.pg_namespace tn ON tn.oid = tc.relnamespace
      LEFT JOIN pg_catalog.pg_stats s
        ON s.schemaname = tn.nspname AND s.tablename = tc.relname AND s.attname = a.attname AND NOT s.inherited) k
 WHERE n.nspname IN ('booking', 'ops', 'reporting') AND ic.relkind = 'i'
 ORDER BY n.nspname, ic.relname
