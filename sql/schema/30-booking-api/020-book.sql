-- Books p_service_id on p_resource_id for p_customer_id at p_starts_at and returns the
-- booking id. With p_hold the booking is a pending hold that lapses at
-- now() + p_hold (never later than its start) unless confirmed; without, it is
-- confirmed at once. A repeated p_idempotency_key returns the first booking's id and
-- books nothing, also when both calls race (ON CONFLICT DO NOTHING waits for the
-- other insert, then the key is read again).
-- Under contention: validation first, without a lock (tenant horizon, service,
-- resource, offering and customer in one statement; working hours, time off and,
-- without an idempotency key, an unlocked read of the slot in a second), so a slot
-- already taken fails at once and writes nothing but the conflict counter (no row
-- lock; the counter's sequence logs every 32nd value); then the booking row, inserted
-- from the key-share locked customer row, and its audit row; then the resource's
-- advisory lock, the overlap check on plain columns that decides (expired holds in the
-- way are expired), and the allocation; the exclusion constraint on booking_allocations stays as the
-- backstop. The lock is held for the overlap check and the allocation only.
-- The path without a key (the common one) runs its statements here rather than
-- through the helpers of 20-helpers (each a PL/pgSQL call with its own pinned
-- search_path, i.e. a GUC save/restore and a statement of its own): 6 statements a
-- booking instead of 25 (the booking and its audit row are one statement, the allocation
-- and the customer's last_booking_at another: each statement's executor start-up is most
-- of what a booking costs; 15 -> 13 statements with the foreign-key checks, book
-- 0.545x -> 0.58x of the bench's anchor, medians of 6 alternating runs, README
-- "Sessions 19-20"), 2 and booking._raise_slot_taken's error for a refused one. Each
-- inlined piece says which helper it follows; the helpers stay for reschedule, the
-- waitlist and the keyed path, and test/domain checks both give the same answers.
-- Errors: 42501 tenant mismatch; BK003 NULL/invalid argument, start not finite, in the
-- past or beyond the tenant's booking horizon (booking.tenants.booking_horizon);
-- BK002 unknown/inactive service, resource or customer, or the resource does not
-- offer the service; BK001 outside working hours or in time off; 23P01 slot taken.
CREATE OR REPLACE FUNCTION booking.book(p_tenant_id uuid, p_service_id uuid, p_resource_id uuid,
                                        p_customer_id uuid, p_starts_at timestamptz,
                                        p_idempotency_key text DEFAULT NULL,
                                        p_hold interval DEFAULT NULL)
  RETURNS uuid
  LANGUAGE plpgsql
  VOLATILE
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_id uuid;
  s record;
  w record;
  v_in_way record;
  v_tz text;
  v_blocked tstzrange;
  v_lo timestamptz;
  v_hi timestamptz;
  v_day date;
  v_hold_until timestamptz;
  v_current uuid;
  v_conflict bigint;
BEGIN
  -- booking._require_primary: 25006 with a clear message on a read replica
  IF pg_catalog.pg_is_in_recovery() THEN
    RAISE EXCEPTION 'booking.book needs the primary: this server is a read replica'
      USING ERRCODE = '25006',
            HINT = 'send writes to the primary; a replica serves reads such as booking.available_slots';
  END IF;
  -- booking._assert_tenant
  v_current := booking.current_tenant_id();
  IF v_current IS NULL THEN
    RAISE EXCEPTION 'no tenant set for this transaction'
      USING ERRCODE = '42501',
            HINT = 'run SET LOCAL app.tenant_id = ''<tenant uuid>'' in the same transaction first';
  END IF;
  IF p_tenant_id IS DISTINCT FROM v_current THEN
    RAISE EXCEPTION 'tenant mismatch: p_tenant_id is not the tenant of this transaction'
      USING ERRCODE = '42501',
            HINT = 'pass the tenant id that app.tenant_id is set to';
  END IF;
  IF p_service_id IS NULL OR p_resource_id IS NULL OR p_customer_id IS NULL OR p_starts_at IS NULL THEN
    RAISE EXCEPTION 'invalid argument: service, resource, customer and start are required'
      USING ERRCODE = 'BK003', HINT = 'pass all four; only the idempotency key and the hold may be NULL';
  END IF;
  IF p_idempotency_key IS NOT NULL THEN
    IF pg_catalog.length(p_idempotency_key) NOT BETWEEN 1 AND 200 THEN
      RAISE EXCEPTION 'invalid argument: the idempotency key must be 1 to 200 characters'
        USING ERRCODE = 'BK003', HINT = 'use a UUID or a short request id';
    END IF;
    SELECT b.id INTO v_id FROM booking.bookings b
     WHERE b.tenant_id = p_tenant_id AND b.idempotency_key = p_idempotency_key;
    IF FOUND THEN
      RETURN v_id;
    END IF;
  END IF;
  -- booking._assert_bookable_start (same checks, same messages): finite, not in the
  -- past, within the tenant's horizon, before any arithmetic on the start. The horizon
  -- comes with the catalogue rows below (one statement, which does no arithmetic on it).
  IF NOT pg_catalog.isfinite(p_starts_at) THEN
    RAISE EXCEPTION 'invalid argument: the % must be a finite timestamp, not %', 'start', p_starts_at
      USING ERRCODE = 'BK003', HINT = 'pick a slot from booking.available_slots()';
  END IF;
  IF p_starts_at < pg_catalog.now() THEN
    RAISE EXCEPTION 'invalid argument: % % is in the past', 'start', p_starts_at
      USING ERRCODE = 'BK003', HINT = 'pick a slot from booking.available_slots()';
  END IF;

  -- tenant horizon, service, resource (time zone, name), offering and customer in one
  -- statement; the errors in the order the checks always had
  SELECT (SELECT t.booking_horizon FROM booking.tenants t WHERE t.id = p_tenant_id) AS horizon,
         sv.id IS NOT NULL AS service_found,
         sv.duration, sv.buffer_before, sv.buffer_after, sv.price_cents, sv.currency,
         r.tz, r.resource_name,
         EXISTS (SELECT 1 FROM booking.service_resources sr
                  WHERE sr.tenant_id = p_tenant_id AND sr.service_id = p_service_id
                    AND sr.resource_id = p_resource_id) AS offers,
         EXISTS (SELECT 1 FROM booking.customers c
                  WHERE c.tenant_id = p_tenant_id AND c.id = p_customer_id AND c.anonymized_at IS NULL) AS customer_found
    INTO s
    FROM (SELECT) AS one
    LEFT JOIN booking.services sv ON sv.tenant_id = p_tenant_id AND sv.id = p_service_id AND sv.active
    LEFT JOIN LATERAL (SELECT l.timezone AS tz, r.name AS resource_name
                         FROM booking.resources r
                         JOIN booking.locations l ON l.tenant_id = r.tenant_id AND l.id = r.location_id
                        WHERE r.tenant_id = p_tenant_id AND r.id = p_resource_id AND r.active) AS r ON true;
  IF s.horizon IS NULL THEN
    RAISE EXCEPTION 'unknown tenant %', p_tenant_id
      USING ERRCODE = 'BK002', HINT = 'create the tenant in booking.tenants first';
  END IF;
  IF p_starts_at > pg_catalog.now() + s.horizon THEN
    RAISE EXCEPTION 'invalid argument: % % is beyond the booking horizon of this tenant (%): the latest start now is %',
        'start', p_starts_at, s.horizon, pg_catalog.now() + s.horizon
      USING ERRCODE = 'BK003',
            HINT = pg_catalog.format('book at most %s ahead; the operator sets the horizon in booking.tenants.booking_horizon', s.horizon);
  END IF;
  IF p_hold IS NOT NULL AND (p_hold <= interval '0' OR p_hold > interval '7 days') THEN
    RAISE EXCEPTION 'invalid argument: the hold must be positive and at most 7 days'
      USING ERRCODE = 'BK003', HINT = 'pass e.g. interval ''15 minutes'', or NULL to confirm at once';
  END IF;
  IF NOT s.service_found THEN
    RAISE EXCEPTION 'unknown or inactive service %', p_service_id
      USING ERRCODE = 'BK002', HINT = 'list the tenant''s active services in booking.services';
  END IF;
  IF s.tz IS NULL THEN
    RAISE EXCEPTION 'unknown or inactive resource %', p_resource_id
      USING ERRCODE = 'BK002', HINT = 'list the tenant''s active resources in booking.resources';
  END IF;
  IF NOT s.offers THEN
    RAISE EXCEPTION 'resource % does not offer service %', p_resource_id, p_service_id
      USING ERRCODE = 'BK002', HINT = 'add the pair to booking.service_resources or pick another resource';
  END IF;
  -- This read takes no lock (a call that fails below, e.g. on a taken slot, then
  -- writes nothing at all). The booking row is inserted from the customer row key-share
  -- locked (the lock the booking's foreign key takes anyway): an anonymisation batch of
  -- maintain's retention holds it FOR UPDATE until it commits, and that read then sees
  -- the anonymised row and refuses, instead of booking for a customer whose personal
  -- data was just erased.
  IF NOT s.customer_found THEN
    PERFORM booking._raise_unknown_customer(p_customer_id);
  END IF;
  v_tz := s.tz;

  v_blocked := pg_catalog.tstzrange(p_starts_at - s.buffer_before, p_starts_at + s.duration + s.buffer_after);
  v_lo := pg_catalog.lower(v_blocked);
  v_hi := pg_catalog.upper(v_blocked);
  -- booking._working_problem and (without an idempotency key) booking._precheck_free in
  -- one statement: [v_lo, v_hi) inside one working block of the local day of v_lo, the
  -- first time off it overlaps, and an allocation already in the way. The last fails a
  -- slot already taken without queueing for the lock (the check under the lock still
  -- decides). Not with a key: a retry whose first call has just committed must get that
  -- booking's id (the key is read again under the lock), not 23P01 for the slot the
  -- first call took.
  v_day := (v_lo AT TIME ZONE v_tz)::date;
  SELECT EXISTS (SELECT 1
                   FROM booking.working_hours wh
                  WHERE wh.tenant_id = p_tenant_id
                    AND wh.resource_id = p_resource_id
                    AND wh.weekday = EXTRACT(isodow FROM v_day)::smallint
                    AND (v_day + wh.starts_local) AT TIME ZONE v_tz <= v_lo
                    AND (v_day + wh.ends_local) AT TIME ZONE v_tz >= v_hi) AS fits,
         o.starts AS off_starts, o.ends AS off_ends,
         x.starts AS way_starts, x.ends AS way_ends
    INTO w
    FROM (SELECT) AS one
    LEFT JOIN LATERAL (SELECT t.starts, t.ends
                         FROM booking.time_off t
                        WHERE t.tenant_id = p_tenant_id
                          AND t.resource_id = p_resource_id
                          AND t.ends > v_lo
                          AND t.starts < v_hi
                        LIMIT 1) AS o ON true
    -- the single backward probe (booking._allocation_in_the_way says why one is enough)
    LEFT JOIN LATERAL (SELECT y.starts, y.ends
                         FROM booking._allocation_in_the_way(p_tenant_id, p_resource_id, v_lo, v_hi) AS y
                        WHERE p_idempotency_key IS NULL) AS x ON true;
  IF NOT w.fits THEN
    RAISE EXCEPTION '%', pg_catalog.format(
        'outside working hours: %s to %s does not fit in one working block of the resource (buffers included)',
        booking._local_text(v_lo, v_tz), booking._local_text(v_hi, v_tz))
      USING ERRCODE = 'BK001', HINT = 'pick a slot from booking.available_slots()';
  END IF;
  IF w.off_starts IS NOT NULL THEN
    RAISE EXCEPTION '%', pg_catalog.format('in time off: the resource is off from %s to %s',
        booking._local_text(w.off_starts, v_tz), booking._local_text(w.off_ends, v_tz))
      USING ERRCODE = 'BK001', HINT = 'pick a slot from booking.available_slots()';
  END IF;

  IF p_idempotency_key IS NULL THEN
    -- the unlocked pre-check found the slot taken (booking._precheck_free's answer):
    -- booking._raise_slot_taken's count and error, raised here with the resource name
    -- read above; an assignment and a RAISE whose arguments are inlined SQL, where the
    -- helper was a PL/pgSQL call and a statement (108-113 -> 101-104 us of server time
    -- per refused call, README "Session 17")
    IF w.way_starts IS NOT NULL THEN
      v_conflict := pg_catalog.nextval('ops.booking_conflicts');
      RAISE EXCEPTION '%', booking._slot_taken_message(s.resource_name, p_resource_id, v_tz, v_lo, v_hi)
        USING ERRCODE = 'exclusion_violation',
              DETAIL = booking._slot_taken_detail(v_tz, w.way_starts, w.way_ends),
              HINT = 'pick another slot from booking.available_slots()';
    END IF;
    -- Without a key, the booking row and its audit row are written before the lock:
    -- neither can wait for another transaction (no unique key to conflict on; the
    -- foreign-key checks only key-share the rows they reference, which nothing holding
    -- a resource lock ever locks more strongly), and a failure below rolls both back.
    -- The lock then covers only the overlap check, the allocation and the customer's
    -- last_booking_at (a row other lock holders update too, so it stays under the lock).
    v_hold_until := CASE WHEN p_hold IS NULL THEN NULL ELSE LEAST(pg_catalog.now() + p_hold, p_starts_at) END;
    -- booking._insert_booking_row (no key: nothing to conflict on) and ops.write_audit in
    -- one statement (a data-modifying CTE runs whether or not it is read), the booking inserted from the key-share locked customer row (see
    -- above; no row: the customer was anonymised meanwhile); booking._new_id() is
    -- inlined by the planner (a plain SQL function)
    WITH b AS (
      INSERT INTO booking.bookings
             (id, tenant_id, customer_id, service_id, resource_id, status, during, hold_expires_at,
              idempotency_key, price_cents, currency)
      SELECT booking._new_id(), p_tenant_id, c.id, p_service_id, p_resource_id,
             CASE WHEN v_hold_until IS NULL THEN 'confirmed' ELSE 'pending' END,
             pg_catalog.tstzrange(p_starts_at, p_starts_at + s.duration), v_hold_until,
             NULL, s.price_cents, s.currency
        FROM booking.customers c
       WHERE c.tenant_id = p_tenant_id AND c.id = p_customer_id AND c.anonymized_at IS NULL
         FOR KEY SHARE
      RETURNING id),
    au AS (
      INSERT INTO ops.audit_log (tenant_id, action, entity, entity_id, actor, details)
      SELECT p_tenant_id, 'booking.book', 'booking', b.id, session_user::text,
             pg_catalog.jsonb_build_object('service_id', p_service_id, 'resource_id', p_resource_id,
                                           'customer_id', p_customer_id,
                                           'status', CASE WHEN p_hold IS NULL THEN 'confirmed' ELSE 'pending' END)
        FROM b)
    SELECT b.id INTO v_id FROM b;
    IF v_id IS NULL THEN
      PERFORM booking._raise_unknown_customer(p_customer_id);
    END IF;
    -- booking._lock_resources of one resource (the key is booking._resource_lock_key's)
    PERFORM pg_catalog.pg_advisory_xact_lock(1651470187, pg_catalog.hashtext(p_tenant_id::text || '/' || p_resource_id::text));
    -- booking._make_room: what overlaps now decides; expired holds in the way are expired
    FOR v_in_way IN
      SELECT x.booking_id, x.starts, x.ends, x.hold_expires_at
        FROM ((SELECT a.booking_id, a.starts, a.ends, a.hold_expires_at
                 FROM booking.booking_allocations a
                WHERE a.tenant_id = p_tenant_id AND a.resource_id = p_resource_id AND a.active
                  AND a.starts < v_lo
                ORDER BY a.starts DESC
                LIMIT 1)
              UNION ALL
              (SELECT a.booking_id, a.starts, a.ends, a.hold_expires_at
                 FROM booking.booking_allocations a
                WHERE a.tenant_id = p_tenant_id AND a.resource_id = p_resource_id AND a.active
                  AND a.starts >= v_lo AND a.starts < v_hi)) AS x
       WHERE x.ends > v_lo
    LOOP
      IF v_in_way.hold_expires_at IS NOT NULL AND v_in_way.hold_expires_at <= pg_catalog.now()
         AND booking._expire_booking(p_tenant_id, v_in_way.booking_id) THEN
        CONTINUE;
      END IF;
      PERFORM booking._raise_slot_taken(p_tenant_id, p_resource_id, v_tz, v_lo, v_hi, v_in_way.starts, v_in_way.ends);
    END LOOP;
    -- booking._allocate and the customer's last_booking_at in one statement (the
    -- allocation's CTE runs although nothing reads it; a 23P01 from the exclusion
    -- constraint, the backstop, fails the whole statement as it failed the INSERT)
    WITH a AS (
      INSERT INTO booking.booking_allocations (id, tenant_id, booking_id, resource_id, blocked, hold_expires_at)
      VALUES (booking._new_id(), p_tenant_id, v_id, p_resource_id, v_blocked, v_hold_until))
    UPDATE booking.customers cu
       SET last_booking_at = p_starts_at
     WHERE cu.tenant_id = p_tenant_id AND cu.id = p_customer_id
       AND (cu.last_booking_at IS NULL OR cu.last_booking_at < p_starts_at);
    RETURN v_id;
  END IF;

  -- with a key: the customer row key-share locked before anything else (see above)
  PERFORM 1 FROM booking.customers c
   WHERE c.tenant_id = p_tenant_id AND c.id = p_customer_id AND c.anonymized_at IS NULL
     FOR KEY SHARE;
  IF NOT FOUND THEN
    PERFORM booking._raise_unknown_customer(p_customer_id);
  END IF;
  PERFORM booking._lock_resources(p_tenant_id, ARRAY[p_resource_id]);
  -- a concurrent call with the same key may have booked while this one waited
  SELECT b.id INTO v_id FROM booking.bookings b
   WHERE b.tenant_id = p_tenant_id AND b.idempotency_key = p_idempotency_key;
  IF FOUND THEN
    RETURN v_id;
  END IF;
  PERFORM booking._make_room(p_tenant_id, p_resource_id, v_tz, v_blocked, NULL, true);

  v_id := booking._insert_booking(
    p_tenant_id, p_service_id, p_resource_id, p_customer_id,
    pg_catalog.tstzrange(p_starts_at, p_starts_at + s.duration), v_blocked,
    CASE WHEN p_hold IS NULL THEN NULL ELSE LEAST(pg_catalog.now() + p_hold, p_starts_at) END,
    p_idempotency_key, s.price_cents, s.currency);
  IF v_id IS NULL THEN
    -- the key was taken by a concurrent call that committed first
    SELECT b.id INTO v_id FROM booking.bookings b
     WHERE b.tenant_id = p_tenant_id AND b.idempotency_key = p_idempotency_key;
    RETURN v_id;
  END IF;

  PERFORM ops.write_audit(p_tenant_id, 'booking.book', 'booking', v_id,
    pg_catalog.jsonb_build_object('service_id', p_service_id, 'resource_id', p_resource_id,
                                  'customer_id', p_customer_id,
                                  'status', CASE WHEN p_hold IS NULL THEN 'confirmed' ELSE 'pending' END));
  RETURN v_id;
END
$$;
