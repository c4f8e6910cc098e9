-- Dead and live tuples of the bookingdb tables (booking, ops, reporting schemas), from
-- the statistics collector: no table is read.
SELECT s.schemaname || '.' || s.relname AS relation,
       s.n_dead_tup::float8 AS dead, s.n_live_tup::float8 AS live
  FROM pg_catalog.pg_stat_user_tables s
 WHERE s.schemaname IN ('booking', 'ops', 'reporting')
 ORDER BY relation
