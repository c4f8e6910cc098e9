-- bookingdb: run as ops
-- ops.maintain_expire_holds(p_after, p_tenants): the `expire-holds` task of
-- `bookingdb maintain`. Walks up to p_tenants tenants in id order after p_after (NULL:
-- from the first), and for each that has a pending booking whose hold has lapsed
-- (partial index bookings_pending_holds_idx) scopes the transaction to it with
-- set_config('app.tenant_id', ..., true) and calls booking.expire_tenant_holds(), the
-- same per-tenant logic the app may call: lapsed holds cancelled, their allocations
-- freed, each freed future slot offered to the oldest matching waitlist entry.
-- That function runs as the owner, which is NOBYPASSRLS under FORCE RLS, so it sees
-- and changes only the tenant set here; only the tenant list needs ops's BYPASSRLS.
-- The batch ends after the first tenant whose holds it expired: expiring a hold offers
-- its slot to the waitlist under that resource's advisory lock, held to the end of the
-- transaction, so a transaction spanning every tenant's backlog (3,123 lapsed holds in 20
-- tenants at 1M bookings: 15 s under booking load) kept bookings on those resources
-- waiting for all of it; now one transaction holds at most one tenant's lapsed holds,
-- and tenants without any are walked p_tenants at a time.
-- Returns counts and the last tenant id visited (the caller's next p_after; NULL when
-- there were no more tenants), never PII. One call is one short transaction for the
-- caller, who runs it under lock_timeout; batches keep any one transaction short.
-- offered counts the waitlist entries offered in this transaction (updated_at is the
-- transaction's now()). The tenant setting is cleared before returning.
CREATE OR REPLACE FUNCTION ops.maintain_expire_holds(p_after uuid DEFAULT NULL, p_tenants integer DEFAULT 100)
  RETURNS TABLE(tenants integer, tenants_expired integer, expired integer, offered integer, last_tenant uuid)
  LANGUAGE plpgsql
  VOLATILE
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_tenant uuid;
  v_n integer;
BEGIN
  IF p_tenants IS NULL OR p_tenants < 1 OR p_tenants > 10000 THEN
    RAISE EXCEPTION 'invalid argument: tenants per batch must be between 1 and 10000'
      USING ERRCODE = 'BK003', HINT = 'pass e.g. 100';
  END IF;
  tenants := 0; tenants_expired := 0; expired := 0; offered := 0; last_tenant := NULL;
  FOR v_tenant IN
    SELECT t.id FROM booking.tenants t
     WHERE p_after IS NULL OR t.id > p_after
     ORDER BY t.id
     LIMIT p_tenants
  LOOP
    tenants := tenants + 1;
    last_tenant := v_tenant;
    CONTINUE WHEN NOT EXISTS (
      SELECT 1 FROM booking.bookings b
       WHERE b.tenant_id = v_tenant AND b.status = 'pending' AND b.hold_expires_at <= pg_catalog.now());
    PERFORM pg_catalog.set_config('app.tenant_id', v_tenant::text, true);
    v_n := booking.expire_tenant_holds(v_tenant);
    IF v_n > 0 THEN
      tenants_expired := tenants_expired + 1;
      expired := expired + v_n;
      offered := offered + (SELECT pg_catalog.count(*)::integer FROM booking.waitlist_entries e
                             WHERE e.tenant_id = v_tenant AND e.status = 'offered'
                               AND e.updated_at = pg_catalog.now());
      EXIT; -- one tenant's holds per transaction (see above)
    END IF;
  END LOOP;
  PERFORM pg_catalog.set_config('app.tenant_id', '', true);
  RETURN NEXT;
END
$$;

COMMENT ON FUNCTION ops.maintain_expire_holds(uuid, integer) IS
  'maintain expire-holds: expires lapsed holds of up to p_tenants tenants after p_after through booking.expire_tenant_holds; counts only';

-- ops.maintain_holds_due(): what `maintain --dry-run` reports for expire-holds: the
-- tenants with lapsed pending holds and how many (partial index bookings_pending_holds_idx).
CREATE OR REPLACE FUNCTION ops.maintain_holds_due()
  RETURNS TABLE(tenants bigint, holds bigint)
  LANGUAGE sql
  STABLE
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
  SELECT pg_catalog.count(DISTINCT b.tenant_id), pg_catalog.count(*)
    FROM booking.bookings b
   WHERE b.status = 'pending' AND b.hold_expires_at <= pg_catalog.now()
$$;

COMMENT ON FUNCTION ops.maintain_holds_due() IS
  'maintain --dry-run expire-holds: tenants with lapsed pending holds and how many; counts only';

REVOKE ALL ON FUNCTION ops.maintain_expire_holds(uuid, integer), ops.maintain_holds_due() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ops.maintain_expire_holds(uuid, integer), ops.maintain_holds_due() TO bookingdb_owner;
