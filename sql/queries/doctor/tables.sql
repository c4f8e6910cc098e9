-- doctor: storage parameters (reloptions) and size estimates of the booking tables it
-- advises per-table autovacuum settings for. Catalog only: reads no table.
--   $1 table names in schema booking
select c.relname::text as name,
       coalesce(c.reloptions, '{}')::text[] as reloptions,
       greatest(c.reltuples, 0)::float8 as estimated_rows,
       coalesce(s.n_dead_tup, 0)::float8 as dead_rows
  from pg_catalog.pg_class c
  join pg_catalog.pg_namespace n on n.oid = c.relnamespace
  left join pg_catalog.pg_stat_all_tables s on s.relid = c.oid
 where n.nspname = 'booking' and c.relname = any($1::text[])
 order by c.relname
