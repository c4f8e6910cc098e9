-- bookingdb: run as ops
-- reporting.daily_utilisation: per tenant, local day and resource kind, the working
-- minutes of the tenant's active resources of that kind against the minutes booked on
-- them. Cross-tenant materialized view owned by bookingdb_ops (see 010-daily-bookings.sql
-- for why); counts only, no PII. Refreshed CONCURRENTLY by `maintain --only refresh`.
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
--      through bookings_starts_idx, within the window only.
-- utilisation = booked_minutes / working_minutes (4 places), NULL without working time.
-- Resources inactive at the time of the refresh are not counted.
DROP MATERIALIZED VIEW IF EXISTS reporting.daily_utilisation;
CREATE MATERIALIZED VIEW reporting.daily_utilisation AS
WITH res AS (
  SELECT r.tenant_id, r.id AS resource_id, r.kind, l.timezone AS tz,
         (pg_catalog.now() AT TIME ZONE l.timezone)::date AS today
    FROM booking.resources r
    JOIN booking.locations l ON l.tenant_id = r.tenant_id AND l.id = r.location_id
   WHERE r.active
), days AS (
  SELECT res.tenant_id, res.resource_id, res.kind, res.tz, res.today + g.i AS day
    FROM res
   CROSS JOIN pg_catalog.generate_series(-90, 30) AS g(i)
), blocks AS (
  SELECT d.tenant_id, d.resource_id, d.kind, d.day,
         (d.day + wh.starts_local) AT TIME ZONE d.tz AS bstart,
         (d.day + wh.ends_local) AT TIME ZONE d.tz AS bend
    FROM days d
    JOIN booking.working_hours wh
      ON wh.tenant_id = d.tenant_id AND wh.resource_id = d.resource_id
     AND wh.weekday = EXTRACT(isodow FROM d.day)::smallint
), working AS (
  SELECT x.tenant_id, x.kind, x.day, pg_catalog.sum(GREATEST(x.seconds - x.off, 0)) AS seconds
    FROM (SELECT b.tenant_id, b.kind, b.day, EXTRACT(epoch FROM b.bend - b.bstart) AS seconds,
                 -- FILTER: LEAST/GREATEST skip NULLs, so a block without time off
                 -- would otherwise subtract itself
                 coalesce(pg_catalog.sum(EXTRACT(epoch FROM LEAST(t.ends, b.bend) - GREATEST(t.starts, b.bstart)))
                            FILTER (WHERE t.id IS NOT NULL), 0) AS off
            FROM blocks b
            LEFT JOIN booking.time_off t
              ON t.tenant_id = b.tenant_id AND t.resource_id = b.resource_id
             AND t.ends > b.bstart AND t.starts < b.bend
           WHERE b.bend > b.bstart
           GROUP BY b.tenant_id, b.kind, b.day, b.resource_id, b.bstart, b.bend) x
   GROUP BY x.tenant_id, x.kind, x.day
), window_bookings AS MATERIALIZED (
  -- the window's bookings, per tenant through bookings_starts_idx; MATERIALIZED, so the
  -- allocations below are hash-joined to them instead of probing the primary key once
  -- per allocation (at 1M bookings, 317,000 allocations in the window, on a loaded
  -- machine: 3.9-6.4 s a refresh instead of 5.3-10.2 s)
  SELECT b.tenant_id, b.id, b.starts, b.ends
    FROM booking.tenants t
   CROSS JOIN LATERAL (
     SELECT b.tenant_id, b.id, b.starts, b.ends
       FROM booking.bookings b
      WHERE b.tenant_id = t.id
        AND b.starts >= pg_catalog.now() - interval '92 days'
        AND b.starts < pg_catalog.now() + interval '32 days'
   ) b
), booked AS (
  SELECT r.tenant_id, r.kind, (b.starts AT TIME ZONE r.tz)::date AS day,
         pg_catalog.sum(EXTRACT(epoch FROM b.ends - b.starts)) AS seconds
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
   WHERE (b.starts AT TIME ZONE r.tz)::date BETWEEN r.today - 90 AND r.today + 30
   GROUP BY r.tenant_id, r.kind, (b.starts AT TIME ZONE r.tz)::date
), kinds AS (
  SELECT d.tenant_id, d.kind, d.day, pg_catalog.count(*) AS resources
    FROM days d
   GROUP BY d.tenant_id, d.kind, d.day
)
SELECT k.tenant_id,
       k.day,
       k.kind AS resource_kind,
       k.resources,
       pg_catalog.round(coalesce(w.seconds, 0) / 60)::integer AS working_minutes,
       pg_catalog.round(coalesce(bk.seconds, 0) / 60)::integer AS booked_minutes,
       CASE WHEN w.seconds > 0 THEN pg_catalog.round(coalesce(bk.seconds, 0) / w.seconds, 4) END AS utilisation
  FROM kinds k
  LEFT JOIN working w ON w.tenant_id = k.tenant_id AND w.kind = k.kind AND w.day = k.day
  LEFT JOIN booked bk ON bk.tenant_id = k.tenant_id AND bk.kind = k.kind AND bk.day = k.day
WITH DATA;

CREATE UNIQUE INDEX daily_utilisation_key ON reporting.daily_utilisation (tenant_id, day, resource_kind);

COMMENT ON MATERIALIZED VIEW reporting.daily_utilisation IS
  'per tenant, local day (today - 90 .. today + 30 at refresh) and resource kind: working vs booked minutes of the active resources; counts only';

REVOKE ALL ON reporting.daily_utilisation FROM PUBLIC;
GRANT SELECT ON reporting.daily_utilisation TO bookingdb_reporting;
