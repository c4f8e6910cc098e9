-- Reporting views. security_invoker: they read the tables with the caller's rights,
-- so the tenant policy applies and a caller sees its own tenant only (app.tenant_id).
-- Dropped and re-created on every deploy (columns may change); grants are re-applied
-- by sql/schema/90-grants.

-- Per tenant, location and local day (the location's time zone) of the booking's
-- start: how many bookings in each status and the revenue of the confirmed and
-- completed ones, per currency. Expired holds count as cancelled even before
-- maintenance has cancelled them.
DROP VIEW IF EXISTS booking.daily_dashboard;
CREATE VIEW booking.daily_dashboard WITH (security_invoker = true) AS
SELECT b.tenant_id,
       r.location_id,
       (b.starts AT TIME ZONE l.timezone)::date AS day,
       b.currency,
       count(*) AS bookings,
       count(*) FILTER (WHERE st.status = 'pending') AS pending,
       count(*) FILTER (WHERE st.status = 'confirmed') AS confirmed,
       count(*) FILTER (WHERE st.status = 'cancelled') AS cancelled,
       count(*) FILTER (WHERE st.status = 'completed') AS completed,
       count(*) FILTER (WHERE st.status = 'no_show') AS no_show,
       coalesce(sum(b.price_cents) FILTER (WHERE st.status IN ('confirmed', 'completed')), 0)::bigint
         AS revenue_cents
  FROM booking.bookings b
  JOIN booking.resources r ON r.tenant_id = b.tenant_id AND r.id = b.resource_id
  JOIN booking.locations l ON l.tenant_id = r.tenant_id AND l.id = r.location_id
  CROSS JOIN LATERAL (
    SELECT CASE WHEN b.status = 'pending' AND b.hold_expires_at <= now() THEN 'cancelled'
                ELSE b.status END AS status) AS st
 GROUP BY b.tenant_id, r.location_id, (b.starts AT TIME ZONE l.timezone)::date, b.currency;

COMMENT ON VIEW booking.daily_dashboard IS
  'bookings per tenant, location and local day: counts by status, revenue (confirmed + completed) per currency';
