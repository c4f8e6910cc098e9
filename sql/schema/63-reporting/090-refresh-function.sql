-- bookingdb: run as ops
-- ops.refresh_reporting_view(p_view, p_restage): refreshes one materialized view of
-- schema reporting and returns how many rows it holds now. The views are their stage
-- tables (010-daily-bookings.sql): with p_restage (the default, for a call by hand)
-- every tenant's rows are computed into the stage first, in this one transaction;
-- `maintain` stages the tenants itself, one transaction and a pause each
-- (ops.reporting_stage_tenant), and then calls this with p_restage false. Owned by bookingdb_ops because
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
-- ops.reporting_tenants(): every tenant's id, for `maintain` to stage one at a time (an
-- owner login without BYPASSRLS sees no tenant under FORCE RLS). Ids only.
CREATE OR REPLACE FUNCTION ops.reporting_tenants()
  RETURNS SETOF uuid
  LANGUAGE sql
  STABLE
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
  SELECT t.id FROM booking.tenants t ORDER BY t.id
$$;

COMMENT ON FUNCTION ops.reporting_tenants() IS 'the ids of every tenant, in id order: what the reporting stage is computed for';
REVOKE ALL ON FUNCTION ops.reporting_tenants() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ops.reporting_tenants() TO bookingdb_owner;

-- ops.reporting_stage_tenant(p_view, p_tenant_id): replaces one tenant's rows of
-- reporting.<p_view>'s stage (one short transaction of the caller's) and returns how
-- many it has now. BK003 for a view without a stage.
CREATE OR REPLACE FUNCTION ops.reporting_stage_tenant(p_view text, p_tenant_id uuid)
  RETURNS bigint
  LANGUAGE plpgsql
  VOLATILE
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  CASE p_view
    WHEN 'daily_bookings' THEN RETURN ops.reporting_stage_daily_bookings(p_tenant_id);
    WHEN 'daily_utilisation' THEN RETURN ops.reporting_stage_daily_utilisation(p_tenant_id);
    ELSE
      RAISE EXCEPTION 'invalid argument: reporting.% has no stage', p_view
        USING ERRCODE = 'BK003', HINT = 'the reporting views are daily_bookings and daily_utilisation';
  END CASE;
END
$$;

COMMENT ON FUNCTION ops.reporting_stage_tenant(text, uuid) IS
  'replaces one tenant''s rows in the stage of reporting.<p_view> and returns how many it has now';
REVOKE ALL ON FUNCTION ops.reporting_stage_tenant(text, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ops.reporting_stage_tenant(text, uuid) TO bookingdb_owner;

DROP FUNCTION IF EXISTS ops.refresh_reporting_view(text);
CREATE OR REPLACE FUNCTION ops.refresh_reporting_view(p_view text, p_restage boolean DEFAULT true)
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
  v_tenant uuid;
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
  IF p_restage THEN
    FOR v_tenant IN SELECT t.id FROM ops.reporting_tenants() AS t(id) LOOP
      PERFORM ops.reporting_stage_tenant(p_view, v_tenant);
    END LOOP;
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

COMMENT ON FUNCTION ops.refresh_reporting_view(text, boolean) IS
  'refreshes reporting.<p_view> (CONCURRENTLY once populated) as its owner, from its stage (restaged for every tenant first unless p_restage is false), and returns its row count';

REVOKE ALL ON FUNCTION ops.refresh_reporting_view(text, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ops.refresh_reporting_view(text, boolean) TO bookingdb_owner;
