-- Expires the pending holds of one tenant whose hold_expires_at has passed (status
-- cancelled, allocation freed) and offers each freed future slot to the waitlist.
-- Returns how many it expired. Holds are processed in ascending resource-lock order
-- and their rows locked with SKIP LOCKED (one being confirmed or cancelled right now is
-- left alone), so this never deadlocks with the API. Correctness does not depend on
-- it running: expired holds never block availability, and book() expires those in
-- its way; this is the cleanup.
CREATE OR REPLACE FUNCTION booking.expire_tenant_holds(p_tenant_id uuid)
  RETURNS integer
  LANGUAGE plpgsql
  VOLATILE
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  h record;
  v_count integer := 0;
BEGIN
  PERFORM booking._require_primary('booking.expire_tenant_holds');  -- 25006 with a clear message on a read replica
  PERFORM booking._assert_tenant(p_tenant_id);
  FOR h IN
    SELECT b.id, b.resource_id, b.starts
      FROM booking.bookings b
     WHERE b.tenant_id = p_tenant_id
       AND b.status = 'pending'
       AND b.hold_expires_at <= pg_catalog.now()
     ORDER BY booking._resource_lock_key(p_tenant_id, b.resource_id), b.starts
  LOOP
    IF booking._expire_booking(p_tenant_id, h.id) THEN
      v_count := v_count + 1;
      PERFORM booking._offer_to_waitlist(p_tenant_id, h.resource_id, h.starts); -- no-op for a past slot
    END IF;
  END LOOP;
  RETURN v_count;
END
$$;

-- Maintenance entry point: expires the passed holds of every tenant the caller can
-- see in booking.tenants and returns how many. SECURITY INVOKER on purpose: run by a
-- superuser (or a BYPASSRLS role), as `bookingdb maintain` does, it covers all
-- tenants; run by the app role inside a tenant transaction, it covers that tenant.
-- For each tenant it scopes the transaction with set_config('app.tenant_id', ..., true)
-- and calls booking.expire_tenant_holds(); the previous tenant setting is restored.
CREATE OR REPLACE FUNCTION booking.expire_holds()
  RETURNS integer
  LANGUAGE plpgsql
  VOLATILE
  SECURITY INVOKER
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_previous text := pg_catalog.current_setting('app.tenant_id', true);
  v_tenant uuid;
  v_count integer := 0;
BEGIN
  FOR v_tenant IN SELECT t.id FROM booking.tenants t ORDER BY t.id LOOP
    PERFORM pg_catalog.set_config('app.tenant_id', v_tenant::text, true);
    v_count := v_count + booking.expire_tenant_holds(v_tenant);
  END LOOP;
  PERFORM pg_catalog.set_config('app.tenant_id', coalesce(v_previous, ''), true);
  RETURN v_count;
END
$$;
