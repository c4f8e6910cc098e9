-- bookingdb: run as ops
-- The cross-tenant half of the `retention` task of `bookingdb maintain` (GDPR): the
-- tenant list and the counts need ops's BYPASSRLS; the anonymising itself is the
-- owner's booking._retention_batch (62-maintain/030), bound to the one tenant set here.
-- Counts and ids only, never PII. EXECUTE to the owner only.

-- ops.maintain_retention_due(p_default): per tenant with work, its retention (its own
-- booking.tenants.customer_retention, else p_default), the cutoff (now() - retention),
-- the customers due (not anonymised, last activity before the cutoff, no booking from
-- the cutoff on: the same rule as the batches, read through the partial index
-- customers_retention_idx) and the pending erasure requests (erasure_requests_pending_idx).
-- The task's plan, its --dry-run, and its `remaining` when it stops at the deadline.
CREATE OR REPLACE FUNCTION ops.maintain_retention_due(p_default interval DEFAULT interval '24 months')
  RETURNS TABLE(tenant_id uuid, slug text, retention interval, cutoff timestamptz,
                customers_due bigint, erasures_due bigint)
  LANGUAGE plpgsql
  STABLE
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF p_default IS NULL OR p_default < interval '1 day' THEN
    RAISE EXCEPTION 'invalid argument: the default retention must be at least one day'
      USING ERRCODE = 'BK003', HINT = 'pass e.g. interval ''24 months''';
  END IF;
  RETURN QUERY
    SELECT t.id, t.slug, x.retention, x.cutoff, d.customers, e.requests
      FROM booking.tenants t
     CROSS JOIN LATERAL (SELECT COALESCE(t.customer_retention, p_default) AS retention,
                                pg_catalog.now() - COALESCE(t.customer_retention, p_default) AS cutoff) x
     CROSS JOIN LATERAL (
       SELECT pg_catalog.count(*) AS customers FROM booking.customers c
        WHERE c.tenant_id = t.id AND c.anonymized_at IS NULL
          AND GREATEST(c.created_at, c.last_booking_at) < x.cutoff
          AND NOT EXISTS (SELECT 1 FROM booking.bookings b
                           WHERE b.tenant_id = t.id AND b.customer_id = c.id AND b.starts >= x.cutoff)) d
     CROSS JOIN LATERAL (
       SELECT pg_catalog.count(*) AS requests FROM booking.erasure_requests r
        WHERE r.tenant_id = t.id AND r.status = 'pending' AND r.requested_at <= pg_catalog.now()) e
     WHERE d.customers > 0 OR e.requests > 0
     ORDER BY t.id;
END
$$;

COMMENT ON FUNCTION ops.maintain_retention_due(interval) IS
  'maintain retention: per tenant, customers due for anonymisation and pending erasure requests; counts only';

-- ops.maintain_retention_batch(...): one batch for one tenant (see booking._retention_batch
-- for the arguments and what it does), the transaction scoped to that tenant with
-- set_config('app.tenant_id', ..., true) and the setting cleared before returning.
CREATE OR REPLACE FUNCTION ops.maintain_retention_batch(p_tenant_id uuid, p_kind text, p_cutoff timestamptz,
                                                        p_after_at timestamptz, p_after_id uuid, p_limit integer)
  RETURNS TABLE(selected integer, customers integer, erasures integer, rows_cleared integer,
                last_at timestamptz, last_id uuid, xact_ms double precision)
  LANGUAGE plpgsql
  VOLATILE
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF p_tenant_id IS NULL THEN
    RAISE EXCEPTION 'invalid argument: a tenant id is required' USING ERRCODE = 'BK003';
  END IF;
  PERFORM pg_catalog.set_config('app.tenant_id', p_tenant_id::text, true);
  RETURN QUERY SELECT * FROM booking._retention_batch(p_tenant_id, p_kind, p_cutoff, p_after_at, p_after_id, p_limit);
  PERFORM pg_catalog.set_config('app.tenant_id', '', true);
END
$$;

COMMENT ON FUNCTION ops.maintain_retention_batch(uuid, text, timestamptz, timestamptz, uuid, integer) IS
  'maintain retention: one anonymisation batch of one tenant through booking._retention_batch; counts only';

REVOKE ALL ON FUNCTION ops.maintain_retention_due(interval),
  ops.maintain_retention_batch(uuid, text, timestamptz, timestamptz, uuid, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ops.maintain_retention_due(interval),
  ops.maintain_retention_batch(uuid, text, timestamptz, timestamptz, uuid, integer) TO bookingdb_owner;
