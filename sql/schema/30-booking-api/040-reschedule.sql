-- Moves a pending or confirmed booking to p_new_starts_at, on p_new_resource_id when
-- given (else the same resource), keeping its service, customer, price and status (a
-- pending hold keeps its expiry). Atomic: every check runs before the first write and
-- any error leaves the original booking untouched. When it moves to another resource
-- both resources are locked in ascending key order (booking._lock_resources), so two
-- opposite moves never deadlock. The time it leaves, if still ahead, is offered to
-- the waitlist like a cancelled booking's.
-- Errors: 42501 tenant mismatch; BK003 NULL argument, or new start not finite, in the
-- past or beyond the tenant's booking horizon;
-- BK002 unknown booking, inactive service or resource, or the resource does not offer
-- the service; BK004 booking not pending/confirmed or hold expired; BK001 outside
-- working hours or in time off; 23P01 slot taken.
CREATE OR REPLACE FUNCTION booking.reschedule(p_tenant_id uuid, p_booking_id uuid,
                                              p_new_starts_at timestamptz,
                                              p_new_resource_id uuid DEFAULT NULL)
  RETURNS void
  LANGUAGE plpgsql
  VOLATILE
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  b record;
  s record;
  v_resource uuid;
  v_tz text;
  v_blocked tstzrange;
  v_problem text;
BEGIN
  PERFORM booking._require_primary('booking.reschedule');  -- 25006 with a clear message on a read replica
  PERFORM booking._assert_tenant(p_tenant_id);
  IF p_booking_id IS NULL OR p_new_starts_at IS NULL THEN
    RAISE EXCEPTION 'invalid argument: booking id and new start are required'
      USING ERRCODE = 'BK003', HINT = 'pass the booking id and the new start';
  END IF;
  SELECT bk.status, bk.hold_expires_at, bk.service_id, bk.resource_id, bk.starts INTO b
    FROM booking.bookings bk
   WHERE bk.tenant_id = p_tenant_id AND bk.id = p_booking_id
     FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown booking %', p_booking_id
      USING ERRCODE = 'BK002', HINT = 'check the booking id and the tenant';
  END IF;
  IF b.status NOT IN ('pending', 'confirmed') THEN
    RAISE EXCEPTION 'booking % is % and cannot be rescheduled', p_booking_id, b.status
      USING ERRCODE = 'BK004', HINT = 'book a new slot instead';
  END IF;
  IF b.status = 'pending' AND b.hold_expires_at <= pg_catalog.now() THEN
    RAISE EXCEPTION 'booking % cannot be rescheduled: its hold expired at %', p_booking_id, b.hold_expires_at
      USING ERRCODE = 'BK004', HINT = 'book a new slot instead';
  END IF;
  PERFORM booking._assert_bookable_start(p_tenant_id, p_new_starts_at, 'new start');
  v_resource := coalesce(p_new_resource_id, b.resource_id);

  SELECT sv.duration, sv.buffer_before, sv.buffer_after INTO s
    FROM booking.services sv
   WHERE sv.tenant_id = p_tenant_id AND sv.id = b.service_id AND sv.active;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'the service % of booking % is inactive', b.service_id, p_booking_id
      USING ERRCODE = 'BK002', HINT = 'reactivate the service or cancel and book another';
  END IF;
  v_tz := booking._offering_resource_tz(p_tenant_id, b.service_id, v_resource);

  v_blocked := pg_catalog.tstzrange(p_new_starts_at - s.buffer_before,
                                    p_new_starts_at + s.duration + s.buffer_after);
  v_problem := booking._working_problem(p_tenant_id, v_resource, v_tz,
                                        pg_catalog.lower(v_blocked), pg_catalog.upper(v_blocked));
  IF v_problem IS NOT NULL THEN
    RAISE EXCEPTION '%', v_problem
      USING ERRCODE = 'BK001', HINT = 'pick a slot from booking.available_slots()';
  END IF;

  PERFORM booking._lock_resources(p_tenant_id, ARRAY[b.resource_id, v_resource]);
  PERFORM booking._make_room(p_tenant_id, v_resource, v_tz, v_blocked, p_booking_id, true);

  UPDATE booking.bookings bk
     SET resource_id = v_resource,
         during = pg_catalog.tstzrange(p_new_starts_at, p_new_starts_at + s.duration),
         updated_at = pg_catalog.now()
   WHERE bk.tenant_id = p_tenant_id AND bk.id = p_booking_id;
  UPDATE booking.booking_allocations a
     SET resource_id = v_resource, blocked = v_blocked
   WHERE a.tenant_id = p_tenant_id AND a.booking_id = p_booking_id AND a.active;
  PERFORM ops.write_audit(p_tenant_id, 'booking.reschedule', 'booking', p_booking_id,
    pg_catalog.jsonb_build_object('from_resource_id', b.resource_id, 'to_resource_id', v_resource));
  PERFORM booking._offer_to_waitlist(p_tenant_id, b.resource_id, b.starts); -- no-op for a past slot
END
$$;
