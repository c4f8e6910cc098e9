/* bookingdb slow-queries: the marker in this comment keeps this statement out of its own list */
-- The statements of the current database (dbid) from pg_stat_statements, summed over
-- the roles that ran them (one row per queryid and toplevel), ranked by total time, mean
-- time and calls in ONE read of the view (each read loads the whole query-text file).
-- Shares are of the database's total execution time before the filters, so they do not
-- change with --min-ms or --limit. Text is PostgreSQL's normalised text: constants are
-- $n placeholders. @pgss@ is replaced by the quoted view name (the extension's schema is
-- found first; deploy puts it in `ext`). Always returns at least one row (the totals;
-- queryid NULL when no statement passes the filters).
--   $1 minimum mean execution time in ms, $2 rows per ranking, $3 rankings wanted (total, mean, calls)
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
  select coalesce(sum(p.total_ms), 0)::float8 as total_ms, count(*)::int as statements from per_query p
), ranked as (
  select p.*, p.total_ms / p.calls as mean_ms,
         row_number() over (order by p.total_ms desc, p.queryid) as rank_total,
         row_number() over (order by p.total_ms / p.calls desc, p.total_ms desc, p.queryid) as rank_mean,
         row_number() over (order by p.calls desc, p.total_ms desc, p.queryid) as rank_calls
    from per_query p
   where p.calls > 0 and p.total_ms / p.calls >= $1
)
select r.queryid::text as queryid, r.toplevel, r.query, r.calls, r.total_ms, r.mean_ms,
       r.max_ms, r.rows, r.blks_hit, r.blks_read, r.temp_blks_written, r.roles,
       r.rank_total, r.rank_mean, r.rank_calls,
       case when e.total_ms > 0 then r.total_ms / e.total_ms end as share,
       e.total_ms as database_total_ms, e.statements as database_statements
  from everything e
  left join ranked r
    on ('total' = any($3::text[]) and r.rank_total <= $2)
    or ('mean' = any($3::text[]) and r.rank_mean <= $2)
    or ('calls' = any($3::text[]) and r.rank_calls <= $2)
