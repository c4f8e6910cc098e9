-- Bounds shared by the API (issue 6): the tenant's booking horizon and the checks on a
-- start time. Every timestamp argument must be finite, and nothing can be booked
-- further ahead than now() + booking.tenants.booking_horizon (default 2 years), so no
-- API call does date arithmetic near the ends of the timestamp range (which would raise
-- 22008) and no booking can push last_booking_at past any retention.

-- How far ahead the tenant of the transaction may book. BK002 when the tenant row does
-- not exist (the caller has asserted the tenant, so RLS shows its row if there is one).
CREATE OR REPLACE FUNCTION booking._booking_horizon(p_tenant_id uuid)
  RETURNS interval
  LANGUAGE plpgsql
  STABLE
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_horizon interval;
BEGIN
  SELECT t.booking_horizon INTO v_horizon FROM booking.tenants t WHERE t.id = p_tenant_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown tenant %', p_tenant_id
      USING ERRCODE = 'BK002', HINT = 'create the tenant in booking.tenants first';
  END IF;
  RETURN v_horizon;
END
$$;

-- Raises BK003 unless p_start (named p_label in the message, e.g. 'start') is finite,
-- not in the past, and no later than now() + the tenant's horizon. Used by book and
-- reschedule before any arithmetic on the start.
CREATE OR REPLACE FUNCTION booking._assert_bookable_start(p_tenant_id uuid, p_start timestamptz, p_label text)
  RETURNS void
  LANGUAGE plpgsql
  STABLE
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_horizon interval;
BEGIN
  IF NOT pg_catalog.isfinite(p_start) THEN
    RAISE EXCEPTION 'invalid argument: the % must be a finite timestamp, not %', p_label, p_start
      USING ERRCODE = 'BK003', HINT = 'pick a slot from booking.available_slots()';
  END IF;
  IF p_start < pg_catalog.now() THEN
    RAISE EXCEPTION 'invalid argument: % % is in the past', p_label, p_start
      USING ERRCODE = 'BK003', HINT = 'pick a slot from booking.available_slots()';
  END IF;
  v_horizon := booking._booking_horizon(p_tenant_id);
  IF p_start > pg_catalog.now() + v_horizon THEN
    RAISE EXCEPTION 'invalid argument: % % is beyond the booking horizon of this tenant (%): the latest start now is %',
        p_label, p_start, v_horizon, pg_catalog.now() + v_horizon
      USING ERRCODE = 'BK003',
            HINT = pg_catalog.format('book at most %s ahead; the operator sets the horizon in booking.tenants.booking_horizon', v_horizon);
  END IF;
END
$$;
