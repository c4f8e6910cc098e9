-- bookingdb: run as ops
-- reporting.daily_utilisation: per tenant, local day and resource kind, the working
-- minutes of the tenant's active resources of that kind against the minutes booked on
-- them. Cross-tenant materialized view owned by bookingdb_ops (see 010-daily-bookings.sql
-- for why); counts only, no PII. Refreshed CONCURRENTLY by `maintain --only refresh`,
-- from ops.reporting_daily_utilisation_stage, which ops.reporting_stage_daily_utilisation
-- (tenant) fills one tenant at a time (see 010-daily-bookings.sql for how and why).
--
-- Window: local days today - 90 .. today + 30 of each location, one row per day for
--      every tenant and kind with an active resource (days without hours included).
-- working_minutes: the weekly hours of that ISO weekday, as instants built from the
--      local date and wall-clock time (DST days keep their wall-clock hours, as in
--      booking.resource_utilisation), minus the time off that overlaps each block.
-- booked_minutes: the service time (buffers not counted) of active allocations on those
--      resources whose booking starts that local day and whose hold, if any, has not
--      lapsed: confirmed, completed, no-show and live pending bookings; cancelled ones
--      have no active allocation. A booking that allocates two resources counts on each.
--      Read per resource through booking_allocations_resource_starts_idx and per tenant
--      through bookings_starts_idx (index-only scans: both carry what is read), within
--      the window only.
-- utilisation = booked_minutes / working_minutes (4 places), NULL without working time.
-- How (cheap enough for every `maintain` under booking traffic; same rows as the first
--      definition, proven on 1M bookings by EXCEPT ALL both ways and by
--      test/maintain/refresh-equivalence.test.ts): each weekly block is generated only
--      on the window's days with its ISO weekday (first such day, then every 7th)
--      instead of expanding resource x 121 days and joining the hours, and its instants
--      are computed once (MATERIALIZED); only the time off that can overlap the window
--      is joined; resource counts per day come from the resources, not the expansion.
-- Resources inactive at the time of the refresh are not counted.
CREATE OR REPLACE FUNCTION ops.reporting_stage_daily_utilisation(p_tenant_id uuid)
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
  DELETE FROM ops.reporting_daily_utilisation_stage s WHERE s.tenant_id = p_tenant_id;
  INSERT INTO ops.reporting_daily_utilisation_stage (tenant_id, day, resource_kind, resources, working_minutes, booked_minutes,
                                                       utilisation, staged_at)
WITH res AS MATERIALIZED (
  SELECT r.tenant_id, r.id AS resource_id, r.kind, l.timezone AS tz,
         (pg_catalog.now() AT TIME ZONE l.timezone)::date AS today
    FROM booking.resources r
    JOIN booking.locations l ON l.tenant_id = r.tenant_id AND l.id = r.location_id
   WHERE r.active AND r.tenant_id = p_tenant_id
), blocks AS MATERIALIZED (
  -- each weekly block on the days of the window with its ISO weekday: the first such
  -- day, then every 7th (no resource x day x hours expansion to throw away)
  SELECT r.tenant_id, r.resource_id, r.kind, f.first + 7 * g.i AS day,
         ((f.first + 7 * g.i) + wh.starts_local) AT TIME ZONE r.tz AS bstart,
         ((f.first + 7 * g.i) + wh.ends_local) AT TIME ZONE r.tz AS bend
    FROM res r
    JOIN booking.working_hours wh ON wh.tenant_id = r.tenant_id AND wh.resource_id = r.resource_id
   CROSS JOIN LATERAL (
     SELECT (r.today - 90) + ((wh.weekday - EXTRACT(isodow FROM r.today - 90)::integer + 7) % 7) AS first
   ) f
   CROSS JOIN LATERAL pg_catalog.generate_series(0, ((r.today + 30) - f.first) / 7) AS g(i)
), off AS MATERIALIZED (
  -- the time off that can overlap a block of the window (blocks lie within now() -
  -- 92 days .. now() + 32 days in UTC, whatever the zone)
  SELECT t.tenant_id, t.resource_id, t.id, t.starts, t.ends
    FROM booking.time_off t
   WHERE t.tenant_id = p_tenant_id
     AND t.ends > pg_catalog.now() - interval '93 days' AND t.starts < pg_catalog.now() + interval '33 days'
), working AS (
  SELECT x.tenant_id, x.kind, x.day, pg_catalog.sum(GREATEST(x.seconds - x.off, 0)) AS seconds
    FROM (SELECT b.tenant_id, b.kind, b.day, EXTRACT(epoch FROM b.bend - b.bstart) AS seconds,
                 coalesce(pg_catalog.sum(EXTRACT(epoch FROM LEAST(t.ends, b.bend) - GREATEST(t.starts, b.bstart)))
                            FILTER (WHERE t.id IS NOT NULL), 0) AS off
            FROM blocks b
            LEFT JOIN off t
              ON t.tenant_id = b.tenant_id AND t.resource_id = b.resource_id
             AND t.ends > b.bstart AND t.starts < b.bend
           WHERE b.bend > b.bstart
           GROUP BY b.tenant_id, b.kind, b.day, b.resource_id, b.bstart, b.bend) x
   GROUP BY x.tenant_id, x.kind, x.day
), window_bookings AS MATERIALIZED (
  -- the window's bookings, per tenant (an index-only scan of bookings_starts_idx, which
  -- carries id and ends); MATERIALIZED, so the allocations below are hash-joined to them
  -- instead of probing the primary key once per allocation
  SELECT b.tenant_id, b.id, b.starts, b.ends
    FROM booking.tenants t
   CROSS JOIN LATERAL (
     SELECT b.tenant_id, b.id, b.starts, b.ends
       FROM booking.bookings b
      WHERE b.tenant_id = t.id
        AND b.starts >= pg_catalog.now() - interval '92 days'
        AND b.starts < pg_catalog.now() + interval '32 days'
   ) b
   WHERE t.id = p_tenant_id
), booked AS (
  SELECT x.tenant_id, x.kind, x.day, pg_catalog.sum(EXTRACT(epoch FROM x.ends - x.starts)) AS seconds
    FROM (SELECT r.tenant_id, r.kind, r.today, (b.starts AT TIME ZONE r.tz)::date AS day, b.starts, b.ends
            FROM res r
           CROSS JOIN LATERAL (
             SELECT a.tenant_id, a.booking_id
               FROM booking.booking_allocations a
              WHERE a.tenant_id = r.tenant_id AND a.resource_id = r.resource_id AND a.active
                AND a.starts >= pg_catalog.now() - interval '93 days'
                AND a.starts < pg_catalog.now() + interval '33 days'
                AND (a.hold_expires_at IS NULL OR a.hold_expires_at > pg_catalog.now())
           ) a
            JOIN window_bookings b ON b.tenant_id = a.tenant_id AND b.id = a.booking_id
          OFFSET 0) x
   WHERE x.day BETWEEN x.today - 90 AND x.today + 30
   GROUP BY x.tenant_id, x.kind, x.day
), kinds AS (
  SELECT c.tenant_id, c.kind, c.today + g.i AS day, pg_catalog.sum(c.n)::bigint AS resources
    FROM (SELECT res.tenant_id, res.kind, res.today, pg_catalog.count(*) AS n
            FROM res GROUP BY res.tenant_id, res.kind, res.today) c
   CROSS JOIN pg_catalog.generate_series(-90, 30) AS g(i)
   GROUP BY c.tenant_id, c.kind, c.today + g.i
)
SELECT k.tenant_id,
       k.day,
       k.kind AS resource_kind,
       k.resources,
       pg_catalog.round(coalesce(w.seconds, 0) / 60)::integer AS working_minutes,
       pg_catalog.round(coalesce(bk.seconds, 0) / 60)::integer AS booked_minutes,
       CASE WHEN w.seconds > 0 THEN pg_catalog.round(coalesce(bk.seconds, 0) / w.seconds, 4) END AS utilisation,
       pg_catalog.now()
  FROM kinds k
  LEFT JOIN working w ON w.tenant_id = k.tenant_id AND w.kind = k.kind AND w.day = k.day
  LEFT JOIN booked bk ON bk.tenant_id = k.tenant_id AND bk.kind = k.kind AND bk.day = k.day;
  GET DIAGNOSTICS v_rows = ROW_COUNT;
  RETURN v_rows;
END
$fn$;

COMMENT ON FUNCTION ops.reporting_stage_daily_utilisation(uuid) IS
  'replaces one tenant''s rows of reporting.daily_utilisation in its stage table and returns how many it has now';

REVOKE ALL ON FUNCTION ops.reporting_stage_daily_utilisation(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ops.reporting_stage_daily_utilisation(uuid) TO bookingdb_owner;

DROP MATERIALIZED VIEW IF EXISTS reporting.daily_utilisation;
SELECT pg_catalog.count(ops.reporting_stage_daily_utilisation(t.id)) FROM booking.tenants t;
CREATE MATERIALIZED VIEW reporting.daily_utilisation AS
SELECT s.tenant_id, s.day, s.resource_kind, s.resources, s.working_minutes, s.booked_minutes, s.utilisation
  FROM ops.reporting_daily_utilisation_stage s
WITH DATA;

CREATE UNIQUE INDEX daily_utilisation_key ON reporting.daily_utilisation (tenant_id, day, resource_kind);

COMMENT ON MATERIALIZED VIEW reporting.daily_utilisation IS
  'per tenant, local day (today - 90 .. today + 30 at refresh) and resource kind: working vs booked minutes of the active resources; counts only';

REVOKE ALL ON reporting.daily_utilisation FROM PUBLIC;
GRANT SELECT ON reporting.daily_utilisation TO bookingdb_reporting;
