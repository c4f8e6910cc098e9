-- bookingdb: run as ops
-- ops.health_metric(check): measures one check of ops.health_checks() and returns its
-- raw number (NULL: nothing to judge), its unit and a one-line detail. It is what both
-- ops.health_check() (psql, the monitor login) and `bookingdb health-check` run, one
-- check per call, so the CLI can give each its own statement_timeout and report a
-- check that fails or times out as UNKNOWN while the others go on.
--
-- SECURITY INVOKER on purpose: pg_stat_activity, pg_locks, pg_stat_replication,
-- pg_replication_slots and shared_preload_libraries show their detail only to
-- pg_monitor members (bookingdb_monitor, superusers), which bookingdb_ops is not. What
-- needs ops's rights (cross-tenant counts, sequences, pg_stats, the stored counters)
-- goes through ops.health_private_metric(). Session checks (transactions, idle in
-- transaction, lock waits) look at the sessions of this database; connections,
-- wraparound of every database, replication, archiver and checkpoints are server-wide.
-- Everything reads catalogues and statistics views only.
CREATE OR REPLACE FUNCTION ops.health_metric(p_check text, OUT value numeric, OUT unit text, OUT detail text)
  LANGUAGE plpgsql
  VOLATILE
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_a numeric;
  v_b numeric;
  v_c numeric;
  v_name text;
  v_ts timestamptz;
  v_text text;
BEGIN
  SELECT c.unit INTO unit FROM ops.health_checks() c WHERE c.check_name = p_check;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown health check "%"', p_check USING ERRCODE = 'BK003',
      HINT = 'SELECT check_name FROM ops.health_checks() lists them';
  END IF;

  IF p_check = 'connections' THEN
    SELECT pg_catalog.count(*) FILTER (WHERE a.backend_type = 'client backend') INTO v_a FROM pg_catalog.pg_stat_activity a;
    v_c := pg_catalog.current_setting('superuser_reserved_connections')::numeric
           + coalesce(pg_catalog.current_setting('reserved_connections', true)::numeric, 0);
    v_b := pg_catalog.current_setting('max_connections')::numeric - v_c;
    value := pg_catalog.round(100 * v_a / greatest(v_b, 1), 1);
    detail := pg_catalog.format('%s client connections of %s (max_connections minus %s reserved)', v_a, v_b, v_c);

  ELSIF p_check IN ('longest-transaction', 'idle-in-transaction') THEN
    SELECT EXTRACT(epoch FROM pg_catalog.clock_timestamp() - CASE WHEN p_check = 'longest-transaction' THEN a.xact_start ELSE a.state_change END),
           pg_catalog.format('pid %s (%s, application %s, %s)', a.pid, a.usename, coalesce(nullif(a.application_name, ''), '-'), a.state)
      INTO v_a, v_name
      FROM pg_catalog.pg_stat_activity a
     WHERE a.datname = pg_catalog.current_database() AND a.backend_type = 'client backend'
       AND a.pid <> pg_catalog.pg_backend_pid() AND a.xact_start IS NOT NULL
       AND (p_check = 'longest-transaction' OR a.state IN ('idle in transaction', 'idle in transaction (aborted)'))
     ORDER BY 1 DESC NULLS LAST LIMIT 1;
    value := coalesce(pg_catalog.round(v_a, 1), 0);
    detail := CASE WHEN v_name IS NULL
      THEN CASE WHEN p_check = 'longest-transaction' THEN 'no open transaction' ELSE 'no session idle in transaction' END
      ELSE pg_catalog.format('%s s: %s', pg_catalog.round(v_a, 1), v_name) END;

  ELSIF p_check IN ('lock-waits', 'longest-lock-wait') THEN
    SELECT pg_catalog.count(DISTINCT l.pid),
           EXTRACT(epoch FROM pg_catalog.clock_timestamp() - pg_catalog.min(l.waitstart))
      INTO v_a, v_b
      FROM pg_catalog.pg_locks l
      JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
     WHERE NOT l.granted AND a.datname = pg_catalog.current_database();
    SELECT pg_catalog.format('pid %s waits on %s, blocked by %s', l.pid, l.locktype, pg_catalog.pg_blocking_pids(l.pid))
      INTO v_name
      FROM pg_catalog.pg_locks l JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
     WHERE NOT l.granted AND a.datname = pg_catalog.current_database()
     ORDER BY l.waitstart NULLS LAST LIMIT 1;
    value := CASE WHEN p_check = 'lock-waits' THEN v_a ELSE coalesce(pg_catalog.round(v_b, 1), 0) END;
    detail := CASE WHEN v_a = 0 THEN 'no session waits on a lock'
      ELSE pg_catalog.format('%s sessions wait on locks, the longest %s s: %s', v_a, coalesce(pg_catalog.round(v_b, 1), 0), v_name) END;

  ELSIF p_check = 'cache-hit-ratio' THEN
    SELECT d.blks_hit, d.blks_read INTO v_a, v_b FROM pg_catalog.pg_stat_database d WHERE d.datname = pg_catalog.current_database();
    value := CASE WHEN v_a + v_b >= 1000 THEN pg_catalog.round(100 * v_a / (v_a + v_b), 2) END;
    detail := CASE WHEN v_a + v_b >= 1000 THEN pg_catalog.format('%s blocks hit, %s read since statistics reset', v_a, v_b)
      ELSE pg_catalog.format('too few block reads to judge (%s)', v_a + v_b) END;

  ELSIF p_check IN ('xid-wraparound', 'multixact-wraparound') THEN
    SELECT CASE WHEN p_check = 'xid-wraparound' THEN pg_catalog.age(d.datfrozenxid) ELSE pg_catalog.mxid_age(d.datminmxid) END, d.datname
      INTO v_a, v_name
      FROM pg_catalog.pg_database d WHERE d.datallowconn ORDER BY 1 DESC LIMIT 1;
    value := v_a;
    detail := pg_catalog.format('oldest database: %s, %s %s old (wraparound at 2147483648)', v_name, v_a, unit);

  ELSIF p_check IN ('xid-wraparound-table', 'multixact-wraparound-table') THEN
    SELECT CASE WHEN p_check = 'xid-wraparound-table' THEN pg_catalog.age(c.relfrozenxid) ELSE pg_catalog.mxid_age(c.relminmxid) END,
           c.oid::regclass::text
      INTO v_a, v_name
      FROM pg_catalog.pg_class c WHERE c.relkind IN ('r', 'm', 't') AND c.relfrozenxid <> '0'::xid
     ORDER BY 1 DESC LIMIT 1;
    value := v_a;
    detail := pg_catalog.format('oldest table in this database: %s, %s %s old', v_name, v_a, unit);

  ELSIF p_check IN ('invalid-indexes', 'ccnew-indexes') THEN
    SELECT pg_catalog.count(*), pg_catalog.string_agg(c.oid::regclass::text, ', ' ORDER BY c.oid::regclass::text)
      INTO v_a, v_name
      FROM pg_catalog.pg_index i
      JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
       AND CASE WHEN p_check = 'invalid-indexes' THEN NOT i.indisvalid AND c.relname !~ '_cc(new|old)[0-9]*$'
                ELSE c.relname ~ '_cc(new|old)[0-9]*$' END
       -- not one being built right now (CREATE INDEX CONCURRENTLY in progress)
       AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_stat_progress_create_index p WHERE p.index_relid = c.oid);
    value := v_a;
    detail := CASE WHEN v_a = 0 THEN 'none' ELSE pg_catalog.left(v_name, 400) END;

  ELSIF p_check IN ('sequence-exhaustion', 'integer-key-exhaustion', 'table-bloat', 'index-bloat', 'deadlocks',
                    'temp-bytes', 'overlapping-allocations', 'expired-holds', 'audit-default-rows',
                    'erasure-requests-overdue') THEN
    SELECT m.value, m.detail INTO value, detail FROM ops.health_private_metric(p_check) m;

  ELSIF p_check IN ('dead-tuples', 'last-vacuum', 'last-analyze') THEN
    -- booking tables big enough to matter (1,000 tuples); never vacuumed or analysed
    -- counts from the statistics reset (or server start)
    SELECT v.val, v.rel INTO v_a, v_name FROM (
      SELECT CASE p_check
               WHEN 'dead-tuples' THEN 100 * s.n_dead_tup::numeric / greatest(s.n_live_tup + s.n_dead_tup, 1)
               WHEN 'last-vacuum' THEN EXTRACT(epoch FROM pg_catalog.now() - coalesce(greatest(s.last_vacuum, s.last_autovacuum), d.stats_reset, pg_catalog.pg_postmaster_start_time())) / 3600
               ELSE EXTRACT(epoch FROM pg_catalog.now() - coalesce(greatest(s.last_analyze, s.last_autoanalyze), d.stats_reset, pg_catalog.pg_postmaster_start_time())) / 3600
             END AS val,
             pg_catalog.format('%I.%I (%s live, %s dead tuples, %s changed since analyze)', s.schemaname, s.relname, s.n_live_tup, s.n_dead_tup, s.n_mod_since_analyze) AS rel
        FROM pg_catalog.pg_stat_user_tables s
        CROSS JOIN (SELECT sd.stats_reset FROM pg_catalog.pg_stat_database sd WHERE sd.datname = pg_catalog.current_database()) d
       WHERE s.schemaname = 'booking' AND s.n_live_tup + s.n_dead_tup >= 1000
         AND CASE p_check WHEN 'last-vacuum' THEN s.n_dead_tup > 0
                          WHEN 'last-analyze' THEN s.n_mod_since_analyze > 0 ELSE true END
    ) v ORDER BY v.val DESC LIMIT 1;
    -- hours to 6 places (3.6 ms): a table analysed a moment ago is not "0 hours" stale
    value := coalesce(pg_catalog.round(v_a, 6), 0);
    detail := CASE WHEN v_name IS NULL THEN 'no booking table of 1,000 tuples or more needs it'
      ELSE pg_catalog.format('%s: %s%s', v_name, pg_catalog.round(v_a, 2), unit) END;

  ELSIF p_check = 'replication-lag' THEN
    IF pg_catalog.pg_is_in_recovery() THEN
      -- Everything received is replayed: not behind, however long ago the last commit
      -- was (an idle primary sends nothing to replay). Otherwise: the age of the last
      -- replayed commit. A standby that receives nothing is wal-receiver's alarm.
      v_ts := pg_catalog.pg_last_xact_replay_timestamp();
      IF pg_catalog.pg_last_wal_receive_lsn() IS NOT NULL AND pg_catalog.pg_last_wal_receive_lsn() <= pg_catalog.pg_last_wal_replay_lsn() THEN
        value := 0;
        detail := pg_catalog.format('standby: caught up (all received WAL replayed); last replayed transaction committed at %s', coalesce(v_ts::text, '-'));
      ELSE
        value := pg_catalog.round(EXTRACT(epoch FROM pg_catalog.now() - v_ts), 1);
        detail := CASE WHEN v_ts IS NULL THEN 'standby: nothing replayed yet'
          ELSE pg_catalog.format('standby: replaying; last replayed transaction committed at %s', v_ts) END;
      END IF;
    ELSE
      SELECT EXTRACT(epoch FROM r.replay_lag), pg_catalog.format('%s (%s)', coalesce(nullif(r.application_name, ''), r.client_addr::text, 'local'), r.state),
             pg_catalog.count(*) OVER ()
        INTO v_a, v_name, v_b
        FROM pg_catalog.pg_stat_replication r ORDER BY r.replay_lag DESC NULLS LAST LIMIT 1;
      value := pg_catalog.round(v_a, 1);
      detail := CASE WHEN v_name IS NULL THEN 'no standby connected'
        ELSE pg_catalog.format('%s standbys, the furthest behind: %s, %s s', v_b, v_name, coalesce(pg_catalog.round(v_a, 1), 0)) END;
    END IF;

  ELSIF p_check = 'replication-lag-bytes' THEN
    IF pg_catalog.pg_is_in_recovery() THEN
      value := greatest(pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_last_wal_receive_lsn(), pg_catalog.pg_last_wal_replay_lsn()), 0);
      detail := CASE WHEN value IS NULL THEN 'standby: no WAL received by streaming (archive recovery only)'
        ELSE pg_catalog.format('standby: %s received and not yet replayed', pg_catalog.pg_size_pretty(value)) END;
    ELSE
      SELECT pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), r.replay_lsn),
             pg_catalog.format('%s (%s)', coalesce(nullif(r.application_name, ''), r.client_addr::text, 'local'), r.state),
             pg_catalog.count(*) OVER ()
        INTO v_a, v_name, v_b
        FROM pg_catalog.pg_stat_replication r
       ORDER BY pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), r.replay_lsn) DESC NULLS LAST LIMIT 1;
      value := v_a;
      detail := CASE WHEN v_name IS NULL THEN 'no standby connected'
        WHEN v_a IS NULL THEN pg_catalog.format('%s standbys; their positions need pg_monitor', v_b)
        ELSE pg_catalog.format('%s standbys, the furthest behind: %s, %s not yet replayed', v_b, v_name, pg_catalog.pg_size_pretty(v_a)) END;
    END IF;

  ELSIF p_check = 'wal-receiver' THEN
    IF NOT pg_catalog.pg_is_in_recovery() THEN
      value := NULL; detail := 'primary: no WAL receiver (not a standby)';
    ELSE
      SELECT w.status, w.last_msg_receipt_time, w.sender_host, w.sender_port INTO v_name, v_ts, v_text, v_c
        FROM pg_catalog.pg_stat_wal_receiver w;
      value := CASE WHEN v_name = 'streaming' THEN 0 ELSE 1 END;
      detail := CASE WHEN v_name IS NULL THEN 'standby: no WAL receiver running'
        ELSE pg_catalog.format('standby: %s from %s:%s, last message at %s', v_name, coalesce(v_text, '?'), coalesce(v_c::text, '?'), coalesce(v_ts::text, '-')) END;
    END IF;

  ELSIF p_check = 'replication-slots-inactive' THEN
    SELECT pg_catalog.count(*) FILTER (WHERE NOT s.active), pg_catalog.count(*),
           pg_catalog.string_agg(s.slot_name::text, ', ') FILTER (WHERE NOT s.active)
      INTO v_a, v_b, v_name
      FROM pg_catalog.pg_replication_slots s;
    value := v_a;
    detail := CASE WHEN v_b = 0 THEN 'no replication slots' WHEN v_a = 0 THEN pg_catalog.format('%s slots, all active', v_b)
      ELSE pg_catalog.format('%s of %s slots inactive: %s', v_a, v_b, v_name) END;

  ELSIF p_check = 'replication-slot-wal' THEN
    SELECT pg_catalog.pg_wal_lsn_diff(CASE WHEN pg_catalog.pg_is_in_recovery() THEN pg_catalog.pg_last_wal_receive_lsn()
                                           ELSE pg_catalog.pg_current_wal_lsn() END, s.restart_lsn),
           s.slot_name::text
      INTO v_a, v_name
      FROM pg_catalog.pg_replication_slots s WHERE s.restart_lsn IS NOT NULL ORDER BY 1 DESC NULLS LAST LIMIT 1;
    value := v_a;
    detail := CASE WHEN v_name IS NULL THEN 'no replication slot retains WAL'
      ELSE pg_catalog.format('slot %s retains %s', v_name, pg_catalog.pg_size_pretty(v_a)) END;

  ELSIF p_check = 'archiver' THEN
    IF pg_catalog.current_setting('archive_mode') = 'off' THEN
      value := NULL; detail := 'archive_mode is off';
    ELSE
      SELECT CASE WHEN s.last_failed_time > coalesce(s.last_archived_time, '-infinity') THEN 1 ELSE 0 END,
             pg_catalog.format('%s archived, %s failed; last archived %s at %s; last failed %s at %s',
                               s.archived_count, s.failed_count, coalesce(s.last_archived_wal, '-'), coalesce(s.last_archived_time::text, '-'),
                               coalesce(s.last_failed_wal, '-'), coalesce(s.last_failed_time::text, '-'))
        INTO value, detail FROM pg_catalog.pg_stat_archiver s;
    END IF;

  ELSIF p_check = 'checkpoints-requested' THEN
    -- PostgreSQL 17 moved the counters from pg_stat_bgwriter to pg_stat_checkpointer
    IF pg_catalog.current_setting('server_version_num')::int >= 170000 THEN
      EXECUTE 'SELECT num_timed::numeric, num_requested::numeric FROM pg_catalog.pg_stat_checkpointer' INTO v_a, v_b;
    ELSE
      EXECUTE 'SELECT checkpoints_timed::numeric, checkpoints_req::numeric FROM pg_catalog.pg_stat_bgwriter' INTO v_a, v_b;
    END IF;
    value := CASE WHEN v_a + v_b >= 10 THEN pg_catalog.round(100 * v_b / (v_a + v_b), 1) END;
    detail := pg_catalog.format('%s requested, %s timed since statistics reset%s', v_b, v_a,
                                CASE WHEN v_a + v_b < 10 THEN ' (too few to judge)' ELSE '' END);

  ELSIF p_check = 'prepared-transactions' THEN
    IF pg_catalog.current_setting('max_prepared_transactions')::int = 0 THEN
      value := NULL; detail := 'max_prepared_transactions is 0: none can exist';
    ELSE
      SELECT EXTRACT(epoch FROM pg_catalog.now() - p.prepared), p.gid, pg_catalog.count(*) OVER ()
        INTO v_a, v_name, v_b
        FROM pg_catalog.pg_prepared_xacts p ORDER BY p.prepared LIMIT 1;
      value := coalesce(pg_catalog.round(v_a, 1), 0);
      detail := CASE WHEN v_name IS NULL THEN 'no prepared transaction'
        ELSE pg_catalog.format('%s prepared, the oldest %s s: gid %s', v_b, pg_catalog.round(v_a, 1), v_name) END;
    END IF;

  ELSIF p_check = 'pg-stat-statements' THEN
    v_name := pg_catalog.current_setting('shared_preload_libraries');
    v_a := CASE WHEN v_name ~ '(^|[\s,])"?pg_stat_statements"?($|[\s,])' THEN 1 ELSE 0 END;
    v_b := CASE WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_extension e WHERE e.extname = 'pg_stat_statements') THEN 1 ELSE 0 END;
    value := CASE WHEN v_a = 1 AND v_b = 1 THEN 0 ELSE 1 END;
    detail := CASE WHEN v_a = 0 THEN 'pg_stat_statements is not in shared_preload_libraries'
                   WHEN v_b = 0 THEN 'the pg_stat_statements extension is not created in this database'
                   ELSE 'loaded and created' END;

  ELSIF p_check = 'tenant-rls' THEN
    SELECT pg_catalog.count(*), pg_catalog.string_agg(pg_catalog.format('%I.%I (%s)', n.nspname, c.relname,
             CASE WHEN NOT c.relrowsecurity THEN 'RLS not enabled' WHEN NOT c.relforcerowsecurity THEN 'RLS not forced'
                  ELSE 'no policy' END), ', ' ORDER BY n.nspname, c.relname)
      INTO v_a, v_name
      FROM pg_catalog.pg_class c
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname IN ('booking', 'ops') AND c.relkind IN ('r', 'p') AND NOT c.relispartition
       AND (EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                     WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)
            OR (n.nspname = 'booking' AND c.relname = 'tenants'))
       AND (NOT c.relrowsecurity OR NOT c.relforcerowsecurity
            OR NOT EXISTS (SELECT 1 FROM pg_catalog.pg_policy p WHERE p.polrelid = c.oid));
    value := v_a;
    detail := coalesce(v_name, 'every tenant table has RLS enabled, forced and a policy');

  ELSIF p_check = 'exclusion-constraint' THEN
    SELECT pg_catalog.count(*) INTO v_a
      FROM pg_catalog.pg_constraint k JOIN pg_catalog.pg_index i ON i.indexrelid = k.conindid
     WHERE k.conrelid = pg_catalog.to_regclass('booking.booking_allocations') AND k.contype = 'x'
       AND k.convalidated AND i.indisvalid AND i.indisready;
    value := CASE WHEN v_a > 0 THEN 0 ELSE 1 END;
    detail := CASE WHEN v_a > 0 THEN 'booking.booking_allocations has a valid exclusion constraint'
      ELSE 'booking.booking_allocations has no valid exclusion constraint: overlapping bookings are possible' END;

  ELSIF p_check = 'app-role-privileges' THEN
    WITH RECURSIVE app AS (
      SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname = 'bookingdb_app'
      UNION
      SELECT m.member FROM pg_catalog.pg_auth_members m JOIN app ON m.roleid = app.oid
    ), owner AS (
      SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname = 'bookingdb_owner'
      UNION
      SELECT m.member FROM pg_catalog.pg_auth_members m JOIN owner ON m.roleid = owner.oid
    )
    SELECT pg_catalog.count(*), pg_catalog.string_agg(pg_catalog.format('%s (%s)', r.rolname,
             pg_catalog.concat_ws(', ', CASE WHEN r.rolsuper THEN 'superuser' END, CASE WHEN r.rolbypassrls THEN 'BYPASSRLS' END,
                                  CASE WHEN r.oid IN (SELECT oid FROM owner) THEN 'member of bookingdb_owner' END)), ', ' ORDER BY r.rolname)
      INTO v_a, v_name
      FROM pg_catalog.pg_roles r
     WHERE r.oid IN (SELECT oid FROM app)
       AND (r.rolsuper OR r.rolbypassrls OR r.oid IN (SELECT oid FROM owner));
    value := v_a;
    detail := coalesce(v_name, 'no app role is superuser, BYPASSRLS or a member of the owner role');

  ELSIF p_check = 'audit-partitions-ahead' THEN
    SELECT pg_catalog.count(*) FILTER (WHERE pg_catalog.to_regclass('ops.' || m.name) IS NULL),
           pg_catalog.string_agg(m.name, ', ') FILTER (WHERE pg_catalog.to_regclass('ops.' || m.name) IS NULL)
      INTO v_a, v_name
      FROM (SELECT 'audit_log_' || pg_catalog.to_char(pg_catalog.date_trunc('month', pg_catalog.now() AT TIME ZONE 'UTC')
                     + pg_catalog.make_interval(months => g), '"y"YYYY"m"MM') AS name
              FROM pg_catalog.generate_series(0, 2) g) m;
    value := v_a;
    detail := CASE WHEN v_a = 0 THEN 'partitions exist for this month and the next two'
      ELSE pg_catalog.format('missing: %s (rows for those months go to the default partition)', v_name) END;

  ELSE
    RAISE EXCEPTION 'health check "%" has no measurement', p_check USING ERRCODE = 'BK003';
  END IF;
END
$$;

REVOKE ALL ON FUNCTION ops.health_metric(text) FROM PUBLIC, bookingdb_owner;
GRANT EXECUTE ON FUNCTION ops.health_metric(text) TO bookingdb_monitor;
