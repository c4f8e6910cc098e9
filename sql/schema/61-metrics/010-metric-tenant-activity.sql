-- bookingdb: run as ops
-- ops.metric_tenant_activity(p_from, p_to): one row per tenant with what `bookingdb
-- metrics` reports per tenant. Owned by bookingdb_ops (BYPASSRLS) because it counts
-- across tenants; returns the tenant's id and slug and counts only (no PII).
-- EXECUTE to monitor (metrics, metrics serve) and owner (metrics --store as an owner
-- login); the app role cannot run it.
--
-- Counters, from ops.audit_log rows with occurred_at in [p_from, p_to):
--   created   = 'booking.book'   (every booking made by book(), held or confirmed at once)
--   confirmed = 'booking.confirm' (a pending hold confirmed)
--   cancelled = 'booking.cancel'
--   expired   = 'booking.expire'  (a hold that lapsed)
--   offers    = 'waitlist.offer'  (a freed slot offered to the waitlist as a hold)
-- Read per tenant through the audit log's primary key (tenant_id, occurred_at, id) and
-- run-time partition pruning: the rows read are the window's rows only, whatever the
-- size of the log. The caller keeps the window short (the time since the previous
-- snapshot, at most metrics.windowMinutes).
-- Gauges, now:
--   holds_pending    = pending bookings whose hold has not lapsed (partial index
--                      bookings_pending_holds_idx)
--   waitlist_waiting = waitlist entries still waiting (partial index waitlist_entries_waiting_idx)
--   booked/working_seconds_today = resource utilisation of today, the local day of
--                      each location: service time of bookings starting that day that
--                      still hold their slot (cancelled and lapsed holds excluded,
--                      buffers not counted, as booking.resource_utilisation counts),
--                      against the weekly hours of that weekday of the active
--                      resources minus their time off. Read per location through
--                      bookings_starts_idx (one local day of bookings).
CREATE OR REPLACE FUNCTION ops.metric_tenant_activity(p_from timestamptz, p_to timestamptz)
  RETURNS TABLE(tenant_id uuid, slug text, created bigint, confirmed bigint, cancelled bigint,
                expired bigint, offers bigint, holds_pending bigint, waitlist_waiting bigint,
                booked_seconds_today bigint, working_seconds_today bigint)
  LANGUAGE plpgsql
  STABLE
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
BEGIN
  -- plpgsql rather than SQL: its plan is cached for the session, so `metrics serve`
  -- does not plan this query again on every scrape.
  RETURN QUERY
  WITH holds AS (
    SELECT b.tenant_id, pg_catalog.count(*) AS n
      FROM booking.bookings b
     WHERE b.status = 'pending' AND b.hold_expires_at > pg_catalog.now()
     GROUP BY b.tenant_id
  ), waiting AS (
    SELECT e.tenant_id, pg_catalog.count(*) AS n
      FROM booking.waitlist_entries e
     WHERE e.status = 'waiting'
     GROUP BY e.tenant_id
  ), today AS (
    -- every active resource with the local day of its location
    SELECT r.tenant_id, r.id AS resource_id, r.location_id, l.timezone AS tz,
           (pg_catalog.now() AT TIME ZONE l.timezone)::date AS day
      FROM booking.resources r
      JOIN booking.locations l ON l.tenant_id = r.tenant_id AND l.id = r.location_id
     WHERE r.active
  ), blocks AS (
    -- today's working blocks, as instants (DST days keep their wall-clock hours)
    SELECT d.tenant_id, d.resource_id,
           (d.day + wh.starts_local) AT TIME ZONE d.tz AS bstart,
           (d.day + wh.ends_local) AT TIME ZONE d.tz AS bend
      FROM today d
      JOIN booking.working_hours wh ON wh.tenant_id = d.tenant_id AND wh.resource_id = d.resource_id
     WHERE wh.weekday = EXTRACT(isodow FROM d.day)::smallint
  ), working AS (
    SELECT x.tenant_id, pg_catalog.sum(GREATEST(x.seconds - x.off, 0)) AS seconds
      FROM (SELECT b.tenant_id, EXTRACT(epoch FROM b.bend - b.bstart) AS seconds,
                   -- FILTER: LEAST/GREATEST skip NULLs, so a block without time off
                   -- would otherwise subtract itself
                   coalesce(pg_catalog.sum(EXTRACT(epoch FROM LEAST(t.ends, b.bend) - GREATEST(t.starts, b.bstart)))
                              FILTER (WHERE t.id IS NOT NULL), 0) AS off
              FROM blocks b
              LEFT JOIN booking.time_off t
                ON t.tenant_id = b.tenant_id AND t.resource_id = b.resource_id
               AND t.ends > b.bstart AND t.starts < b.bend
             GROUP BY b.tenant_id, b.resource_id, b.bstart, b.bend) x
     GROUP BY x.tenant_id
  ), days AS (
    SELECT DISTINCT d.tenant_id, d.location_id, d.tz, d.day FROM today d
  ), booked AS (
    -- per location, the tenant's bookings of that local day, read once (the resource
    -- list is one array, so the planner cannot re-scan the day once per resource)
    SELECT d.tenant_id, pg_catalog.sum(k.seconds) AS seconds
      FROM days d
     CROSS JOIN LATERAL (
       SELECT coalesce(pg_catalog.sum(EXTRACT(epoch FROM b.ends - b.starts)), 0) AS seconds
         FROM booking.bookings b
        WHERE b.tenant_id = d.tenant_id
          AND b.starts >= d.day::timestamp AT TIME ZONE d.tz
          AND b.starts < (d.day + 1)::timestamp AT TIME ZONE d.tz
          AND b.status <> 'cancelled'
          AND (b.status <> 'pending' OR b.hold_expires_at > pg_catalog.now())
          AND b.resource_id = ANY (ARRAY(
                SELECT r.id FROM booking.resources r
                 WHERE r.tenant_id = d.tenant_id AND r.location_id = d.location_id AND r.active))
     ) k
     GROUP BY d.tenant_id
  )
  SELECT t.id, t.slug, a.created, a.confirmed, a.cancelled, a.expired, a.offers,
         coalesce(h.n, 0), coalesce(w.n, 0),
         coalesce(bk.seconds, 0)::bigint, coalesce(wk.seconds, 0)::bigint
    FROM booking.tenants t
   CROSS JOIN LATERAL (
     SELECT pg_catalog.count(*) FILTER (WHERE x.action = 'booking.book') AS created,
            pg_catalog.count(*) FILTER (WHERE x.action = 'booking.confirm') AS confirmed,
            pg_catalog.count(*) FILTER (WHERE x.action = 'booking.cancel') AS cancelled,
            pg_catalog.count(*) FILTER (WHERE x.action = 'booking.expire') AS expired,
            pg_catalog.count(*) FILTER (WHERE x.action = 'waitlist.offer') AS offers
       FROM ops.audit_log x
      WHERE x.tenant_id = t.id AND x.occurred_at >= p_from AND x.occurred_at < p_to
   ) a
    LEFT JOIN holds h ON h.tenant_id = t.id
    LEFT JOIN waiting w ON w.tenant_id = t.id
    LEFT JOIN booked bk ON bk.tenant_id = t.id
    LEFT JOIN working wk ON wk.tenant_id = t.id
   ORDER BY t.slug;
END
$$;

COMMENT ON FUNCTION ops.metric_tenant_activity(timestamptz, timestamptz) IS
  'per tenant (id, slug): booking actions from the audit log in [p_from, p_to), holds pending, waitlist waiting, resource time booked/working today; counts only';

REVOKE ALL ON FUNCTION ops.metric_tenant_activity(timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ops.metric_tenant_activity(timestamptz, timestamptz) TO bookingdb_monitor, bookingdb_owner;
