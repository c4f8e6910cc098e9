/* bookingdb slow-queries: the marker in this comment keeps this statement out of its own list */
-- The statements of the current database (dbid) from pg_stat_statements, summed over
-- the roles that ran them (one row per queryid and toplevel), with each one's share of
-- the database's total execution time (computed before the filters, so shares do not
-- change with --min-ms or --limit). Text is PostgreSQL's normalised text: constants are
-- $n placeholders. @pgss@ is replaced by the quoted view name (the extension's schema is
-- found first; deploy puts it in `ext`).
--   $1 minimum mean execution time in ms, $2 row limit, $3 sort key: total | mean | calls
with per_query as (
  select s.queryid, s.toplevel,
         min(s.query) as query,
         sum(s.calls)::float8 as calls,
         sum(s.total_exec_time) as total_ms,
         max(s.max_exec_time) as max_ms,
         sum(s.rows)::float8 as rows,
         sum(s.shared_blks_hit)::float8 as blks_hit,
         sum(s.shared_blks_read)::float8 as blks_read,
         sum(s.temp_blks_written)::float8 as temp_blks_written,
         pg_catalog.array_agg(distinct coalesce(r.rolname::text, s.userid::text)) as roles
    from @pgss@ s
    left join pg_catalog.pg_roles r on r.oid = s.userid
   where s.dbid = (select d.oid from pg_catalog.pg_database d where d.datname = pg_catalog.current_database())
     and s.query not like '%bookingdb slow-queries%'
   group by s.queryid, s.toplevel
), everything as (
  select coalesce(sum(p.total_ms), 0) as total_ms from per_query p
)
select p.queryid::text as queryid, p.toplevel, p.query, p.calls, p.total_ms,
       case when p.calls > 0 then p.total_ms / p.calls else 0 end as mean_ms,
       p.max_ms, p.rows, p.blks_hit, p.blks_read, p.temp_blks_written, p.roles,
       case when e.total_ms > 0 then p.total_ms / e.total_ms end as share
  from per_query p cross join everything e
 where p.calls > 0 and p.total_ms / p.calls >= $1
 order by case $3 when 'mean' then p.total_ms / p.calls when 'calls' then p.calls else p.total_ms end desc,
          p.total_ms desc, p.queryid
 limit $2
