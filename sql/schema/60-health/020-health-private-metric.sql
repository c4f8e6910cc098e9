-- bookingdb: run as ops
-- ops.health_private_metric(check): the measurements of ops.health_metric() that need
-- bookingdb_ops's rights: counts across every tenant (RLS would show the monitor
-- nothing), sequence values, planner statistics of the booking tables (pg_stats shows
-- only columns the caller may SELECT) and the stored counters of the previous run.
-- SECURITY DEFINER, owned by bookingdb_ops (BYPASSRLS); returns one number and a
-- detail made of counts, relation names, ids and timestamps, never PII. EXECUTE to
-- bookingdb_monitor only. Every query is bounded: catalogue rows, a partial index, or
-- an index range per resource; no big table is read in full.
--
-- overlapping-allocations: the exclusion constraint guarantees no overlap for every row
-- while it is present and valid (the exclusion-constraint check watches that); this
-- scan proves it for the rows that matter now, even if the constraint was dropped:
-- per resource (booking.resources is small), the active allocations starting from
-- 1 day ago to 14 days ahead are read in start order by an index range scan of
-- booking_allocations_resource_starts_idx (tenant_id, resource_id, starts) WHERE active,
-- and lag(ends) OVER (ORDER BY starts) compares each with the one before it (no sort:
-- the index gives the order). Comparing neighbours is enough to find any overlap: if
-- row j overlaps an earlier row i, row i+1 starts between them and overlaps row i
-- too; the value counts the rows that overlap their predecessor (at least 1 when any
-- overlap exists). No self-join: one pass over ~15 days of allocations.
--
-- expired-holds: a pending booking keeps its allocation active until book() (lazily) or
-- booking.expire_holds() cancels both; so the pending bookings more than 15 minutes past
-- hold_expires_at, read through the partial index bookings_pending_holds_idx, are the
-- slots still held by holds that lapsed.
--
-- table-bloat / index-bloat: estimated from pg_class.relpages and reltuples and
-- pg_stats.avg_width (cheap, as fresh as the last ANALYZE), only for relations of at
-- least 128 pages (1 MiB) whose every column has statistics:
--   table:  expected pages = reltuples * (MAXALIGN(23 + null bitmap) + MAXALIGN(width) + 4)
--                            / ((block_size - 24) * fillfactor)
--   btree:  expected pages = reltuples * (MAXALIGN(8 + key width) + 4)
--                            / ((block_size - 40) * fillfactor (default 90)) + 1 meta page
--   value = the largest relpages / expected pages.
-- Only btree indexes are estimated. The statistical estimate (check_postgres's bloat
-- action, the ioguix queries) models every index as a btree; a GiST index has no
-- order and no fill factor of that kind (splits leave pages about half full, range keys
-- are wider than their column statistics suggest), so a freshly built exclusion index
-- reads as ~1.8x "bloated". GiST, GIN, BRIN and hash indexes are counted as skipped in
-- the detail; their dead entries show in the table's dead-tuples check.
CREATE OR REPLACE FUNCTION ops.health_private_metric(p_check text, OUT value numeric, OUT detail text)
  LANGUAGE plpgsql
  VOLATILE
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_count bigint;
  v_name text;
  v_cur numeric;
  v_reset timestamptz;
  v_prev record;
  v_note text := '';
  v_from timestamptz := pg_catalog.now() - interval '1 day';
  v_to timestamptz := pg_catalog.now() + interval '14 days';
  v_bs numeric := pg_catalog.current_setting('block_size')::numeric;
BEGIN
  IF p_check IN ('sequence-exhaustion', 'integer-key-exhaustion') THEN
    WITH s AS (
      SELECT s.seqrelid::regclass::text AS seq, s.seqmin::numeric AS lo, s.seqmax::numeric AS hi,
             s.seqincrement,
             CASE WHEN pg_catalog.has_sequence_privilege(s.seqrelid, 'SELECT')
                  THEN pg_catalog.pg_sequence_last_value(s.seqrelid)::numeric END AS last,
             col.attrelid::regclass::text || '.' || col.attname AS col,
             CASE col.atttypid WHEN 'int2'::regtype THEN 32767::numeric
                               WHEN 'int4'::regtype THEN 2147483647::numeric
                               WHEN 'int8'::regtype THEN 9223372036854775807::numeric END AS typmax
        FROM pg_catalog.pg_sequence s
        JOIN pg_catalog.pg_class c ON c.oid = s.seqrelid
        JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_catalog.pg_depend d
          ON d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = s.seqrelid
         AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjsubid > 0 AND d.deptype IN ('a', 'i')
        LEFT JOIN pg_catalog.pg_attribute col ON col.attrelid = d.refobjid AND col.attnum = d.refobjsubid
       WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
    ), pct AS (
      SELECT seq, col,
             CASE WHEN last IS NULL THEN 0
                  WHEN seqincrement > 0 THEN 100 * (last - lo) / greatest(hi - lo, 1)
                  ELSE 100 * (hi - last) / greatest(hi - lo, 1) END AS own,
             CASE WHEN last IS NULL OR typmax IS NULL THEN NULL
                  ELSE 100 * pg_catalog.abs(last) / typmax END AS key
        FROM s
    )
    SELECT CASE WHEN p_check = 'sequence-exhaustion' THEN pg_catalog.round(x.own, 2) ELSE pg_catalog.round(x.key, 2) END,
           CASE WHEN x.seq IS NULL THEN 'no sequences'
                WHEN p_check = 'sequence-exhaustion' THEN pg_catalog.format('%s is %s%% of its range (%s sequences)', x.seq, pg_catalog.round(x.own, 2), x.n)
                ELSE pg_catalog.format('%s (fed by %s) is at %s%% of its type''s maximum', x.col, x.seq, pg_catalog.round(x.key, 2)) END
      INTO value, detail
      FROM (SELECT pct.*, pg_catalog.count(*) OVER () AS n FROM pct
             WHERE p_check = 'sequence-exhaustion' OR pct.key IS NOT NULL
             ORDER BY CASE WHEN p_check = 'sequence-exhaustion' THEN pct.own ELSE pct.key END DESC NULLS LAST
             LIMIT 1) x;
    IF NOT FOUND THEN value := 0; detail := 'no sequences feeding integer columns'; END IF;

  ELSIF p_check = 'table-bloat' THEN
    WITH t AS (
      SELECT c.oid::regclass::text AS rel, c.relpages::numeric AS pages, c.reltuples::numeric AS tuples,
             coalesce((SELECT (pg_catalog.regexp_match(o, '^fillfactor=(\d+)$'))[1]::numeric
                         FROM pg_catalog.unnest(c.reloptions) o WHERE o LIKE 'fillfactor=%'), 100) AS ff,
             (SELECT pg_catalog.count(*) FROM pg_catalog.pg_attribute a
               WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS natts,
             st.nstats, st.width::numeric AS width
        FROM pg_catalog.pg_class c
        JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        CROSS JOIN LATERAL (
          SELECT pg_catalog.count(*) AS nstats, pg_catalog.sum((1 - s.null_frac) * s.avg_width) AS width
            FROM pg_catalog.pg_stats s
           WHERE s.schemaname = n.nspname AND s.tablename = c.relname AND NOT s.inherited) st
       WHERE c.relkind IN ('r', 'm') AND c.relpages >= 128 AND c.reltuples >= 0
         AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
    ), e AS (
      SELECT rel, pages,
             greatest(pg_catalog.ceil(tuples
               * (8 * pg_catalog.ceil((23 + pg_catalog.ceil(natts / 8.0)) / 8) + 8 * pg_catalog.ceil(width / 8) + 4)
               / ((v_bs - 24) * ff / 100)), 1) AS expected
        FROM t WHERE nstats = natts
    )
    SELECT pg_catalog.round((pages / expected)::numeric, 2),
           pg_catalog.format('%s: %s pages, about %s expected (%s tables of 1 MiB or more estimated)',
                             rel, pages, expected, pg_catalog.count(*) OVER ())
      INTO value, detail
      FROM e ORDER BY pages / expected DESC LIMIT 1;
    IF NOT FOUND THEN value := NULL; detail := 'no analysed table of 1 MiB or more'; END IF;

  ELSIF p_check = 'index-bloat' THEN
    SELECT pg_catalog.count(*) INTO v_count
      FROM pg_catalog.pg_index i
      JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
      JOIN pg_catalog.pg_am am ON am.oid = ic.relam
      JOIN pg_catalog.pg_namespace n ON n.oid = ic.relnamespace
     WHERE am.amname <> 'btree' AND ic.relpages >= 128
       AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast';
    WITH x AS (
      SELECT ic.oid::regclass::text AS rel, ic.relpages::numeric AS pages, ic.reltuples::numeric AS tuples,
             coalesce((SELECT (pg_catalog.regexp_match(o, '^fillfactor=(\d+)$'))[1]::numeric
                         FROM pg_catalog.unnest(ic.reloptions) o WHERE o LIKE 'fillfactor=%'), 90) AS ff,
             i.indnatts, k.nstats, k.width::numeric AS width
        FROM pg_catalog.pg_index i
        JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
        JOIN pg_catalog.pg_class tc ON tc.oid = i.indrelid
        JOIN pg_catalog.pg_am am ON am.oid = ic.relam
        JOIN pg_catalog.pg_namespace n ON n.oid = tc.relnamespace
        CROSS JOIN LATERAL (
          SELECT pg_catalog.count(s.avg_width) AS nstats, pg_catalog.sum(s.avg_width) AS width
            FROM pg_catalog.unnest(i.indkey::int2[]) AS key(attnum)
            JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = key.attnum
            LEFT JOIN pg_catalog.pg_stats s
              ON s.schemaname = n.nspname AND s.tablename = tc.relname AND s.attname = a.attname AND NOT s.inherited) k
       WHERE am.amname = 'btree' AND i.indexprs IS NULL AND ic.relpages >= 128 AND i.indisvalid
         AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
    ), e AS (
      SELECT rel, pages,
             pg_catalog.ceil(tuples * (8 * pg_catalog.ceil((8 + width) / 8) + 4) / ((v_bs - 40) * ff / 100)) + 1 AS expected
        FROM x WHERE nstats = indnatts
    )
    SELECT pg_catalog.round((pages / expected)::numeric, 2),
           pg_catalog.format('%s: %s pages, about %s expected (%s btree indexes of 1 MiB or more estimated; %s GiST/GIN/other skipped)',
                             rel, pages, expected, pg_catalog.count(*) OVER (), v_count)
      INTO value, detail
      FROM e ORDER BY pages / expected DESC LIMIT 1;
    IF NOT FOUND THEN
      value := NULL;
      detail := pg_catalog.format('no analysed btree index of 1 MiB or more (%s GiST/GIN/other skipped)', v_count);
    END IF;

  ELSIF p_check IN ('deadlocks', 'temp-bytes') THEN
    SELECT CASE WHEN p_check = 'deadlocks' THEN d.deadlocks::numeric ELSE d.temp_bytes::numeric END, d.stats_reset
      INTO v_cur, v_reset
      FROM pg_catalog.pg_stat_database d WHERE d.datname = pg_catalog.current_database();
    SELECT h.value, h.stats_reset, h.recorded_at INTO v_prev FROM ops.health_counters h WHERE h.name = p_check;
    BEGIN
      INSERT INTO ops.health_counters (name, value, stats_reset, recorded_at)
      VALUES (p_check, v_cur, v_reset, pg_catalog.clock_timestamp())
      ON CONFLICT (name) DO UPDATE
        SET value = EXCLUDED.value, stats_reset = EXCLUDED.stats_reset, recorded_at = EXCLUDED.recorded_at;
    EXCEPTION WHEN read_only_sql_transaction THEN
      v_note := ' (read-only server: baseline not stored)';
    END;
    IF v_prev IS NULL THEN
      value := NULL;
      detail := pg_catalog.format('first run: baseline %s stored%s', v_cur, v_note);
    ELSIF v_prev.stats_reset IS DISTINCT FROM v_reset OR v_cur < v_prev.value THEN
      value := v_cur;
      detail := pg_catalog.format('%s since the statistics reset at %s%s', v_cur, coalesce(v_reset::text, 'server start'), v_note);
    ELSE
      value := v_cur - v_prev.value;
      detail := pg_catalog.format('%s since the previous run at %s (%s since statistics reset)%s',
                                  v_cur - v_prev.value, v_prev.recorded_at, v_cur, v_note);
    END IF;

  ELSIF p_check = 'overlapping-allocations' THEN
    SELECT coalesce(pg_catalog.sum(x.n), 0), coalesce(pg_catalog.sum(x.total), 0),
           pg_catalog.string_agg(x.ids, ', ')
      INTO v_count, v_cur, v_name
      FROM booking.resources r
     CROSS JOIN LATERAL (
       SELECT pg_catalog.count(*) FILTER (WHERE o.prev_end > o.starts) AS n, pg_catalog.count(*) AS total,
              pg_catalog.string_agg(o.id::text, ', ') FILTER (WHERE o.prev_end > o.starts) AS ids
         FROM (SELECT a.id, a.starts, pg_catalog.lag(a.ends) OVER (ORDER BY a.starts) AS prev_end
                 FROM booking.booking_allocations a
                WHERE a.tenant_id = r.tenant_id AND a.resource_id = r.id AND a.active
                  AND a.starts >= v_from AND a.starts < v_to) o) x;
    value := v_count;
    detail := CASE WHEN v_count = 0
      THEN pg_catalog.format('no overlap among %s active allocations starting %s .. %s', v_cur, v_from::date, v_to::date)
      ELSE pg_catalog.format('%s active allocations overlap an earlier one on the same resource: %s',
                             v_count, pg_catalog.left(v_name, 400)) END;

  ELSIF p_check = 'expired-holds' THEN
    SELECT pg_catalog.count(*), pg_catalog.min(b.hold_expires_at)
      INTO v_count, v_reset
      FROM booking.bookings b
     WHERE b.status = 'pending' AND b.hold_expires_at < pg_catalog.now() - interval '15 minutes';
    value := v_count;
    detail := CASE WHEN v_count = 0 THEN 'no pending hold more than 15 minutes past its expiry'
      ELSE pg_catalog.format('%s pending holds expired more than 15 minutes ago still hold their slot (oldest expired %s)', v_count, v_reset) END;

  ELSIF p_check = 'audit-default-rows' THEN
    SELECT pg_catalog.count(*) INTO v_count FROM (SELECT 1 FROM ops.audit_log_default LIMIT 100000) s;
    value := v_count;
    detail := pg_catalog.format('%s%s rows in ops.audit_log_default', v_count, CASE WHEN v_count >= 100000 THEN ' or more' ELSE '' END);

  ELSIF p_check = 'erasure-requests-overdue' THEN
    SELECT pg_catalog.count(*) FILTER (WHERE e.requested_at < pg_catalog.now() - interval '30 days'),
           pg_catalog.count(*), pg_catalog.min(e.requested_at)
      INTO v_count, v_cur, v_reset
      FROM booking.erasure_requests e WHERE e.status = 'pending';
    value := pg_catalog.round((EXTRACT(epoch FROM pg_catalog.now() - v_reset) / 86400)::numeric, 1);
    detail := CASE WHEN v_cur = 0 THEN 'no pending erasure request'
      ELSE pg_catalog.format('%s pending, %s older than 30 days, the oldest requested %s', v_cur, v_count, v_reset) END;

  ELSE
    RAISE EXCEPTION 'unknown private health check "%"', p_check USING ERRCODE = 'BK003';
  END IF;
END
$$;

REVOKE ALL ON FUNCTION ops.health_private_metric(text) FROM PUBLIC, bookingdb_owner;
GRANT EXECUTE ON FUNCTION ops.health_private_metric(text) TO bookingdb_monitor;
