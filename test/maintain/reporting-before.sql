-- The reporting views' first definitions (sql/schema/63-reporting as of session 13),
-- kept as the reference that test/maintain/refresh-equivalence.test.ts compares the
-- current, cheaper definitions with: same rows, both ways (EXCEPT ALL), on data that
-- exercises every branch (a tenant in two zones, DST, duplicate hours, time off,
-- lapsed and live holds, two currencies, a booking on two resources).
-- name: daily_bookings
SELECT k.tenant_id,
       k.day,
       k.currency,
       pg_catalog.count(*) AS bookings,
       pg_catalog.count(*) FILTER (WHERE k.status = 'pending') AS pending,
       pg_catalog.count(*) FILTER (WHERE k.status = 'confirmed') AS confirmed,
       pg_catalog.count(*) FILTER (WHERE k.status = 'cancelled') AS cancelled,
       pg_catalog.count(*) FILTER (WHERE k.status = 'completed') AS completed,
       pg_catalog.count(*) FILTER (WHERE k.status = 'no_show') AS no_show,
       coalesce(pg_catalog.sum(k.price_cents) FILTER (WHERE k.status IN ('confirmed', 'completed')), 0)::bigint
         AS revenue_cents,
       coalesce(pg_catalog.sum(k.price_cents) FILTER (WHERE k.status = 'completed'), 0)::bigint
         AS completed_revenue_cents,
       pg_catalog.round(pg_catalog.count(*) FILTER (WHERE k.status = 'cancelled')::numeric
                        / pg_catalog.count(*), 4) AS cancellation_rate,
       pg_catalog.round(pg_catalog.count(*) FILTER (WHERE k.status = 'no_show')::numeric
                        / NULLIF(pg_catalog.count(*) FILTER (WHERE k.status IN ('completed', 'no_show')), 0), 4)
         AS no_show_rate
  FROM booking.tenants t
 CROSS JOIN LATERAL (
   SELECT b.tenant_id,
          (b.starts AT TIME ZONE l.timezone)::date AS day,
          b.currency,
          CASE WHEN b.status = 'pending' AND b.hold_expires_at <= pg_catalog.now() THEN 'cancelled'
               ELSE b.status END AS status,
          b.price_cents
     FROM booking.bookings b
     JOIN booking.resources r ON r.tenant_id = b.tenant_id AND r.id = b.resource_id
     JOIN booking.locations l ON l.tenant_id = r.tenant_id AND l.id = r.location_id
    -- the UTC bounds are a day wider than the local window, for every time zone
    WHERE b.tenant_id = t.id
      AND b.starts >= pg_catalog.now() - interval '92 days'
      AND b.starts < pg_catalog.now() + interval '32 days'
      AND (b.starts AT TIME ZONE l.timezone)::date
            BETWEEN (pg_catalog.now() AT TIME ZONE l.timezone)::date - 90
                AND (pg_catalog.now() AT TIME ZONE l.timezone)::date + 30
 ) k
 GROUP BY k.tenant_id, k.day, k.currency
-- name: daily_utilisation
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
