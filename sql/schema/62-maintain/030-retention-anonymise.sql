-- The per-tenant half of the `retention` task of `bookingdb maintain` (GDPR), owned by
-- the owner (it owns every domain table, so a pii column on any of them can be
-- cleared) and bound to one tenant: SECURITY DEFINER as the NOBYPASSRLS owner under
-- FORCE RLS, called by ops.maintain_retention_batch() (62-maintain/031, owned by
-- bookingdb_ops) after it has set app.tenant_id. Only the tenant list needs ops.

-- booking._retention_pii_plan(): how to clear every column tagged 'pii'
-- (col_description, the tag sql/verify/pii-columns-tagged.sql enforces) of the booking
-- tables, found from the catalog on each call, so a pii column added by a later
-- migration is cleared without a change here. One row per table: the SET list (NULL,
-- or 'anonymised' for a NOT NULL text column), the predicate "a pii column still
-- holds something" (rows already clear are not rewritten), and how the table reaches
-- a customer, through its (tenant_id, x) foreign keys:
--   self      booking.customers itself (id)
--   direct    a foreign key (tenant_id, col) -> booking.customers (e.g. erasure_requests)
--   via       a foreign key (tenant_id, col) -> a table with a direct one (e.g. a pii
--             column on payments, through bookings)
--   NULL      none: the caller raises, as it does for `unsupported` (NOT NULL columns
--             that are not text), rather than leave personal data behind.
-- One query, read from pg_description by the tag (not one lookup per column).
CREATE OR REPLACE FUNCTION booking._retention_pii_plan()
  RETURNS TABLE(rel regclass, link text, col name, via regclass, via_col name,
                set_list text, differs text, unsupported text)
  LANGUAGE sql
  STABLE
  SET search_path = pg_catalog, pg_temp
AS $$
  WITH pii AS (
    SELECT a.attrelid AS rel, a.attname, a.attnum,
           CASE WHEN a.attnotnull THEN '''anonymised''' ELSE 'NULL' END AS value,
           a.attnotnull AND a.atttypid NOT IN ('text'::regtype, 'varchar'::regtype) AS unsupported
      FROM pg_catalog.pg_description d
      JOIN pg_catalog.pg_class c ON c.oid = d.objoid
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum = d.objsubid
     WHERE d.classoid = 'pg_catalog.pg_class'::regclass AND d.objsubid > 0 AND d.description = 'pii'
       AND n.nspname = 'booking' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
       AND NOT a.attisdropped AND a.attgenerated = ''
  ), tables AS (
    SELECT p.rel,
           pg_catalog.string_agg(pg_catalog.format('%I = %s', p.attname, p.value), ', ' ORDER BY p.attnum) AS set_list,
           pg_catalog.string_agg(pg_catalog.format('t.%I IS DISTINCT FROM %s', p.attname, p.value), ' OR ' ORDER BY p.attnum) AS differs,
           pg_catalog.string_agg(p.attname::text, ', ' ORDER BY p.attnum) FILTER (WHERE p.unsupported) AS unsupported
      FROM pii p GROUP BY p.rel
  ), fks AS (
    -- (tenant_id, col) -> ref (tenant_id, id)
    SELECT k.conrelid AS rel, a.attname AS col, k.confrelid AS ref
      FROM pg_catalog.pg_constraint k
      JOIN pg_catalog.pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = ANY (k.conkey) AND a.attname <> 'tenant_id'
      JOIN pg_catalog.pg_attribute fa ON fa.attrelid = k.confrelid
                                     AND fa.attnum = k.confkey[pg_catalog.array_position(k.conkey, a.attnum)]
     WHERE k.contype = 'f' AND pg_catalog.cardinality(k.conkey) = 2 AND fa.attname = 'id'
  )
  SELECT t.rel::regclass,
         CASE WHEN t.rel = 'booking.customers'::regclass THEN 'self'
              WHEN d.col IS NOT NULL THEN 'direct' WHEN v.col IS NOT NULL THEN 'via' END,
         CASE WHEN t.rel = 'booking.customers'::regclass THEN 'id'::name ELSE COALESCE(d.col, v.col) END,
         CASE WHEN t.rel <> 'booking.customers'::regclass AND d.col IS NULL THEN v.ref::regclass END,
         CASE WHEN t.rel <> 'booking.customers'::regclass AND d.col IS NULL THEN v.via_col END,
         t.set_list, t.differs, t.unsupported
    FROM tables t
    LEFT JOIN LATERAL (SELECT f.col FROM fks f
                        WHERE f.rel = t.rel AND f.ref = 'booking.customers'::regclass
                        ORDER BY f.col LIMIT 1) d ON true
    LEFT JOIN LATERAL (SELECT f.col, f.ref, g.col AS via_col FROM fks f
                         JOIN fks g ON g.rel = f.ref AND g.ref = 'booking.customers'::regclass
                        WHERE f.rel = t.rel ORDER BY f.col LIMIT 1) v ON true
   ORDER BY t.rel::regclass::text
$$;

-- booking._retention_anonymise(p_tenant_id, p_ids): anonymises the customers p_ids of
-- the transaction's tenant: every pii column of the plan above overwritten (on the
-- customer row and on every row tied to it: its bookings' cancel_reason, its erasure
-- requests' note, ...), anonymized_at set on those not yet anonymised, and their
-- pending erasure requests completed (done, processed_at). Booking facts (times,
-- prices, statuses) are not touched. Rows already clear are not rewritten. Returns
-- the customers newly anonymised, the erasure requests completed, and the rows
-- rewritten on other tables. The caller holds the customer rows (FOR UPDATE).
CREATE OR REPLACE FUNCTION booking._retention_anonymise(p_tenant_id uuid, p_ids uuid[])
  RETURNS TABLE(customers integer, erasures integer, rows_cleared integer)
  LANGUAGE plpgsql
  VOLATILE
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  p record;
  v_n integer;
  v_self boolean := false;
BEGIN
  customers := 0; erasures := 0; rows_cleared := 0;
  IF p_ids IS NULL OR pg_catalog.cardinality(p_ids) = 0 THEN
    RETURN NEXT;
    RETURN;
  END IF;
  FOR p IN SELECT * FROM booking._retention_pii_plan() LOOP
    IF p.unsupported IS NOT NULL THEN
      RAISE EXCEPTION 'cannot anonymise %.{%}: a NOT NULL pii column must be text', p.rel, p.unsupported
        USING HINT = 'make the column nullable (retention sets it to NULL) or text';
    ELSIF p.link IS NULL THEN
      RAISE EXCEPTION 'cannot anonymise %: it has pii columns but no foreign key leads to booking.customers', p.rel
        USING HINT = 'add a foreign key (tenant_id, customer_id) or remove the pii tag';
    ELSIF p.link = 'self' THEN
      v_self := true;
      -- newly anonymised: anonymized_at is this transaction's now() afterwards
      EXECUTE pg_catalog.format(
        'WITH u AS (UPDATE %s t SET %s, anonymized_at = COALESCE(t.anonymized_at, pg_catalog.now())
                     WHERE t.tenant_id = $1 AND t.id = ANY ($2) AND (t.anonymized_at IS NULL OR %s)
                    RETURNING t.anonymized_at = pg_catalog.now() AS fresh)
         SELECT pg_catalog.count(*) FILTER (WHERE fresh)::integer FROM u',
        p.rel, p.set_list, p.differs) INTO customers USING p_tenant_id, p_ids;
    ELSIF p.link = 'direct' THEN
      EXECUTE pg_catalog.format(
        'UPDATE %s t SET %s WHERE t.tenant_id = $1 AND t.%I = ANY ($2) AND (%s)',
        p.rel, p.set_list, p.col, p.differs) USING p_tenant_id, p_ids;
      GET DIAGNOSTICS v_n = ROW_COUNT;
      rows_cleared := rows_cleared + v_n;
    ELSE
      EXECUTE pg_catalog.format(
        'UPDATE %s t SET %s FROM %s v
          WHERE v.tenant_id = $1 AND v.%I = ANY ($2) AND t.tenant_id = $1 AND t.%I = v.id AND (%s)',
        p.rel, p.set_list, p.via, p.via_col, p.col, p.differs) USING p_tenant_id, p_ids;
      GET DIAGNOSTICS v_n = ROW_COUNT;
      rows_cleared := rows_cleared + v_n;
    END IF;
  END LOOP;
  IF NOT v_self THEN
    -- no customers column is tagged pii: anonymized_at must be set all the same
    UPDATE booking.customers c SET anonymized_at = pg_catalog.now()
     WHERE c.tenant_id = p_tenant_id AND c.id = ANY (p_ids) AND c.anonymized_at IS NULL;
    GET DIAGNOSTICS customers = ROW_COUNT;
  END IF;
  UPDATE booking.erasure_requests e SET status = 'done', processed_at = pg_catalog.now()
   WHERE e.tenant_id = p_tenant_id AND e.customer_id = ANY (p_ids) AND e.status = 'pending';
  GET DIAGNOSTICS erasures = ROW_COUNT;
  RETURN NEXT;
END
$$;

-- booking._retention_batch(p_tenant_id, p_kind, p_cutoff, p_after_at, p_after_id, p_limit):
-- one batch of the retention task in the transaction's tenant, run by the caller as
-- one short transaction under lock_timeout. Picks up to p_limit customers, locking
-- them FOR UPDATE SKIP LOCKED (a customer a booking holds right now is passed over,
-- never waited on; the next run gets it), keyset-paged after (p_after_at, p_after_id):
--   retention  not anonymised, last activity (GREATEST(created_at, last_booking_at))
--              before p_cutoff, and no booking starting at or after p_cutoff (index
--              customers_retention_idx; bookings_customer_idx for the booking check)
--   erasure    with a pending erasure request made by now, oldest request first
--              (erasure_requests_pending_idx); the cursor is the request's
--              (requested_at, id)
-- anonymises them (booking._retention_anonymise) and writes one audit row with counts
-- only (action retention.anonymise or retention.erasure). selected < p_limit means
-- the tenant has nothing more of this kind; last_at/last_id are the next cursor;
-- xact_ms is the transaction's age at the end of the batch (the longest lock it held).
CREATE OR REPLACE FUNCTION booking._retention_batch(p_tenant_id uuid, p_kind text, p_cutoff timestamptz,
                                                    p_after_at timestamptz, p_after_id uuid, p_limit integer)
  RETURNS TABLE(selected integer, customers integer, erasures integer, rows_cleared integer,
                last_at timestamptz, last_id uuid, xact_ms double precision)
  LANGUAGE plpgsql
  VOLATILE
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  -- the selection must walk customers_retention_idx in order and stop after p_limit
  -- rows; a bitmap scan and a sort of every due customer of the tenant (what the
  -- planner picks when its estimate is low, e.g. on a generic plan) would make each
  -- batch read all that is left, and the whole run quadratic
  SET enable_bitmapscan = off
  SET enable_sort = off
AS $$
DECLARE
  r record;
  v_ids uuid[] := '{}';
  v_done record;
BEGIN
  PERFORM booking._assert_tenant(p_tenant_id);
  IF p_limit IS NULL OR p_limit < 1 OR p_limit > 100000 OR p_kind NOT IN ('retention', 'erasure')
     OR (p_kind = 'retention' AND p_cutoff IS NULL) THEN
    RAISE EXCEPTION 'invalid argument: kind retention (with a cutoff) or erasure, batch of 1 to 100000'
      USING ERRCODE = 'BK003', HINT = 'pass e.g. ''retention'', now() - interval ''24 months'', NULL, NULL, 1000';
  END IF;
  selected := 0; last_at := p_after_at; last_id := p_after_id;
  IF p_kind = 'retention' THEN
    FOR r IN
      SELECT c.id, GREATEST(c.created_at, c.last_booking_at) AS at
        FROM booking.customers c
       WHERE c.tenant_id = p_tenant_id AND c.anonymized_at IS NULL
         AND GREATEST(c.created_at, c.last_booking_at) < p_cutoff
         AND (GREATEST(c.created_at, c.last_booking_at), c.id)
             > (COALESCE(p_after_at, '-infinity'::timestamptz), COALESCE(p_after_id, '00000000-0000-0000-0000-000000000000'::uuid))
         AND NOT EXISTS (SELECT 1 FROM booking.bookings b
                          WHERE b.tenant_id = p_tenant_id AND b.customer_id = c.id AND b.starts >= p_cutoff)
       ORDER BY GREATEST(c.created_at, c.last_booking_at), c.id
       LIMIT p_limit
         FOR UPDATE OF c SKIP LOCKED
    LOOP
      selected := selected + 1; v_ids := v_ids || r.id; last_at := r.at; last_id := r.id;
    END LOOP;
  ELSE
    FOR r IN
      SELECT e.id, e.customer_id, e.requested_at AS at
        FROM booking.erasure_requests e
        JOIN booking.customers c ON c.tenant_id = e.tenant_id AND c.id = e.customer_id
       WHERE e.tenant_id = p_tenant_id AND e.status = 'pending' AND e.requested_at <= pg_catalog.now()
         AND (e.requested_at, e.id)
             > (COALESCE(p_after_at, '-infinity'::timestamptz), COALESCE(p_after_id, '00000000-0000-0000-0000-000000000000'::uuid))
       ORDER BY e.requested_at, e.id
       LIMIT p_limit
         FOR UPDATE OF c SKIP LOCKED
    LOOP
      selected := selected + 1; last_at := r.at; last_id := r.id;
      IF NOT r.customer_id = ANY (v_ids) THEN v_ids := v_ids || r.customer_id; END IF;
    END LOOP;
  END IF;
  SELECT * INTO v_done FROM booking._retention_anonymise(p_tenant_id, v_ids);
  customers := v_done.customers; erasures := v_done.erasures; rows_cleared := v_done.rows_cleared;
  IF selected > 0 THEN
    PERFORM ops.write_audit(p_tenant_id, 'retention.' || CASE p_kind WHEN 'retention' THEN 'anonymise' ELSE 'erasure' END,
                            'customer', NULL,
                            pg_catalog.jsonb_build_object('customers', customers, 'erasure_requests', erasures,
                                                          'rows_cleared', rows_cleared, 'selected', selected));
  END IF;
  -- how long this transaction has held its locks so far (the commit follows at once)
  xact_ms := pg_catalog.date_part('epoch', pg_catalog.clock_timestamp() - pg_catalog.now()) * 1000;
  RETURN NEXT;
END
$$;

COMMENT ON FUNCTION booking._retention_batch(uuid, text, timestamptz, timestamptz, uuid, integer) IS
  'maintain retention: one batch (retention or erasure) of the transaction''s tenant; counts only';

REVOKE ALL ON FUNCTION booking._retention_pii_plan(), booking._retention_anonymise(uuid, uuid[]),
  booking._retention_batch(uuid, text, timestamptz, timestamptz, uuid, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION booking._retention_batch(uuid, text, timestamptz, timestamptz, uuid, integer) TO bookingdb_ops;
