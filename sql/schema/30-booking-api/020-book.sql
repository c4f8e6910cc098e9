-- Books p_service_id on p_resource_id for p_customer_id at p_starts_at and returns the
-- booking id. With p_hold the booking is a pending hold that lapses at
-- now() + p_hold (never later than its start) unless confirmed; without, it is
-- confirmed at once. A repeated p_idempotency_key returns the first booking's id and
-- books nothing, also when both calls race (ON CONFLICT DO NOTHING waits for the
-- other insert, then the key is read again).
-- Under contention: validation first (no lock; service, resource, offering and
-- customer in one statement), then (without an idempotency key) an unlocked read of
-- the slot that fails a slot already taken at once (booking._precheck_free), then the
-- resource's advisory lock, the overlap check on plain columns that decides (expired
-- holds in the way are expired), then the insert; the exclusion constraint on booking_allocations stays as
-- the backstop. Without an idempotency key the booking and audit rows are inserted
-- before the lock, so the lock is held for the overlap check and the allocation only.
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
  v_tz text;
  v_blocked tstzrange;
  v_problem text;
  v_hold_until timestamptz;
BEGIN
  PERFORM booking._require_primary('booking.book');  -- 25006 with a clear message on a read replica
  PERFORM booking._assert_tenant(p_tenant_id);
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
  -- finite, not in the past, within the tenant's horizon: before any arithmetic on it
  PERFORM booking._assert_bookable_start(p_tenant_id, p_starts_at, 'start');
  IF p_hold IS NOT NULL AND (p_hold <= interval '0' OR p_hold > interval '7 days') THEN
    RAISE EXCEPTION 'invalid argument: the hold must be positive and at most 7 days'
      USING ERRCODE = 'BK003', HINT = 'pass e.g. interval ''15 minutes'', or NULL to confirm at once';
  END IF;

  -- service, resource (time zone), offering and customer in one statement; the errors
  -- in the order the checks always had
  SELECT sv.duration, sv.buffer_before, sv.buffer_after, sv.price_cents, sv.currency,
         (SELECT l.timezone
            FROM booking.resources r
            JOIN booking.locations l ON l.tenant_id = r.tenant_id AND l.id = r.location_id
           WHERE r.tenant_id = p_tenant_id AND r.id = p_resource_id AND r.active) AS tz,
         EXISTS (SELECT 1 FROM booking.service_resources sr
                  WHERE sr.tenant_id = p_tenant_id AND sr.service_id = p_service_id
                    AND sr.resource_id = p_resource_id) AS offers
    INTO s
    FROM booking.services sv
   WHERE sv.tenant_id = p_tenant_id AND sv.id = p_service_id AND sv.active;
  IF NOT FOUND THEN
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
  -- The customer row is key-share locked (the lock the booking's foreign key takes
  -- anyway, taken here first): an anonymisation batch of maintain's retention holds it
  -- FOR UPDATE until it commits, and this read then sees the anonymised row and refuses,
  -- instead of booking for a customer whose personal data was just erased.
  PERFORM 1 FROM booking.customers c
   WHERE c.tenant_id = p_tenant_id AND c.id = p_customer_id AND c.anonymized_at IS NULL
     FOR KEY SHARE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown or anonymised customer %', p_customer_id
      USING ERRCODE = 'BK002', HINT = 'create the customer in booking.customers first';
  END IF;
  v_tz := s.tz;

  v_blocked := pg_catalog.tstzrange(p_starts_at - s.buffer_before, p_starts_at + s.duration + s.buffer_after);
  v_problem := booking._working_problem(p_tenant_id, p_resource_id, v_tz,
                                        pg_catalog.lower(v_blocked), pg_catalog.upper(v_blocked));
  IF v_problem IS NOT NULL THEN
    RAISE EXCEPTION '%', v_problem
      USING ERRCODE = 'BK001', HINT = 'pick a slot from booking.available_slots()';
  END IF;

  IF p_idempotency_key IS NULL THEN
    -- a slot already taken fails here, without queueing for the lock. Not with a key:
    -- a retry whose first call has just committed must get that booking's id (the key
    -- is read again under the lock), not 23P01 for the slot the first call took.
    PERFORM booking._precheck_free(p_tenant_id, p_resource_id, v_tz,
                                   pg_catalog.lower(v_blocked), pg_catalog.upper(v_blocked));
    -- Without a key, the booking row and its audit row are written before the lock:
    -- neither can wait for another transaction (no unique key to conflict on; the
    -- foreign-key checks only key-share the rows they reference, which nothing holding
    -- a resource lock ever locks more strongly), and a failure below rolls both back.
    -- The lock then covers only the overlap check, the allocation and the customer's
    -- last_booking_at (a row other lock holders update too, so it stays under the lock).
    v_hold_until := CASE WHEN p_hold IS NULL THEN NULL ELSE LEAST(pg_catalog.now() + p_hold, p_starts_at) END;
    v_id := booking._insert_booking_row(
      p_tenant_id, p_service_id, p_resource_id, p_customer_id,
      pg_catalog.tstzrange(p_starts_at, p_starts_at + s.duration), v_hold_until,
      NULL, s.price_cents, s.currency);
    PERFORM ops.write_audit(p_tenant_id, 'booking.book', 'booking', v_id,
      pg_catalog.jsonb_build_object('service_id', p_service_id, 'resource_id', p_resource_id,
                                    'customer_id', p_customer_id,
                                    'status', CASE WHEN p_hold IS NULL THEN 'confirmed' ELSE 'pending' END));
    PERFORM booking._lock_resources(p_tenant_id, ARRAY[p_resource_id]);
    PERFORM booking._make_room(p_tenant_id, p_resource_id, v_tz, v_blocked, NULL, true);
    PERFORM booking._allocate(p_tenant_id, v_id, p_resource_id, p_customer_id, p_starts_at, v_blocked, v_hold_until);
    RETURN v_id;
  END IF;

  PERFORM booking._lock_resources(p_tenant_id, ARRAY[p_resource_id]);
  IF p_idempotency_key IS NOT NULL THEN
    -- a concurrent call with the same key may have booked while this one waited
    SELECT b.id INTO v_id FROM booking.bookings b
     WHERE b.tenant_id = p_tenant_id AND b.idempotency_key = p_idempotency_key;
    IF FOUND THEN
      RETURN v_id;
    END IF;
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
