-- bookingdb: run as ops
-- ops.refresh_reporting_view(p_view): refreshes one materialized view of schema
-- reporting and returns how many rows it holds now. Owned by bookingdb_ops because
-- REFRESH may only be run by the view's owner (and runs the view's query as it), and
-- nobody is a member of ops; EXECUTE to owner, as `bookingdb maintain` runs as a
-- superuser or an owner login.
-- CONCURRENTLY when the view is populated (readers keep reading the old rows; it takes
-- an EXCLUSIVE lock, which only another refresh or an explicit LOCK conflicts with);
-- a view that was never populated cannot be refreshed concurrently, and nobody can read
-- it yet, so that first refresh is a plain one.
-- work_mem 64MB for the refresh (SET clause): the views aggregate ~340,000 window rows
-- at 1M bookings, and with the default 4MB their joins and aggregates spill to temporary
-- files; one maintenance session at a time uses it (maintain holds its advisory lock).
-- max_parallel_workers_per_gather 0: a refresh is background work, and parallel workers
-- would spread it over every core the booking traffic needs (on 2 cores, both); one
-- backend bounds what a refresh takes from the traffic to one core.
-- The caller sets lock_timeout (the function has no SET clause for it, so the caller's
-- setting applies); 55P03 reaches the caller, which retries and names the blocker.
-- Errors: BK003 when p_view is not a materialized view in reporting; 42501 when ops
-- lacks TEMPORARY on the database (deploy grants it: the diff is a temporary table).
CREATE OR REPLACE FUNCTION ops.refresh_reporting_view(p_view text)
  RETURNS TABLE(view_name text, was_concurrent boolean, row_count bigint)
  LANGUAGE plpgsql
  VOLATILE
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  SET work_mem = '64MB'
  SET max_parallel_workers_per_gather = 0
AS $$
DECLARE
  v_rel regclass;
  v_populated boolean;
BEGIN
  SELECT c.oid::regclass, c.relispopulated INTO v_rel, v_populated
    FROM pg_catalog.pg_class c
   WHERE c.relnamespace = 'reporting'::regnamespace AND c.relkind = 'm' AND c.relname = p_view;
  IF v_rel IS NULL THEN
    RAISE EXCEPTION 'invalid argument: reporting.% is not a materialized view', p_view
      USING ERRCODE = 'BK003', HINT = 'run `bookingdb deploy` to create the reporting views';
  END IF;
  IF v_populated AND NOT pg_catalog.has_database_privilege(current_user, pg_catalog.current_database(), 'TEMPORARY') THEN
    RAISE EXCEPTION '% lacks TEMPORARY on database %, and REFRESH MATERIALIZED VIEW CONCURRENTLY builds its diff in a temporary table',
        current_user, pg_catalog.current_database()
      USING ERRCODE = '42501',
            HINT = pg_catalog.format('run `bookingdb deploy` as a superuser (it grants it), or GRANT TEMPORARY ON DATABASE %I TO %I',
                                     pg_catalog.current_database(), current_user);
  END IF;
  IF v_populated THEN
    EXECUTE pg_catalog.format('REFRESH MATERIALIZED VIEW CONCURRENTLY %s', v_rel);
  ELSE
    EXECUTE pg_catalog.format('REFRESH MATERIALIZED VIEW %s', v_rel);
  END IF;
  view_name := v_rel::text;
  was_concurrent := v_populated;
  EXECUTE pg_catalog.format('SELECT pg_catalog.count(*) FROM %s', v_rel) INTO row_count;
  RETURN NEXT;
END
$$;

COMMENT ON FUNCTION ops.refresh_reporting_view(text) IS
  'refreshes reporting.<p_view> (CONCURRENTLY once populated) as its owner and returns its row count';

REVOKE ALL ON FUNCTION ops.refresh_reporting_view(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ops.refresh_reporting_view(text) TO bookingdb_owner;
