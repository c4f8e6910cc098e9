-- bookingdb: run as ops
-- reporting.daily_bookings: per tenant, local day and currency, the bookings that start
-- that day by status, revenue, and cancellation and no-show rates. Cross-tenant, so a
-- materialized view owned by bookingdb_ops (BYPASSRLS: REFRESH runs as the owner, and a
-- NOBYPASSRLS owner would see zero rows under FORCE RLS); aggregates only, no PII.
-- `bookingdb maintain --only refresh` refreshes it CONCURRENTLY (ops.refresh_reporting_view).
-- Staged per tenant: ops.reporting_stage_daily_bookings(tenant) computes one tenant's
-- rows into ops.reporting_daily_bookings_stage (migration 0013), replacing that tenant's
-- previous rows in one transaction, and the view is the stage. `maintain` stages the
-- tenants one by one with a pause after each (maintain.refresh.pauseRatio), so the work
-- of a refresh is spread out instead of keeping a core busy in one statement, then
-- REFRESHes the view CONCURRENTLY from the stage; ops.refresh_reporting_view(view)
-- called by hand stages every tenant first (unpaced). Each tenant's rows are from the
-- moment it was staged; "today" below is that moment's.
--
-- day: the local date of the booking's start in the time zone of its resource's location
--      (a tenant with locations in two zones adds up each location's local days).
-- Window: local days from today - 90 to today + 30 at the time of the refresh; older
--      days drop out of the view as it moves on.
-- Only days with at least one booking have a row.
-- Statuses: a pending hold whose hold has lapsed counts as cancelled (as
--      booking.daily_dashboard does) even before `maintain` has cancelled it.
-- revenue_cents: price_cents of the confirmed and completed bookings (booked revenue);
-- completed_revenue_cents: of the completed ones only (revenue realised).
-- cancellation_rate = cancelled / bookings; no_show_rate = no_show / (completed +
--      no_show), the bookings whose outcome is known: NULL while there are none.
-- How (the query runs on every `maintain`, under booking traffic, so it is built to be
--      cheap; same rows as the first definition, proven on 1M bookings by EXCEPT ALL both
--      ways and by test/maintain/refresh-equivalence.test.ts against that definition):
--      - the window's bookings come from an index-only scan of bookings_starts_idx,
--        which carries what this view reads (INCLUDE, migration 0012), instead of
--        reading (and deforming) the wide booking rows;
--      - a tenant whose locations all share one time zone (the common case) takes it
--        from a 20-row lookup joined on tenant_id alone, not through a join to
--        resources and locations per booking; only tenants with locations in several
--        zones take each booking's zone through its resource (FOREIGN KEYs make both
--        give the same rows: every booking has a resource, every resource a location);
--      - one hash aggregate over (tenant_id, day, currency); the rates are computed from
--        its counts.
-- Dropped and re-created (WITH DATA, so the first CONCURRENTLY refresh works) when this
-- file changes; every tenant is staged first, so the new view has rows.
CREATE OR REPLACE FUNCTION ops.reporting_stage_daily_bookings(p_tenant_id uuid)
  RETURNS bigint
  LANGUAGE plpgsql
  VOLATILE
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  SET work_mem = '64MB'
  SET max_parallel_workers_per_gather = 0
AS $fn$
DECLARE
  v_rows bigint;
BEGIN
  DELETE FROM ops.reporting_daily_bookings_stage s WHERE s.tenant_id = p_tenant_id;
  INSERT INTO ops.reporting_daily_bookings_stage (tenant_id, day, currency, bookings, pending, confirmed, cancelled, completed, no_show,
                                                   revenue_cents, completed_revenue_cents, cancellation_rate, no_show_rate, staged_at)
WITH zones AS (
  SELECT t.id AS tenant_id,
         CASE WHEN pg_catalog.count(DISTINCT l.timezone) = 1 THEN pg_catalog.min(l.timezone) END AS tz
    FROM booking.tenants t
    LEFT JOIN booking.locations l ON l.tenant_id = t.id
   WHERE t.id = p_tenant_id
   GROUP BY t.id
), zone_days AS MATERIALIZED (
  -- "today" once per tenant, not once per booking
  SELECT z.tenant_id, z.tz, (pg_catalog.now() AT TIME ZONE z.tz)::date AS today FROM zones z
), rows AS (
  SELECT b.tenant_id, (b.starts AT TIME ZONE z.tz)::date AS day, b.currency,
         CASE WHEN b.status = 'pending' AND b.hold_expires_at <= pg_catalog.now() THEN 'cancelled'
              ELSE b.status END AS status,
         b.price_cents
    FROM booking.bookings b
    JOIN zone_days z ON z.tenant_id = b.tenant_id AND z.tz IS NOT NULL
   WHERE b.tenant_id = p_tenant_id
     AND b.starts >= pg_catalog.now() - interval '92 days'
     AND b.starts < pg_catalog.now() + interval '32 days'
     AND (b.starts AT TIME ZONE z.tz)::date BETWEEN z.today - 90 AND z.today + 30
  UNION ALL
  SELECT b.tenant_id, (b.starts AT TIME ZONE l.timezone)::date, b.currency,
         CASE WHEN b.status = 'pending' AND b.hold_expires_at <= pg_catalog.now() THEN 'cancelled'
              ELSE b.status END,
         b.price_cents
    FROM zone_days z
    JOIN booking.bookings b ON b.tenant_id = z.tenant_id
    JOIN booking.resources r ON r.tenant_id = b.tenant_id AND r.id = b.resource_id
    JOIN booking.locations l ON l.tenant_id = r.tenant_id AND l.id = r.location_id
   WHERE z.tz IS NULL AND b.tenant_id = p_tenant_id
     AND b.starts >= pg_catalog.now() - interval '92 days'
     AND b.starts < pg_catalog.now() + interval '32 days'
     AND (b.starts AT TIME ZONE l.timezone)::date
           BETWEEN (pg_catalog.now() AT TIME ZONE l.timezone)::date - 90
               AND (pg_catalog.now() AT TIME ZONE l.timezone)::date + 30
), k AS (
  SELECT x.tenant_id, x.day, x.currency,
         pg_catalog.count(*) AS bookings,
         pg_catalog.count(*) FILTER (WHERE x.status = 'pending') AS pending,
         pg_catalog.count(*) FILTER (WHERE x.status = 'confirmed') AS confirmed,
         pg_catalog.count(*) FILTER (WHERE x.status = 'cancelled') AS cancelled,
         pg_catalog.count(*) FILTER (WHERE x.status = 'completed') AS completed,
         pg_catalog.count(*) FILTER (WHERE x.status = 'no_show') AS no_show,
         coalesce(pg_catalog.sum(x.price_cents) FILTER (WHERE x.status IN ('confirmed', 'completed')), 0)::bigint AS revenue_cents,
         coalesce(pg_catalog.sum(x.price_cents) FILTER (WHERE x.status = 'completed'), 0)::bigint AS completed_revenue_cents
    FROM rows x
   GROUP BY x.tenant_id, x.day, x.currency
)
SELECT k.tenant_id, k.day, k.currency,
       k.bookings, k.pending, k.confirmed, k.cancelled, k.completed, k.no_show,
       k.revenue_cents, k.completed_revenue_cents,
       pg_catalog.round(k.cancelled::numeric / k.bookings, 4) AS cancellation_rate,
       pg_catalog.round(k.no_show::numeric / NULLIF(k.completed + k.no_show, 0), 4) AS no_show_rate,
       pg_catalog.now()
  FROM k;
  GET DIAGNOSTICS v_rows = ROW_COUNT;
  RETURN v_rows;
END
$fn$;

COMMENT ON FUNCTION ops.reporting_stage_daily_bookings(uuid) IS
  'replaces one tenant''s rows of reporting.daily_bookings in its stage table and returns how many it has now';

REVOKE ALL ON FUNCTION ops.reporting_stage_daily_bookings(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ops.reporting_stage_daily_bookings(uuid) TO bookingdb_owner;

DROP MATERIALIZED VIEW IF EXISTS reporting.daily_bookings;
SELECT pg_catalog.count(ops.reporting_stage_daily_bookings(t.id)) FROM booking.tenants t;
CREATE MATERIALIZED VIEW reporting.daily_bookings AS
SELECT s.tenant_id, s.day, s.currency, s.bookings, s.pending, s.confirmed, s.cancelled, s.completed, s.no_show,
       s.revenue_cents, s.completed_revenue_cents, s.cancellation_rate, s.no_show_rate
  FROM ops.reporting_daily_bookings_stage s
WITH DATA;

-- REFRESH ... CONCURRENTLY needs a unique index on plain columns, without a predicate.
CREATE UNIQUE INDEX daily_bookings_key ON reporting.daily_bookings (tenant_id, day, currency);

COMMENT ON MATERIALIZED VIEW reporting.daily_bookings IS
  'per tenant, local day (today - 90 .. today + 30 at refresh) and currency: bookings by status, revenue (confirmed + completed; completed), cancellation and no-show rates; counts only';

REVOKE ALL ON reporting.daily_bookings FROM PUBLIC;
GRANT SELECT ON reporting.daily_bookings TO bookingdb_reporting;
