-- Internal helpers of the booking API (names start with an underscore). They are not
-- SECURITY DEFINER and nobody but the owner may execute them: they run as the owner
-- because the API functions that call them are SECURITY DEFINER.

-- Raises 42501 unless p_tenant_id is the tenant of the transaction. Every API function
-- calls this first, so a caller can never act on a tenant other than the one its
-- transaction is scoped to (RLS would hide the rows anyway; this makes it an error).
CREATE OR REPLACE FUNCTION booking._assert_tenant(p_tenant_id uuid)
  RETURNS void
  LANGUAGE plpgsql
  STABLE
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_current uuid := booking.current_tenant_id();
BEGIN
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
END
$$;

-- A timestamp as the wall-clock time of a location, for error messages.
-- No SET search_path, on purpose: a SQL function without one is inlined into the
-- expression that calls it (a RAISE's arguments in book() are then evaluated without
-- any function call), and one with it is a full SQL-function call each time. It needs
-- no pinned path: every name in it is schema-qualified, the operator too, and it is
-- not SECURITY DEFINER (sql/verify/security-definer-search-path.sql).
CREATE OR REPLACE FUNCTION booking._local_text(p_at timestamptz, p_tz text)
  RETURNS text
  LANGUAGE sql
  STABLE
AS $$
  SELECT pg_catalog.to_char(p_at AT TIME ZONE p_tz, 'YYYY-MM-DD HH24:MI') OPERATOR(pg_catalog.||) ' ' OPERATOR(pg_catalog.||) p_tz
$$;

-- Advisory lock key of one resource. Locks use the two-int4 key space with class
-- 1651470187 ('book' in ASCII), which never collides with the single-bigint keys the
-- CLI uses for its own locks; the second key is a hash of tenant and resource.
CREATE OR REPLACE FUNCTION booking._resource_lock_key(p_tenant_id uuid, p_resource_id uuid)
  RETURNS integer
  LANGUAGE plpgsql
  IMMUTABLE
  SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  RETURN pg_catalog.hashtext(p_tenant_id::text || '/' || p_resource_id::text);
END
$$;

-- Takes the transaction-scoped advisory locks of the given resources, in ascending key
-- order, so two transactions that need the same two resources never deadlock.
-- Lock protocol of the API (never a deadlock): a booking row lock (FOR UPDATE) may be
-- taken before these locks; while holding them, other rows are only locked with
-- SKIP LOCKED or newly inserted. plpgsql rather than SQL: this is on the hot path of
-- book(), and SQL functions that cannot be inlined are parsed again on every call.
CREATE OR REPLACE FUNCTION booking._lock_resources(p_tenant_id uuid, p_resource_ids uuid[])
  RETURNS void
  LANGUAGE plpgsql
  VOLATILE
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_key integer;
BEGIN
  IF pg_catalog.cardinality(p_resource_ids) = 1 THEN
    PERFORM pg_catalog.pg_advisory_xact_lock(1651470187, booking._resource_lock_key(p_tenant_id, p_resource_ids[1]));
    RETURN;
  END IF;
  FOR v_key IN
    SELECT DISTINCT booking._resource_lock_key(p_tenant_id, r)
      FROM pg_catalog.unnest(p_resource_ids) AS r
     ORDER BY 1
  LOOP
    PERFORM pg_catalog.pg_advisory_xact_lock(1651470187, v_key);
  END LOOP;
END
$$;

-- Appends one row to ops.audit_log: ids and action names only, never PII. plpgsql
-- (not SQL) so its INSERT plan is cached for the session.
CREATE OR REPLACE FUNCTION ops.write_audit(p_tenant_id uuid, p_action text, p_entity text,
                                           p_entity_id uuid, p_details jsonb DEFAULT '{}')
  RETURNS void
  LANGUAGE plpgsql
  VOLATILE
  SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  INSERT INTO ops.audit_log (tenant_id, action, entity, entity_id, actor, details)
  VALUES (p_tenant_id, p_action, p_entity, p_entity_id, session_user::text,
          coalesce(p_details, '{}'::jsonb));
END
$$;

-- BK002 for a customer id that is unknown in the tenant or anonymised (book() raises it
-- from two places: the unlocked read, and the key-share locked one that decides).
CREATE OR REPLACE FUNCTION booking._raise_unknown_customer(p_customer_id uuid)
  RETURNS void
  LANGUAGE plpgsql
  STABLE
  SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  RAISE EXCEPTION 'unknown or anonymised customer %', p_customer_id
    USING ERRCODE = 'BK002', HINT = 'create the customer in booking.customers first';
END
$$;
