-- Slot checks shared by book, reschedule and the waitlist offer. All reads filter on
-- tenant_id and on plain columns (starts/ends), because range operators are not
-- leakproof and could not use an index under RLS.

-- NULL when [p_start, p_end) lies inside one working block of the resource (weekly
-- hours in the location's time zone, built as (local day + local time) AT TIME ZONE
-- tz so DST days keep their wall-clock hours) and overlaps no time off; otherwise a
-- message saying which rule it breaks (the caller raises BK001 or skips the slot).
CREATE OR REPLACE FUNCTION booking._working_problem(p_tenant_id uuid, p_resource_id uuid, p_tz text,
                                                    p_start timestamptz, p_end timestamptz)
  RETURNS text
  LANGUAGE plpgsql
  STABLE
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_day date := (p_start AT TIME ZONE p_tz)::date;
  v_off record;
BEGIN
  PERFORM 1
     FROM booking.working_hours wh
    WHERE wh.tenant_id = p_tenant_id
      AND wh.resource_id = p_resource_id
      AND wh.weekday = EXTRACT(isodow FROM v_day)::smallint
      AND (v_day + wh.starts_local) AT TIME ZONE p_tz <= p_start
      AND (v_day + wh.ends_local) AT TIME ZONE p_tz >= p_end;
  IF NOT FOUND THEN
    RETURN pg_catalog.format(
      'outside working hours: %s to %s does not fit in one working block of the resource (buffers included)',
      booking._local_text(p_start, p_tz), booking._local_text(p_end, p_tz));
  END IF;

  SELECT t.starts, t.ends INTO v_off
    FROM booking.time_off t
   WHERE t.tenant_id = p_tenant_id
     AND t.resource_id = p_resource_id
     AND t.ends > p_start
     AND t.starts < p_end
   LIMIT 1;
  IF FOUND THEN
    RETURN pg_catalog.format('in time off: the resource is off from %s to %s',
      booking._local_text(v_off.starts, p_tz), booking._local_text(v_off.ends, p_tz));
  END IF;
  RETURN NULL;
END
$$;

-- Expires one pending booking whose hold has passed: status cancelled, allocation
-- inactive, a waitlist offer made with it lapses. Returns false (and changes nothing)
-- when the booking is not an expired hold or another transaction holds its row (SKIP
-- LOCKED: the caller holds resource locks and must not wait for a row).
CREATE OR REPLACE FUNCTION booking._expire_booking(p_tenant_id uuid, p_booking_id uuid)
  RETURNS boolean
  LANGUAGE plpgsql
  VOLATILE
  SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM 1
     FROM booking.bookings b
    WHERE b.tenant_id = p_tenant_id AND b.id = p_booking_id
      AND b.status = 'pending' AND b.hold_expires_at <= pg_catalog.now()
      FOR UPDATE SKIP LOCKED;
  IF NOT FOUND THEN
    RETURN false;
  END IF;
  UPDATE booking.bookings b
     SET status = 'cancelled', cancelled_at = pg_catalog.now(), cancel_reason = 'hold expired',
         updated_at = pg_catalog.now()
   WHERE b.tenant_id = p_tenant_id AND b.id = p_booking_id;
  UPDATE booking.booking_allocations a
     SET active = false
   WHERE a.tenant_id = p_tenant_id AND a.booking_id = p_booking_id AND a.active;
  UPDATE booking.waitlist_entries w
     SET status = 'expired', updated_at = pg_catalog.now()
   WHERE w.tenant_id = p_tenant_id AND w.offered_booking_id = p_booking_id AND w.status = 'offered';
  PERFORM ops.write_audit(p_tenant_id, 'booking.expire', 'booking', p_booking_id);
  RETURN true;
END
$$;

-- The message and the detail of a 23P01 "slot taken", the wall-clock times of the
-- location as booking._local_text writes them. Plain SQL without SET search_path (see
-- booking._local_text), so they are inlined where they are called: book() raises with
-- them directly on its hot path, booking._raise_slot_taken for everyone else.
CREATE OR REPLACE FUNCTION booking._slot_taken_message(p_resource_name text, p_resource_id uuid, p_tz text,
                                                       p_lo timestamptz, p_hi timestamptz)
  RETURNS text
  LANGUAGE sql
  STABLE
AS $$
  SELECT pg_catalog.format('slot taken: resource "%s" (%s) is not free from %s to %s', p_resource_name, p_resource_id,
                           booking._local_text(p_lo, p_tz), booking._local_text(p_hi, p_tz))
$$;

CREATE OR REPLACE FUNCTION booking._slot_taken_detail(p_tz text, p_starts timestamptz, p_ends timestamptz)
  RETURNS text
  LANGUAGE sql
  STABLE
AS $$
  SELECT pg_catalog.format('it is allocated from %s to %s (buffers included)',
                           booking._local_text(p_starts, p_tz), booking._local_text(p_ends, p_tz))
$$;

-- Raises 23P01 for a slot [p_lo, p_hi) of the resource that the allocation [p_starts,
-- p_ends) is in the way of, and counts it (bookingdb_booking_conflicts_total: a
-- sequence is not rolled back with the failed call). One statement reads the counter
-- and the resource's name; the text is booking._slot_taken_message's.
CREATE OR REPLACE FUNCTION booking._raise_slot_taken(p_tenant_id uuid, p_resource_id uuid, p_tz text,
                                                     p_lo timestamptz, p_hi timestamptz,
                                                     p_starts timestamptz, p_ends timestamptz)
  RETURNS void
  LANGUAGE plpgsql
  VOLATILE
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  m record;
BEGIN
  SELECT pg_catalog.nextval('ops.booking_conflicts') AS n,
         (SELECT r.name FROM booking.resources r WHERE r.tenant_id = p_tenant_id AND r.id = p_resource_id) AS name
    INTO m;
  RAISE EXCEPTION '%', booking._slot_taken_message(m.name, p_resource_id, p_tz, p_lo, p_hi)
    USING ERRCODE = 'exclusion_violation',
          DETAIL = booking._slot_taken_detail(p_tz, p_starts, p_ends),
          HINT = 'pick another slot from booking.available_slots()';
END
$$;

-- The allocation in the way of [p_lo, p_hi) on the resource, if one is known to be: one
-- backward index-only probe, the active allocation that starts last before p_hi.
-- Active allocations never overlap one another (the exclusion constraint), so if any
-- overlaps [p_lo, p_hi), this one does: one starting later than an overlapping one
-- starts after that one ends, i.e. after p_lo and before p_hi. When it is a hold past
-- its expiry (no longer blocking), an earlier allocation may still be in the way: no
-- row then means "not known to be taken", and the check under the lock, which expires
-- the hold, decides. Plain SQL without SET search_path, so it is inlined where it is
-- called (booking._precheck_free, and book() on its hot path).
CREATE OR REPLACE FUNCTION booking._allocation_in_the_way(p_tenant_id uuid, p_resource_id uuid,
                                                          p_lo timestamptz, p_hi timestamptz)
  RETURNS TABLE (starts timestamptz, ends timestamptz)
  LANGUAGE sql
  STABLE
AS $$
  SELECT x.starts, x.ends
    FROM (SELECT a.starts, a.ends, a.hold_expires_at
            FROM booking.booking_allocations a
           WHERE a.tenant_id = p_tenant_id AND a.resource_id = p_resource_id AND a.active
             AND a.starts < p_hi
           ORDER BY a.starts DESC
           LIMIT 1) AS x
   WHERE x.ends > p_lo
     AND (x.hold_expires_at IS NULL OR x.hold_expires_at > pg_catalog.now())
$$;

-- Reads, without any lock, whether an allocation that still blocks (active, and not a
-- hold past its expiry) overlaps [p_lo, p_hi) on the resource, and raises 23P01 like
-- booking._make_room when one does. book() calls it before it queues for the
-- resource's advisory lock, so a slot that is already taken fails at once instead of
-- waiting for the lock; the check under the lock (_make_room) still decides, so this
-- is only ever an earlier "taken", never a weaker guarantee (the probe:
-- booking._allocation_in_the_way). VOLATILE: it counts the conflict it raises.
CREATE OR REPLACE FUNCTION booking._precheck_free(p_tenant_id uuid, p_resource_id uuid, p_tz text,
                                                  p_lo timestamptz, p_hi timestamptz)
  RETURNS void
  LANGUAGE plpgsql
  VOLATILE
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  c record;
BEGIN
  SELECT w.starts, w.ends INTO c
    FROM booking._allocation_in_the_way(p_tenant_id, p_resource_id, p_lo, p_hi) AS w;
  IF FOUND THEN
    PERFORM booking._raise_slot_taken(p_tenant_id, p_resource_id, p_tz, p_lo, p_hi, c.starts, c.ends);
  END IF;
END
$$;

-- Makes sure [lower, upper) of p_blocked is free on the resource, apart from the
-- allocation of p_exclude_booking (reschedule). Caller must hold the resource's
-- advisory lock. Expired holds in the way are expired on the spot. Any other active
-- allocation in the way: raises 23P01 naming resource and time when p_raise, else
-- returns false.
-- Active allocations of one resource never overlap (exclusion constraint), so the
-- only one starting before the window that can reach into it is the last one: one
-- backward index probe plus a bounded range scan, instead of an unbounded scan.
CREATE OR REPLACE FUNCTION booking._make_room(p_tenant_id uuid, p_resource_id uuid, p_tz text,
                                              p_blocked tstzrange, p_exclude_booking uuid,
                                              p_raise boolean)
  RETURNS boolean
  LANGUAGE plpgsql
  VOLATILE
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_lo timestamptz := pg_catalog.lower(p_blocked);
  v_hi timestamptz := pg_catalog.upper(p_blocked);
  c record;
BEGIN
  FOR c IN
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
       AND x.booking_id IS DISTINCT FROM p_exclude_booking
  LOOP
    IF c.hold_expires_at IS NOT NULL AND c.hold_expires_at <= pg_catalog.now()
       AND booking._expire_booking(p_tenant_id, c.booking_id) THEN
      CONTINUE;
    END IF;
    IF NOT p_raise THEN
      RETURN false;
    END IF;
    PERFORM booking._raise_slot_taken(p_tenant_id, p_resource_id, p_tz, v_lo, v_hi, c.starts, c.ends);
  END LOOP;
  RETURN true;
END
$$;

-- A new booking or allocation id: a version-7 UUID (RFC 9562), the Unix time in
-- milliseconds in the first 48 bits and 74 random bits after the version and variant
-- bits (gen_random_uuid()'s). Time-ordered ids append to the right end of the
-- (tenant_id, id) and (tenant_id, booking_id) btrees instead of landing on a random
-- leaf page of a million-row index (issue 10, measured with 1M bookings: a booking
-- dirtied 3.5-7 pages and wrote 20-27 kB of WAL, mostly full-page images after each
-- checkpoint; with these ids 1.1 pages and 7 kB). Still unguessable (74 random bits);
-- the id does show when the booking was made, as its created_at does. The columns'
-- default stays gen_random_uuid() for rows inserted without an id.
-- The one function here without a pinned search_path, on purpose: a LANGUAGE sql
-- function with a SET clause is never inlined, and this one sits on book()'s hot path,
-- where the planner now pastes the expression into the calling INSERT (no function
-- call, no GUC save/restore). It does not need the pin: every function, operator and
-- type in it is schema-qualified, it is not SECURITY DEFINER, and only functions that
-- pin their own search_path may call it (EXECUTE is revoked from PUBLIC and the app).
CREATE OR REPLACE FUNCTION booking._new_id()
  RETURNS uuid
  LANGUAGE sql
  VOLATILE
AS $$
  SELECT pg_catalog.encode(pg_catalog.set_bit(pg_catalog.set_bit(pg_catalog.overlay(pg_catalog.uuid_send(pg_catalog.gen_random_uuid()), pg_catalog.substr(pg_catalog.int8send(CAST(pg_catalog.floor(EXTRACT(epoch FROM pg_catalog.clock_timestamp()) OPERATOR(pg_catalog.*) 1000) AS pg_catalog.int8)), 3), 1, 6), 52, 1), 53, 1), 'hex')::pg_catalog.uuid
$$;

-- Inserts a booking row (pending when p_hold_expires_at is set, else confirmed) and
-- returns its id; NULL when the idempotency key is already taken (by a committed or
-- concurrently committing booking: ON CONFLICT waits for it).
CREATE OR REPLACE FUNCTION booking._insert_booking_row(p_tenant_id uuid, p_service_id uuid, p_resource_id uuid,
                                                       p_customer_id uuid, p_during tstzrange,
                                                       p_hold_expires_at timestamptz,
                                                       p_idempotency_key text, p_price_cents integer,
                                                       p_currency text)
  RETURNS uuid
  LANGUAGE plpgsql
  VOLATILE
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_id uuid;
BEGIN
  INSERT INTO booking.bookings AS b
         (id, tenant_id, customer_id, service_id, resource_id, status, during, hold_expires_at,
          idempotency_key, price_cents, currency)
  VALUES (booking._new_id(), p_tenant_id, p_customer_id, p_service_id, p_resource_id,
          CASE WHEN p_hold_expires_at IS NULL THEN 'confirmed' ELSE 'pending' END,
          p_during, p_hold_expires_at, p_idempotency_key, p_price_cents, p_currency)
  ON CONFLICT (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
  RETURNING b.id INTO v_id;
  RETURN v_id;
END
$$;

-- Inserts the allocation of booking p_booking_id and bumps the customer's
-- last_booking_at. The caller holds the resource's advisory lock and has made room.
CREATE OR REPLACE FUNCTION booking._allocate(p_tenant_id uuid, p_booking_id uuid, p_resource_id uuid,
                                             p_customer_id uuid, p_starts timestamptz,
                                             p_blocked tstzrange, p_hold_expires_at timestamptz)
  RETURNS void
  LANGUAGE plpgsql
  VOLATILE
  SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  INSERT INTO booking.booking_allocations (id, tenant_id, booking_id, resource_id, blocked, hold_expires_at)
  VALUES (booking._new_id(), p_tenant_id, p_booking_id, p_resource_id, p_blocked, p_hold_expires_at);

  UPDATE booking.customers c
     SET last_booking_at = p_starts
   WHERE c.tenant_id = p_tenant_id AND c.id = p_customer_id
     AND (c.last_booking_at IS NULL OR c.last_booking_at < p_starts);
END
$$;

-- Inserts a booking and its allocation and bumps the customer's last_booking_at.
-- Status is pending when p_hold_expires_at is set, else confirmed. Returns NULL when
-- the idempotency key is already taken (by a committed or concurrently committing
-- booking: ON CONFLICT waits for it); the caller then returns that booking's id.
CREATE OR REPLACE FUNCTION booking._insert_booking(p_tenant_id uuid, p_service_id uuid, p_resource_id uuid,
                                                   p_customer_id uuid, p_during tstzrange,
                                                   p_blocked tstzrange, p_hold_expires_at timestamptz,
                                                   p_idempotency_key text, p_price_cents integer,
                                                   p_currency text)
  RETURNS uuid
  LANGUAGE plpgsql
  VOLATILE
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_id uuid;
BEGIN
  v_id := booking._insert_booking_row(p_tenant_id, p_service_id, p_resource_id, p_customer_id, p_during,
                                      p_hold_expires_at, p_idempotency_key, p_price_cents, p_currency);
  IF v_id IS NULL THEN
    RETURN NULL;
  END IF;
  PERFORM booking._allocate(p_tenant_id, v_id, p_resource_id, p_customer_id, pg_catalog.lower(p_during),
                            p_blocked, p_hold_expires_at);
  RETURN v_id;
END
$$;

-- The time zone of an active resource that offers the service; BK002 naming what is
-- wrong otherwise. Shared by book and reschedule.
CREATE OR REPLACE FUNCTION booking._offering_resource_tz(p_tenant_id uuid, p_service_id uuid, p_resource_id uuid)
  RETURNS text
  LANGUAGE plpgsql
  STABLE
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_tz text;
BEGIN
  SELECT l.timezone INTO v_tz
    FROM booking.resources r
    JOIN booking.locations l ON l.tenant_id = r.tenant_id AND l.id = r.location_id
   WHERE r.tenant_id = p_tenant_id AND r.id = p_resource_id AND r.active;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown or inactive resource %', p_resource_id
      USING ERRCODE = 'BK002', HINT = 'list the tenant''s active resources in booking.resources';
  END IF;
  PERFORM 1 FROM booking.service_resources sr
   WHERE sr.tenant_id = p_tenant_id AND sr.service_id = p_service_id AND sr.resource_id = p_resource_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'resource % does not offer service %', p_resource_id, p_service_id
      USING ERRCODE = 'BK002', HINT = 'add the pair to booking.service_resources or pick another resource';
  END IF;
  RETURN v_tz;
END
$$;
