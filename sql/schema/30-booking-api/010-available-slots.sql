-- Free slots of a service between p_from and p_to (a slot is returned when it starts
-- in [p_from, p_to), not before now() and not after now() + the tenant's booking
-- horizon), on the active resources that offer the service (optionally only those in
-- p_resource_ids), ordered by start then resource.
--
-- How: for each resource, working blocks are built per local day as
-- (day + starts_local) AT TIME ZONE tz, so 09:00 stays 09:00 local on DST days, and
-- only for the window's days (each weekly block on the dates of its weekday). Slots
-- step by slot_step (default: the duration) from block start + buffer_before, so the
-- first slot's buffer starts when the block opens; a slot counts only when
-- buffer_before + duration + buffer_after fits in the block. The grid is not walked
-- from the block start: the first and last grid index inside both block and window are
-- computed in integer microseconds (k0 = ceil((from - origin) / step), k1 = the last k
-- that fits and starts before the window end), so the work is the slots of the window.
-- Work budget: before generating anything the candidates are counted (resources x
-- starts); more than 50,000 (or more than 50,000 working blocks to look at) is BK003.
-- What is busy is read with one backward index probe per resource (the last active
-- allocation starting before the window: active allocations never overlap, so no
-- earlier one can reach into the window) and one index scan over all the resources
-- together (resource_id = ANY) for the allocations starting in the window, likewise
-- for time off. Pending holds past hold_expires_at do not block.
-- Statements: the tenant's horizon and the service in one lookup, then one statement
-- for the resources, their working blocks and the budget counts, then the slots. The
-- subqueries are fenced (OFFSET 0) so the cached generic plan keeps this join order
-- (resources first, then per resource its days and their working hours), which the
-- planner does not find without the fences.
-- Limits: p_from and p_to finite; the window ends after it starts and spans at most
-- 31 days; it starts no later than the horizon; at most 1,000 ids in p_resource_ids.
-- Errors: 42501 tenant mismatch, BK003 bad arguments or over budget, BK002
-- unknown/inactive service.
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
  c_budget constant bigint := 50000;
  c_max_ids constant integer := 1000;
  v_dur interval;
  v_bb interval;
  v_ba interval;
  v_step interval;
  v_horizon interval;
  v_from timestamptz;
  v_to timestamptz;
  v_lo timestamptz;
  v_hi timestamptz;
  v_step_us bigint;
  v_tail_us bigint;
  v_from_us bigint;
  v_to_us bigint;
  v_res uuid[];
  v_rid uuid[];
  v_org timestamptz[];
  v_k0 bigint[];
  v_k1 bigint[];
  v_blocks bigint;
  v_resources bigint;
  v_candidates bigint;
  v_tail interval;
BEGIN
  PERFORM booking._assert_tenant(p_tenant_id);
  IF p_service_id IS NULL OR p_from IS NULL OR p_to IS NULL THEN
    RAISE EXCEPTION 'invalid argument: service, from and to are required'
      USING ERRCODE = 'BK003', HINT = 'pass a service id and a time window';
  END IF;
  IF NOT pg_catalog.isfinite(p_from) THEN
    RAISE EXCEPTION 'invalid argument: p_from must be a finite timestamp, not %', p_from
      USING ERRCODE = 'BK003', HINT = 'pass a window of at most 31 days, e.g. one local day';
  END IF;
  IF NOT pg_catalog.isfinite(p_to) THEN
    RAISE EXCEPTION 'invalid argument: p_to must be a finite timestamp, not %', p_to
      USING ERRCODE = 'BK003', HINT = 'pass a window of at most 31 days, e.g. one local day';
  END IF;
  IF pg_catalog.cardinality(p_resource_ids) > c_max_ids THEN
    RAISE EXCEPTION 'invalid argument: % resource ids in one call, at most % are allowed',
        pg_catalog.cardinality(p_resource_ids), c_max_ids
      USING ERRCODE = 'BK003', HINT = 'pass fewer resources, or NULL for every resource that offers the service';
  END IF;
  -- the tenant's horizon and the service in one statement; the errors in the order of
  -- the checks (unknown tenant, window beyond the horizon, window shape, unknown service)
  SELECT t.booking_horizon, s.duration, s.buffer_before, s.buffer_after, coalesce(s.slot_step, s.duration)
    INTO v_horizon, v_dur, v_bb, v_ba, v_step
    FROM booking.tenants t
    LEFT JOIN booking.services s ON s.tenant_id = t.id AND s.id = p_service_id AND s.active
   WHERE t.id = p_tenant_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown tenant %', p_tenant_id
      USING ERRCODE = 'BK002', HINT = 'create the tenant in booking.tenants first';
  END IF;
  IF p_from > pg_catalog.now() + v_horizon THEN
    RAISE EXCEPTION 'invalid argument: the window starts at %, beyond the booking horizon of this tenant (%)', p_from, v_horizon
      USING ERRCODE = 'BK003',
            HINT = pg_catalog.format('ask for a window that starts by %s', pg_catalog.now() + v_horizon);
  END IF;
  IF p_to <= p_from OR p_to > p_from + interval '31 days' THEN
    RAISE EXCEPTION 'invalid argument: the window must end after it starts and span at most 31 days'
      USING ERRCODE = 'BK003', HINT = 'ask for a shorter window';
  END IF;
  IF v_dur IS NULL THEN
    RAISE EXCEPTION 'unknown or inactive service %', p_service_id
      USING ERRCODE = 'BK002', HINT = 'list the tenant''s active services in booking.services';
  END IF;

  v_from := GREATEST(p_from, pg_catalog.now());
  v_to := LEAST(p_to, pg_catalog.now() + v_horizon + interval '1 microsecond');
  IF v_from >= v_to THEN
    RETURN;
  END IF;
  v_lo := v_from - v_bb;
  v_hi := v_to + v_dur + v_ba;
  v_step_us := (EXTRACT(epoch FROM v_step) * 1000000)::bigint;
  v_tail_us := (EXTRACT(epoch FROM v_dur + v_ba) * 1000000)::bigint;
  v_from_us := (EXTRACT(epoch FROM v_from) * 1000000)::bigint;
  v_to_us := (EXTRACT(epoch FROM v_to) * 1000000)::bigint;

  -- resources, their working blocks on the window's dates and the grid indexes, in one statement
  SELECT pg_catalog.array_agg(b.rid) FILTER (WHERE b.k1 >= b.k0),
         pg_catalog.array_agg(b.org) FILTER (WHERE b.k1 >= b.k0),
         pg_catalog.array_agg(b.k0) FILTER (WHERE b.k1 >= b.k0),
         pg_catalog.array_agg(b.k1) FILTER (WHERE b.k1 >= b.k0),
         pg_catalog.count(*),
         pg_catalog.array_agg(DISTINCT b.rid) FILTER (WHERE b.k1 >= b.k0),
         coalesce(pg_catalog.sum(b.k1 - b.k0 + 1) FILTER (WHERE b.k1 >= b.k0), 0)
    INTO v_rid, v_org, v_k0, v_k1, v_blocks, v_res, v_candidates
    FROM (
      SELECT blk.rid, blk.org,
             CASE WHEN v_from_us > blk.org_us THEN (v_from_us - blk.org_us + v_step_us - 1) / v_step_us ELSE 0 END AS k0,
             LEAST(CASE WHEN blk.end_us - v_tail_us >= blk.org_us THEN (blk.end_us - v_tail_us - blk.org_us) / v_step_us ELSE -1 END,
                   CASE WHEN v_to_us > blk.org_us THEN (v_to_us - blk.org_us - 1) / v_step_us ELSE -1 END) AS k1
        FROM (
          SELECT w.rid, w.org, (EXTRACT(epoch FROM w.org) * 1000000)::bigint AS org_us,
                 (EXTRACT(epoch FROM w.bend) * 1000000)::bigint AS end_us
            FROM (
              SELECT res.rid,
                     ((d.day + wh.starts_local) AT TIME ZONE res.tz) + v_bb AS org,
                     (d.day + wh.ends_local) AT TIME ZONE res.tz AS bend
                FROM (SELECT r.id AS rid, l.timezone AS tz
                        FROM booking.service_resources sr
                        -- one primary-key probe each (LIMIT 1 keeps the cached generic
                        -- plan from scanning the tenant's resources and locations once
                        -- per offering row)
                        CROSS JOIN LATERAL (SELECT r.id, r.location_id FROM booking.resources r
                                             WHERE r.tenant_id = p_tenant_id AND r.id = sr.resource_id AND r.active
                                             LIMIT 1) AS r
                        CROSS JOIN LATERAL (SELECT l.timezone FROM booking.locations l
                                             WHERE l.tenant_id = p_tenant_id AND l.id = r.location_id
                                             LIMIT 1) AS l
                       WHERE sr.tenant_id = p_tenant_id AND sr.service_id = p_service_id
                         AND (p_resource_ids IS NULL OR sr.resource_id = ANY (p_resource_ids))
                      OFFSET 0) AS res
                CROSS JOIN LATERAL pg_catalog.generate_series(((v_from - v_bb) AT TIME ZONE res.tz)::date::timestamp,
                                                              ((v_to - v_bb - interval '1 microsecond') AT TIME ZONE res.tz)::date::timestamp,
                                                              interval '1 day') AS d(day)
                CROSS JOIN LATERAL (
                  SELECT wh.starts_local, wh.ends_local
                    FROM booking.working_hours wh
                   WHERE wh.tenant_id = p_tenant_id AND wh.resource_id = res.rid
                     AND wh.weekday = EXTRACT(isodow FROM d.day)::smallint
                  OFFSET 0) AS wh
               LIMIT c_budget + 1) AS w
          OFFSET 0) AS blk) AS b;
  IF v_blocks > c_budget THEN
    RAISE EXCEPTION 'invalid argument: the window covers more than % working blocks, over the budget of one call', c_budget
      USING ERRCODE = 'BK003', HINT = 'narrow the window or pass fewer resources in p_resource_ids';
  END IF;
  IF v_candidates > c_budget THEN
    RAISE EXCEPTION 'invalid argument: the window holds % candidate slots on % resources, over the budget of % per call',
        v_candidates, pg_catalog.cardinality(v_res), c_budget
      USING ERRCODE = 'BK003', HINT = 'narrow the window or pass fewer resources in p_resource_ids';
  END IF;
  IF v_candidates = 0 THEN
    RETURN;
  END IF;
  v_tail := v_dur + v_ba;

  RETURN QUERY
  WITH busy AS MATERIALIZED (
    -- the last active allocation starting before v_lo, per resource (a backward probe)
    SELECT res.rid, x.starts, x.ends
      FROM pg_catalog.unnest(v_res) AS res(rid)
      CROSS JOIN LATERAL (
        SELECT a.starts, a.ends, a.hold_expires_at
          FROM booking.booking_allocations a
         WHERE a.tenant_id = p_tenant_id AND a.resource_id = res.rid AND a.active
           AND a.starts < v_lo
         ORDER BY a.starts DESC
         LIMIT 1) AS x
     WHERE x.ends > v_lo
       AND (x.hold_expires_at IS NULL OR x.hold_expires_at > pg_catalog.now())
    UNION ALL
    -- those starting in [v_lo, v_hi): one index scan over every resource
    SELECT a.resource_id, a.starts, a.ends
      FROM booking.booking_allocations a
     WHERE a.tenant_id = p_tenant_id AND a.resource_id = ANY (v_res) AND a.active
       AND a.starts >= v_lo AND a.starts < v_hi
       AND (a.hold_expires_at IS NULL OR a.hold_expires_at > pg_catalog.now())
    UNION ALL
    SELECT t.resource_id, t.starts, t.ends
      FROM booking.time_off t
     WHERE t.tenant_id = p_tenant_id AND t.resource_id = ANY (v_res)
       AND t.ends > v_lo AND t.starts < v_hi
  )
  SELECT s.rid, s.st, s.st + v_dur
    FROM (SELECT u.rid, g.st, g.st - v_bb AS lo, g.st + v_tail AS hi
            FROM ROWS FROM (pg_catalog.unnest(v_rid), pg_catalog.unnest(v_org),
                            pg_catalog.unnest(v_k0), pg_catalog.unnest(v_k1)) AS u(rid, org, k0, k1)
            CROSS JOIN LATERAL pg_catalog.generate_series(u.org + u.k0 * v_step, u.org + u.k1 * v_step, v_step) AS g(st)
          OFFSET 0) AS s
   WHERE NOT EXISTS (
           SELECT 1 FROM busy b
            WHERE b.rid = s.rid
              AND b.starts < s.hi
              AND b.ends > s.lo)
   ORDER BY s.st, s.rid;
END
$$;
