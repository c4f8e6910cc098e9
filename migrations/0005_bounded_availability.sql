-- Up Migration
-- Bounded availability (issue 6): floors on a service's duration and slot step, and a
-- per-tenant booking horizon. With the old rules a '1 microsecond' service on a
-- 24-hour resource made one available_slots call generate billions of candidates.
--
-- Floors: services.duration >= 5 minutes and services.slot_step (when set) >= 5 minutes,
-- by CHECK constraint; the upper bounds (24 hours) and the no-day/no-month rule stay.
-- Existing rows below a floor are RAISED to it (duration and/or slot_step set to
-- 5 minutes), so the new constraints are VALID at once and every bookable service stays
-- bookable. Each changed service gets one ops.audit_log row (action
-- 'service.floor_raised', entity 'service', details: old_/new_duration and
-- old_/new_slot_step), so an operator can see and undo what changed. Existing bookings
-- are not touched: they keep the times they were booked at.
--
-- Horizon: booking.tenants.booking_horizon, how far ahead a start may be booked
-- (default 2 years, between 1 day and 10 years). Every existing tenant gets the default.
-- The API functions (sql/schema/30-booking-api) refuse starts beyond now() + horizon.
--
-- RLS: booking.services is FORCE RLS and the owner is NOBYPASSRLS, so the owner would see
-- no rows; FORCE is lifted for the one UPDATE and restored in the same transaction (the
-- constraint change below holds ACCESS EXCLUSIVE on the table throughout anyway). The audit
-- rows are written under each row's own tenant (set_config, restored afterwards), through
-- the parent table's policy. Inserted directly rather than via ops.write_audit: that
-- function is repeatable SQL, which runs after the migrations.

ALTER TABLE booking.tenants
  ADD COLUMN booking_horizon interval NOT NULL DEFAULT interval '2 years',
  ADD CONSTRAINT tenants_booking_horizon_check CHECK (
    booking_horizon >= interval '1 day' AND booking_horizon <= interval '10 years');
COMMENT ON COLUMN booking.tenants.booking_horizon IS
  'how far ahead a booking may start: book/reschedule/join_waitlist refuse later starts, available_slots offers none (BK003)';

ALTER TABLE booking.services NO FORCE ROW LEVEL SECURITY;
DO $$
DECLARE
  v_previous text := pg_catalog.current_setting('app.tenant_id', true);
  r record;
BEGIN
  FOR r IN
    UPDATE booking.services s
       SET duration = GREATEST(s.duration, interval '5 minutes'),
           slot_step = CASE WHEN s.slot_step < interval '5 minutes' THEN interval '5 minutes' ELSE s.slot_step END
      FROM booking.services o
     WHERE o.tenant_id = s.tenant_id AND o.id = s.id
       AND (o.duration < interval '5 minutes' OR o.slot_step < interval '5 minutes')
    RETURNING s.tenant_id, s.id, o.duration AS old_duration, o.slot_step AS old_slot_step,
              s.duration AS new_duration, s.slot_step AS new_slot_step
  LOOP
    PERFORM pg_catalog.set_config('app.tenant_id', r.tenant_id::text, true);
    INSERT INTO ops.audit_log (tenant_id, action, entity, entity_id, actor, details)
    VALUES (r.tenant_id, 'service.floor_raised', 'service', r.id, session_user::text,
            pg_catalog.jsonb_build_object(
              'migration', '0005_bounded_availability',
              'old_duration', r.old_duration::text, 'new_duration', r.new_duration::text,
              'old_slot_step', r.old_slot_step::text, 'new_slot_step', r.new_slot_step::text));
  END LOOP;
  PERFORM pg_catalog.set_config('app.tenant_id', coalesce(v_previous, ''), true);
END
$$;
ALTER TABLE booking.services FORCE ROW LEVEL SECURITY;

ALTER TABLE booking.services
  DROP CONSTRAINT services_duration_check,
  DROP CONSTRAINT services_slot_step_check,
  ADD CONSTRAINT services_duration_check CHECK (
    duration >= interval '5 minutes' AND duration <= interval '24 hours'
    AND extract(day FROM duration) = 0 AND extract(month FROM duration) = 0),
  ADD CONSTRAINT services_slot_step_check CHECK (slot_step IS NULL OR (
    slot_step >= interval '5 minutes' AND slot_step <= interval '24 hours'
    AND extract(day FROM slot_step) = 0 AND extract(month FROM slot_step) = 0));

-- Down Migration
-- Restores the rules of 0002 (duration > 0, slot_step >= 1 minute) and drops the horizon.
-- Raised services are NOT lowered again: their old values are in ops.audit_log
-- (action 'service.floor_raised'). The repeatable API functions of this release read
-- booking_horizon: run Down only together with deploying the previous release's sql/.
ALTER TABLE booking.services
  DROP CONSTRAINT services_duration_check,
  DROP CONSTRAINT services_slot_step_check,
  ADD CONSTRAINT services_duration_check CHECK (
    duration > interval '0' AND duration <= interval '24 hours'
    AND extract(day FROM duration) = 0 AND extract(month FROM duration) = 0),
  ADD CONSTRAINT services_slot_step_check CHECK (slot_step IS NULL OR (
    slot_step >= interval '1 minute' AND slot_step <= interval '24 hours'
    AND extract(day FROM slot_step) = 0 AND extract(month FROM slot_step) = 0));
ALTER TABLE booking.tenants DROP COLUMN booking_horizon;
