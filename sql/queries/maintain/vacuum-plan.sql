-- The tables the `vacuum` task of `bookingdb maintain` considers: bookingdb's own
-- tables in the booking and ops schemas (the audit-log partitions included; the
-- partitioned parent has no storage of its own), with the statistics the task decides
-- on. Read from pg_stat_user_tables and pg_class only: no table is scanned.
--   live, dead      live: the larger of pg_class.reltuples (what autovacuum's own
--                   thresholds scale with) and n_live_tup; dead: n_dead_tup. n_live_tup
--                   alone restarts from 0 after a statistics reset (a database made
--                   from a template, pg_stat_reset(), crash recovery) and then counts
--                   only the inserts since, so a few thousand dead tuples in a 1M-row
--                   table read as 90 % dead and set off a needless VACUUM (ANALYZE) of
--                   the whole table; the larger of the two also follows a table that
--                   grew since its last analyze
--   modified        n_mod_since_analyze (changes since the last analyze)
--   xid_age         age(relfrozenxid) of the table or of its TOAST table, the older
--                   (VACUUM of the table vacuums its TOAST table too)
-- Run as one autocommit statement, so it reads a fresh snapshot of the statistics.
SELECT s.schemaname::text AS schema, s.relname::text AS name,
       greatest(c.reltuples, s.n_live_tup)::float8 AS live,
       s.n_dead_tup::float8 AS dead,
       s.n_mod_since_analyze::float8 AS modified,
       greatest(pg_catalog.age(c.relfrozenxid), coalesce(pg_catalog.age(t.relfrozenxid), 0))::float8 AS xid_age,
       c.relpages::float8 AS pages
  FROM pg_catalog.pg_stat_user_tables s
  JOIN pg_catalog.pg_class c ON c.oid = s.relid
  LEFT JOIN pg_catalog.pg_class t ON t.oid = c.reltoastrelid
 WHERE s.schemaname IN ('booking', 'ops') AND c.relkind = 'r'
 ORDER BY s.schemaname, s.relname
