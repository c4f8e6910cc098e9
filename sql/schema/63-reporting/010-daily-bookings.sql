-- bookingdb: run as ops
-- reporting.daily_bookings: per tenant, local day and currency, the bookings that start
-- that day by status, revenue, and cancellation and no-show rates. Cross-tenant, so a
-- materialized view owned by bookingdb_ops (BYPASSRLS: REFRESH runs as the owner, and a
-- NOBYPASSRLS owner would see zero rows under FORCE RLS); aggregates only, no PII.
-- `bookingdb maintain --only refresh` refreshes it CONCURRENTLY (ops.refresh_reporting_view).
--
-- day: the local date of the booking's start in the time zone of its resource's location
--      (a tenant with locations in two zones adds up each location's local days).
-- Window: local days from today - 90 to today + 30 at the time of the refresh, read per
--      tenant through bookings_starts_idx (tenant_id, starts), so a refresh never reads
--      the whole history; older days drop out of the view as it moves on.
-- Only days with at least one booking have a row.
-- Statuses: a pending hold whose hold has lapsed counts as cancelled (as
--      booking.daily_dashboard does) even before `maintain` has cancelled it.
-- revenue_cents: price_cents of the confirmed and completed bookings (booked revenue);
-- completed_revenue_cents: of the completed ones only (revenue realised).
-- cancellation_rate = cancelled / bookings; no_show_rate = no_show / (completed +
--      no_show), the bookings whose outcome is known: NULL while there are none.
-- Dropped and re-created (WITH DATA, so the first CONCURRENTLY refresh works) when this
-- file changes.
DROP MATERIALIZED VIEW IF EXISTS reporting.daily_bookings;
CREATE MATERIALIZED VIEW reporting.daily_bookings AS
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
WITH DATA;

-- REFRESH ... CONCURRENTLY needs a unique index on plain columns, without a predicate.
CREATE UNIQUE INDEX daily_bookings_key ON reporting.daily_bookings (tenant_id, day, currency);

COMMENT ON MATERIALIZED VIEW reporting.daily_bookings IS
  'per tenant, local day (today - 90 .. today + 30 at refresh) and currency: bookings by status, revenue (confirmed + completed; completed), cancellation and no-show rates; counts only';

REVOKE ALL ON reporting.daily_bookings FROM PUBLIC;
GRANT SELECT ON reporting.daily_bookings TO bookingdb_reporting;
