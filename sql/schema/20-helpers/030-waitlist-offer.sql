-- Offers freed resource time to the waitlist: the oldest waiting entry whose service
-- the resource offers, whose resource (if any) is this one, and whose wanted range
-- covers [p_starts_at, p_starts_at + its service duration) gets a pending hold at
-- p_starts_at, provided the slot (buffers included) is inside working hours, outside
-- time off and free. Candidates are locked FOR UPDATE SKIP LOCKED, so concurrent
-- cancels never promote one entry twice. The hold lasts 30 minutes, but never past
-- the slot's start. Returns the new booking's id, or NULL when nobody matched.
-- Takes the resource's advisory lock (after the caller's booking row lock, per the
-- lock protocol of booking._lock_resources), unless no waiting entry could take the
-- slot at all.
-- It looks up the resource's time zone itself, so callers need not (earlier versions
-- took it as an argument: that overload is dropped).
DROP FUNCTION IF EXISTS booking._offer_to_waitlist(uuid, uuid, text, timestamptz);
CREATE OR REPLACE FUNCTION booking._offer_to_waitlist(p_tenant_id uuid, p_resource_id uuid,
                                                      p_starts_at timestamptz)
  RETURNS uuid
  LANGUAGE plpgsql
  VOLATILE
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  w record;
  v_blocked tstzrange;
  v_id uuid;
  v_tried uuid[] := '{}';
  v_try integer;
  v_tz text;
BEGIN
  IF p_starts_at <= pg_catalog.now() THEN
    RETURN NULL;
  END IF;
  -- Nobody waiting who could take the slot (the usual case): return before queueing
  -- for the resource lock, so a cancel with no taker never holds it (issue 10: in a hot
  -- spot every cancel used to hold it through the candidate query and its commit, and
  -- the bookings of that resource queued behind it). Read without locks, like any
  -- READ COMMITTED statement: an entry that commits after this read is in the position
  -- of one that joins after the cancel (it is not offered this slot); the locked read
  -- below still decides among the entries this one saw and newer ones.
  PERFORM 1
     FROM booking.waitlist_entries e
     JOIN booking.services s ON s.tenant_id = e.tenant_id AND s.id = e.service_id
     JOIN booking.service_resources sr
       ON sr.tenant_id = e.tenant_id AND sr.service_id = e.service_id AND sr.resource_id = p_resource_id
    WHERE e.tenant_id = p_tenant_id
      AND e.status = 'waiting'
      AND (e.resource_id IS NULL OR e.resource_id = p_resource_id)
      AND s.active
      AND pg_catalog.lower(e.wanted) <= p_starts_at
      AND pg_catalog.upper(e.wanted) >= p_starts_at + s.duration
    LIMIT 1;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  SELECT l.timezone INTO v_tz
    FROM booking.resources r
    JOIN booking.locations l ON l.tenant_id = r.tenant_id AND l.id = r.location_id
   WHERE r.tenant_id = p_tenant_id AND r.id = p_resource_id;
  PERFORM booking._lock_resources(p_tenant_id, ARRAY[p_resource_id]);

  -- One candidate at a time (a FOR loop would fetch, and so lock, ten at once and
  -- starve concurrent cancels); entries tried and found unsuitable stay locked until
  -- commit, so at most 20 are tried.
  FOR v_try IN 1 .. 20 LOOP
    SELECT e.id, e.service_id, e.customer_id, s.duration, s.buffer_before, s.buffer_after,
           s.price_cents, s.currency
      INTO w
      FROM booking.waitlist_entries e
      JOIN booking.services s ON s.tenant_id = e.tenant_id AND s.id = e.service_id
      JOIN booking.service_resources sr
        ON sr.tenant_id = e.tenant_id AND sr.service_id = e.service_id AND sr.resource_id = p_resource_id
      JOIN booking.customers c ON c.tenant_id = e.tenant_id AND c.id = e.customer_id
     WHERE e.tenant_id = p_tenant_id
       AND e.status = 'waiting'
       AND (e.resource_id IS NULL OR e.resource_id = p_resource_id)
       AND e.id <> ALL (v_tried)
       AND s.active
       AND c.anonymized_at IS NULL
       AND pg_catalog.lower(e.wanted) <= p_starts_at
       AND pg_catalog.upper(e.wanted) >= p_starts_at + s.duration
     ORDER BY e.created_at, e.id
     LIMIT 1
       FOR UPDATE OF e SKIP LOCKED;
    EXIT WHEN NOT FOUND;
    v_tried := v_tried || w.id;

    v_blocked := pg_catalog.tstzrange(p_starts_at - w.buffer_before, p_starts_at + w.duration + w.buffer_after);
    CONTINUE WHEN booking._working_problem(p_tenant_id, p_resource_id, v_tz,
                                           pg_catalog.lower(v_blocked), pg_catalog.upper(v_blocked)) IS NOT NULL;
    CONTINUE WHEN NOT booking._make_room(p_tenant_id, p_resource_id, v_tz, v_blocked, NULL, false);

    v_id := booking._insert_booking(p_tenant_id, w.service_id, p_resource_id, w.customer_id,
                                    pg_catalog.tstzrange(p_starts_at, p_starts_at + w.duration), v_blocked,
                                    LEAST(pg_catalog.now() + interval '30 minutes', p_starts_at),
                                    NULL, w.price_cents, w.currency);
    UPDATE booking.waitlist_entries e
       SET status = 'offered', offered_booking_id = v_id, updated_at = pg_catalog.now()
     WHERE e.tenant_id = p_tenant_id AND e.id = w.id;
    PERFORM ops.write_audit(p_tenant_id, 'waitlist.offer', 'waitlist_entry', w.id,
                            pg_catalog.jsonb_build_object('booking_id', v_id, 'resource_id', p_resource_id));
    RETURN v_id;
  END LOOP;
  RETURN NULL;
END
$$;
