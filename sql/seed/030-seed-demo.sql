-- Demo data, entry point: pg_temp.seed_demo(tenants, locations per tenant, resources per
-- location, days, bookings) seeds the tenants that do not exist yet and returns what it
-- created, the slugs of the demo tenants it skipped because they exist, and the capacity:
-- how many bookings fit the new tenants' hours (bookings = least(requested, capacity)).
-- Runs inside the caller's transaction; random() is seeded, so the same options give the
-- same shape of data (ids differ). search_path is pinned (see 010-catalogue.sql).
CREATE OR REPLACE FUNCTION pg_temp.seed_demo(p_tenants integer, p_locations integer, p_resources integer,
                                             p_days integer, p_bookings bigint)
  RETURNS TABLE (tenants bigint, locations bigint, resources bigint, services bigint,
                 customers bigint, bookings bigint, capacity bigint, skipped text[])
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM pg_catalog.set_config('work_mem', '256MB', true);
  PERFORM pg_catalog.setseed(0.42);
  PERFORM pg_temp.seed_demo_catalogue(p_tenants, p_locations, p_resources, p_days);
  PERFORM pg_temp.seed_demo_bookings(p_days, p_bookings);
  RETURN QUERY
  SELECT (SELECT count(*) FROM seed_tenants), (SELECT count(*) FROM seed_locations),
         (SELECT count(*) FROM seed_resources), (SELECT count(*) FROM seed_services),
         (SELECT count(*) FROM seed_customers), (SELECT count(*) FROM seed_final),
         (SELECT count(*) FROM seed_tiles),
         (SELECT coalesce(array_agg(c.slug ORDER BY c.ord), '{}') FROM seed_candidates c WHERE c.existing);
END
$$;
