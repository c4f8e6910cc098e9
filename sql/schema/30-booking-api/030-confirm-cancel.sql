-- Confirms a pending hold. Confirming a confirmed booking again is a no-op (safe to
-- retry). Errors: 42501 tenant mismatch; BK003 NULL argument; BK002 unknown booking;
-- BK004 the booking is cancelled/completed/no_show or its hold has expired.
CREATE OR REPLACE FUNCTION booking.confirm(p_tenant_id uuid, p_booking_id uuid)
  RETURNS void
  LANGUAGE plpgsql
  VOLATILE
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  b record;
BEGIN
  PERFORM booking._require_primary('booking.confirm');  -- 25006 with a clear message on a read replica
  PERFORM booking._assert_tenant(p_tenant_id);
  IF p_booking_id IS NULL THEN
    RAISE EXCEPTION 'invalid argument: booking id is required'
      USING ERRCODE = 'BK003', HINT = 'pass the id booking.book() returned';
  END IF;
  SELECT bk.status, bk.hold_expires_at INTO b
    FROM booking.bookings bk
   WHERE bk.tenant_id = p_tenant_id AND bk.id = p_booking_id
     FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown booking %', p_booking_id
      USING ERRCODE = 'BK002', HINT = 'check the booking id and the tenant';
  END IF;
  IF b.status = 'confirmed' THEN
    RETURN;
  END IF;
  IF b.status <> 'pending' THEN
    RAISE EXCEPTION 'booking % is %; only a pending hold can be confirmed', p_booking_id, b.status
      USING ERRCODE = 'BK004', HINT = 'book a new slot instead';
  END IF;
  IF b.hold_expires_at <= pg_catalog.now() THEN
    RAISE EXCEPTION 'booking % cannot be confirmed: its hold expired at %', p_booking_id, b.hold_expires_at
      USING ERRCODE = 'BK004', HINT = 'book the slot again if it is still free';
  END IF;

  UPDATE booking.bookings bk
     SET status = 'confirmed', hold_expires_at = NULL, updated_at = pg_catalog.now()
   WHERE bk.tenant_id = p_tenant_id AND bk.id = p_booking_id;
  UPDATE booking.booking_allocations a
     SET hold_expires_at = NULL
   WHERE a.tenant_id = p_tenant_id AND a.booking_id = p_booking_id AND a.active;
  UPDATE booking.waitlist_entries w
     SET status = 'booked', updated_at = pg_catalog.now()
   WHERE w.tenant_id = p_tenant_id AND w.offered_booking_id = p_booking_id AND w.status = 'offered';
  PERFORM ops.write_audit(p_tenant_id, 'booking.confirm', 'booking', p_booking_id);
END
$$;

-- Cancels a pending or confirmed booking: the allocation stops blocking at once, a
-- waitlist offer made with this booking lapses, and if the booking lies in the future
-- its time is offered to the oldest matching waitlist entry as a pending hold
-- (booking._offer_to_waitlist). Cancelling a cancelled booking again is a no-op.
-- p_reason is free text written by people: it is tagged pii.
-- Errors: 42501 tenant mismatch; BK003 NULL id or reason over 500 characters;
-- BK002 unknown booking; BK004 the booking is completed or no_show.
CREATE OR REPLACE FUNCTION booking.cancel(p_tenant_id uuid, p_booking_id uuid, p_reason text DEFAULT NULL)
  RETURNS void
  LANGUAGE plpgsql
  VOLATILE
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  b record;
BEGIN
  PERFORM booking._require_primary('booking.cancel');  -- 25006 with a clear message on a read replica
  PERFORM booking._assert_tenant(p_tenant_id);
  IF p_booking_id IS NULL THEN
    RAISE EXCEPTION 'invalid argument: booking id is required'
      USING ERRCODE = 'BK003', HINT = 'pass the id booking.book() returned';
  END IF;
  IF pg_catalog.length(p_reason) > 500 THEN
    RAISE EXCEPTION 'invalid argument: the cancel reason is longer than 500 characters'
      USING ERRCODE = 'BK003', HINT = 'shorten the reason';
  END IF;
  SELECT bk.status, bk.resource_id, bk.starts INTO b
    FROM booking.bookings bk
   WHERE bk.tenant_id = p_tenant_id AND bk.id = p_booking_id
     FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown booking %', p_booking_id
      USING ERRCODE = 'BK002', HINT = 'check the booking id and the tenant';
  END IF;
  IF b.status = 'cancelled' THEN
    RETURN;
  END IF;
  IF b.status NOT IN ('pending', 'confirmed') THEN
    RAISE EXCEPTION 'booking % is % and can no longer be cancelled', p_booking_id, b.status
      USING ERRCODE = 'BK004', HINT = 'only pending and confirmed bookings can be cancelled';
  END IF;

  UPDATE booking.bookings bk
     SET status = 'cancelled', cancelled_at = pg_catalog.now(), cancel_reason = p_reason,
         updated_at = pg_catalog.now()
   WHERE bk.tenant_id = p_tenant_id AND bk.id = p_booking_id;
  UPDATE booking.booking_allocations a
     SET active = false
   WHERE a.tenant_id = p_tenant_id AND a.booking_id = p_booking_id AND a.active;
  UPDATE booking.waitlist_entries w
     SET status = 'expired', updated_at = pg_catalog.now()
   WHERE w.tenant_id = p_tenant_id AND w.offered_booking_id = p_booking_id AND w.status = 'offered';
  PERFORM ops.write_audit(p_tenant_id, 'booking.cancel', 'booking', p_booking_id,
                          pg_catalog.jsonb_build_object('previous_status', b.status));
  PERFORM booking._offer_to_waitlist(p_tenant_id, b.resource_id, b.starts); -- no-op for a past slot
END
$$;
