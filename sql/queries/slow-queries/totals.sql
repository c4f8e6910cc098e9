/* bookingdb slow-queries */
-- How many distinct statements (queryid, toplevel) the current database has in
-- pg_stat_statements, and their total execution time: the denominator of every share.
-- @pgss@ is replaced by the quoted view name.
select count(distinct (s.queryid, s.toplevel))::int as statements,
       coalesce(sum(s.total_exec_time), 0)::float8 as total_ms
  from @pgss@ s
 where s.dbid = (select d.oid from pg_catalog.pg_database d where d.datname = pg_catalog.current_database())
   and s.query not like '%bookingdb slow-queries%'
