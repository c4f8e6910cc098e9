-- Puts a customer on the waitlist for p_service_id anywhere inside p_wanted
-- (optionally only on p_resource_id) and returns the entry id. The entry is offered
-- freed time by cancel/reschedule/expiry (booking._offer_to_waitlist), oldest first.
-- p_wanted is stored with [) bounds.
-- The range may start in the past (it means "from now on") but must end in the future
-- and no later than now() + the tenant's booking horizon.
-- Errors: 42501 tenant mismatch; BK003 NULL argument, unbounded, infinite or empty range,
-- range already over, ending beyond the booking horizon, or shorter than the service; BK002 unknown/inactive service, resource
-- or customer, or the resource does not offer the service.
CREATE OR REPLACE FUNCTION booking.join_waitlist(p_tenant_id uuid, p_service_id uuid, p_customer_id uuid,
                                                 p_wanted tstzrange, p_resource_id uuid DEFAULT NULL)
  RETURNS uuid
  LANGUAGE plpgsql
  VOLATILE
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_duration interval;
  v_horizon interval;
  v_wanted tstzrange;
  v_id uuid;
BEGIN
  PERFORM booking._require_primary('booking.join_waitlist');  -- 25006 with a clear message on a read replica
  PERFORM booking._assert_tenant(p_tenant_id);
  IF p_service_id IS NULL OR p_customer_id IS NULL OR p_wanted IS NULL THEN
    RAISE EXCEPTION 'invalid argument: service, customer and wanted range are required'
      USING ERRCODE = 'BK003', HINT = 'pass the range of times the customer could come';
  END IF;
  IF pg_catalog.isempty(p_wanted) OR pg_catalog.lower_inf(p_wanted) OR pg_catalog.upper_inf(p_wanted) THEN
    RAISE EXCEPTION 'invalid argument: the wanted range must be bounded and non-empty'
      USING ERRCODE = 'BK003', HINT = 'pass e.g. tstzrange(''2026-05-01 09:00+02'', ''2026-05-01 18:00+02'')';
  END IF;
  IF NOT pg_catalog.isfinite(pg_catalog.lower(p_wanted)) OR NOT pg_catalog.isfinite(pg_catalog.upper(p_wanted)) THEN
    RAISE EXCEPTION 'invalid argument: the wanted range must have finite bounds, not %', p_wanted
      USING ERRCODE = 'BK003', HINT = 'pass e.g. tstzrange(''2026-05-01 09:00+02'', ''2026-05-01 18:00+02'')';
  END IF;
  IF pg_catalog.upper(p_wanted) <= pg_catalog.now() THEN
    RAISE EXCEPTION 'invalid argument: the wanted range is already over'
      USING ERRCODE = 'BK003', HINT = 'pass a range that ends in the future';
  END IF;
  v_horizon := booking._booking_horizon(p_tenant_id);
  IF pg_catalog.upper(p_wanted) > pg_catalog.now() + v_horizon THEN
    RAISE EXCEPTION 'invalid argument: the wanted range ends at %, beyond the booking horizon of this tenant (%)',
        pg_catalog.upper(p_wanted), v_horizon
      USING ERRCODE = 'BK003',
            HINT = pg_catalog.format('end the range by %s; nothing can be booked later', pg_catalog.now() + v_horizon);
  END IF;
  v_wanted := pg_catalog.tstzrange(pg_catalog.lower(p_wanted), pg_catalog.upper(p_wanted), '[)');

  SELECT sv.duration INTO v_duration
    FROM booking.services sv
   WHERE sv.tenant_id = p_tenant_id AND sv.id = p_service_id AND sv.active;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown or inactive service %', p_service_id
      USING ERRCODE = 'BK002', HINT = 'list the tenant''s active services in booking.services';
  END IF;
  IF pg_catalog.lower(v_wanted) + v_duration > pg_catalog.upper(v_wanted) THEN
    RAISE EXCEPTION 'invalid argument: the wanted range is shorter than the service (%)', v_duration
      USING ERRCODE = 'BK003', HINT = 'widen the range';
  END IF;
  PERFORM 1 FROM booking.customers c
   WHERE c.tenant_id = p_tenant_id AND c.id = p_customer_id AND c.anonymized_at IS NULL;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown or anonymised customer %', p_customer_id
      USING ERRCODE = 'BK002', HINT = 'create the customer in booking.customers first';
  END IF;
  IF p_resource_id IS NOT NULL THEN
    PERFORM 1
       FROM booking.resources r
       JOIN booking.service_resources sr
         ON sr.tenant_id = r.tenant_id AND sr.resource_id = r.id AND sr.service_id = p_service_id
      WHERE r.tenant_id = p_tenant_id AND r.id = p_resource_id AND r.active;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'resource % is unknown, inactive or does not offer service %', p_resource_id, p_service_id
        USING ERRCODE = 'BK002', HINT = 'pass a resource that offers the service, or NULL for any';
    END IF;
  END IF;

  INSERT INTO booking.waitlist_entries AS w (tenant_id, service_id, customer_id, resource_id, wanted)
  VALUES (p_tenant_id, p_service_id, p_customer_id, p_resource_id, v_wanted)
  RETURNING w.id INTO v_id;
  PERFORM ops.write_audit(p_tenant_id, 'waitlist.join', 'waitlist_entry', v_id,
    pg_catalog.jsonb_build_object('service_id', p_service_id, 'customer_id', p_customer_id,
                                  'resource_id', p_resource_id));
  RETURN v_id;
END
$$;
