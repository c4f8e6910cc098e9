-- Per resource and local day (the location's time zone): working minutes (weekly
-- hours of that weekday minus time off, DST-correct) against booked minutes (the
-- service time of active allocations starting that day whose hold, if any, has not
-- lapsed; buffers not counted). A view cannot take parameters, so it covers a rolling
-- window: 30 local days back to 30 days ahead of today. security_invoker: tenant
-- policy applies.
DROP VIEW IF EXISTS booking.resource_utilisation;
CREATE VIEW booking.resource_utilisation WITH (security_invoker = true) AS
WITH days AS (
  SELECT r.tenant_id, r.location_id, r.id AS resource_id, l.timezone AS tz,
         (now() AT TIME ZONE l.timezone)::date + g.i AS day
    FROM booking.resources r
    JOIN booking.locations l ON l.tenant_id = r.tenant_id AND l.id = r.location_id
   CROSS JOIN generate_series(-30, 30) AS g(i)
)
SELECT d.tenant_id,
       d.location_id,
       d.resource_id,
       d.day,
       w.working_minutes,
       bk.booked_minutes,
       CASE WHEN w.working_minutes > 0
            THEN round(bk.booked_minutes::numeric / w.working_minutes, 4) END AS utilisation
  FROM days d
 CROSS JOIN LATERAL (
   SELECT coalesce(round(sum(greatest(extract(epoch FROM blk.bend - blk.bstart) - coalesce(off.seconds, 0), 0)) / 60), 0)::integer
            AS working_minutes
     FROM booking.working_hours wh
    CROSS JOIN LATERAL (
      SELECT (d.day + wh.starts_local) AT TIME ZONE d.tz AS bstart,
             (d.day + wh.ends_local) AT TIME ZONE d.tz AS bend) AS blk
     LEFT JOIN LATERAL (
      SELECT sum(extract(epoch FROM least(t.ends, blk.bend) - greatest(t.starts, blk.bstart))) AS seconds
        FROM booking.time_off t
       WHERE t.tenant_id = d.tenant_id AND t.resource_id = d.resource_id
         AND t.starts < blk.bend AND t.ends > blk.bstart) AS off ON true
    WHERE wh.tenant_id = d.tenant_id AND wh.resource_id = d.resource_id
      AND wh.weekday = extract(isodow FROM d.day)::smallint
      AND blk.bend > blk.bstart
 ) AS w
 CROSS JOIN LATERAL (
   SELECT coalesce(round(sum(extract(epoch FROM b.ends - b.starts)) / 60), 0)::integer AS booked_minutes
     FROM booking.booking_allocations a
     JOIN booking.bookings b ON b.tenant_id = a.tenant_id AND b.id = a.booking_id
    WHERE a.tenant_id = d.tenant_id AND a.resource_id = d.resource_id AND a.active
      AND a.starts >= d.day::timestamp AT TIME ZONE d.tz
      AND a.starts < (d.day + 1)::timestamp AT TIME ZONE d.tz
      AND (a.hold_expires_at IS NULL OR a.hold_expires_at > now())
 ) AS bk;

COMMENT ON VIEW booking.resource_utilisation IS
  'working vs booked minutes per resource and local day, for the 30 days before and after today';
