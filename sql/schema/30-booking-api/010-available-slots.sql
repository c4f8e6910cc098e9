-- Free slots of a service between p_from and p_to (a slot is returned when it starts
-- in [p_from, p_to) and not before now()), on the active resources that offer the
-- service (optionally only those in p_resource_ids), ordered by start then resource.
--
-- How: for each resource, working blocks are built per local day as
-- (day + starts_local) AT TIME ZONE tz, so 09:00 stays 09:00 local on DST days.
-- Candidate slots step by slot_step (default: the duration) from block start +
-- buffer_before, so the first slot's buffer starts when the block opens; a slot
-- counts only when buffer_before + duration + buffer_after fits in the block. What
-- is busy is read once per resource, not per slot: the last active allocation
-- starting before the window (one backward index probe; active allocations never
-- overlap, so no earlier one can reach into the window), the allocations starting in
-- the window (a bounded range scan), and time off. Pending holds past
-- hold_expires_at do not block. The window is at most 31 days.
-- Errors: 42501 tenant mismatch, BK003 bad arguments, BK002 unknown/inactive service.
CREATE OR REPLACE FUNCTION booking.available_slots(p_tenant_id uuid, p_service_id uuid,
                                                   p_from timestamptz, p_to timestamptz,
                                                   p_resource_ids uuid[] DEFAULT NULL)
  RETURNS TABLE (resource_id uuid, starts_at timestamptz, ends_at timestamptz)
  LANGUAGE plpgsql
  STABLE
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
  v_dur interval;
  v_bb interval;
  v_ba interval;
  v_step interval;
  v_from timestamptz;
  v_lo timestamptz;
  v_hi timestamptz;
BEGIN
  PERFORM booking._assert_tenant(p_tenant_id);
  IF p_service_id IS NULL OR p_from IS NULL OR p_to IS NULL THEN
    RAISE EXCEPTION 'invalid argument: service, from and to are required'
      USING ERRCODE = 'BK003', HINT = 'pass a service id and a time window';
  END IF;
  IF p_to <= p_from OR p_to - p_from > interval '31 days' THEN
    RAISE EXCEPTION 'invalid argument: the window must end after it starts and span at most 31 days'
      USING ERRCODE = 'BK003', HINT = 'ask for a shorter window';
  END IF;

  SELECT s.duration, s.buffer_before, s.buffer_after, coalesce(s.slot_step, s.duration)
    INTO v_dur, v_bb, v_ba, v_step
    FROM booking.services s
   WHERE s.tenant_id = p_tenant_id AND s.id = p_service_id AND s.active;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown or inactive service %', p_service_id
      USING ERRCODE = 'BK002', HINT = 'list the tenant''s active services in booking.services';
  END IF;

  v_from := GREATEST(p_from, pg_catalog.now());
  IF v_from >= p_to THEN
    RETURN;
  END IF;
  -- every candidate's blocked range lies inside [v_lo, v_hi)
  v_lo := v_from - v_bb;
  v_hi := p_to + v_dur + v_ba;

  RETURN QUERY
  WITH res AS MATERIALIZED (
    SELECT r.id AS rid, l.timezone AS tz,
           (v_lo AT TIME ZONE l.timezone)::date AS d0,
           (v_hi AT TIME ZONE l.timezone)::date AS d1
      FROM booking.service_resources sr
      JOIN booking.resources r ON r.tenant_id = sr.tenant_id AND r.id = sr.resource_id
      JOIN booking.locations l ON l.tenant_id = r.tenant_id AND l.id = r.location_id
     WHERE sr.tenant_id = p_tenant_id AND sr.service_id = p_service_id
       AND r.tenant_id = p_tenant_id AND r.active
       AND (p_resource_ids IS NULL OR r.id = ANY (p_resource_ids))
  ),
  slots AS (
    SELECT res.rid, g.st
      FROM res
      CROSS JOIN LATERAL pg_catalog.generate_series(0, res.d1 - res.d0) AS day_no(i)
      JOIN booking.working_hours wh
        ON wh.tenant_id = p_tenant_id AND wh.resource_id = res.rid
       AND wh.weekday = EXTRACT(isodow FROM res.d0 + day_no.i)::smallint
      CROSS JOIN LATERAL (
        SELECT ((res.d0 + day_no.i) + wh.starts_local) AT TIME ZONE res.tz AS bstart,
               ((res.d0 + day_no.i) + wh.ends_local) AT TIME ZONE res.tz AS bend) AS blk
      CROSS JOIN LATERAL pg_catalog.generate_series(blk.bstart + v_bb, blk.bend - v_dur - v_ba, v_step) AS g(st)
     WHERE g.st >= v_from AND g.st < p_to
  ),
  busy AS MATERIALIZED (
    SELECT res.rid, x.starts, x.ends
      FROM res
      CROSS JOIN LATERAL (
        (SELECT a.starts, a.ends, a.hold_expires_at
           FROM booking.booking_allocations a
          WHERE a.tenant_id = p_tenant_id AND a.resource_id = res.rid AND a.active
            AND a.starts < v_lo
          ORDER BY a.starts DESC
          LIMIT 1)
        UNION ALL
        (SELECT a.starts, a.ends, a.hold_expires_at
           FROM booking.booking_allocations a
          WHERE a.tenant_id = p_tenant_id AND a.resource_id = res.rid AND a.active
            AND a.starts >= v_lo AND a.starts < v_hi)) AS x
     WHERE x.ends > v_lo
       AND (x.hold_expires_at IS NULL OR x.hold_expires_at > pg_catalog.now())
    UNION ALL
    SELECT res.rid, t.starts, t.ends
      FROM res
      JOIN booking.time_off t
        ON t.tenant_id = p_tenant_id AND t.resource_id = res.rid
       AND t.ends > v_lo AND t.starts < v_hi
  )
  SELECT s.rid, s.st, s.st + v_dur
    FROM slots s
   WHERE NOT EXISTS (
           SELECT 1 FROM busy b
            WHERE b.rid = s.rid
              AND b.starts < s.st + v_dur + v_ba
              AND b.ends > s.st - v_bb)
   ORDER BY s.st, s.rid;
END
$$;
