-- bookingdb: run as ops
-- ops.health_checks(): the catalogue of the checks the database makes about itself,
-- with their built-in default thresholds, as data. ops.health_check() grades with
-- these; `bookingdb health-check` has the same list in src/health/checks.ts (a test
-- keeps the two equal) and re-grades with the thresholds of the config file.
--   direction 'above': value >= critical is critical, >= warning is warning;
--   direction 'below': value <= critical is critical, <= warning is warning;
--   a NULL threshold never fires; a NULL value means "nothing to judge" (e.g. no
--   replicas, archiving off, too few reads yet) and is ok.
-- Check names are a contract (monitoring rules key on them): never rename one.
CREATE OR REPLACE FUNCTION ops.health_checks()
  RETURNS TABLE(check_name text, category text, unit text, warning numeric, critical numeric,
                direction text, remedy text)
  LANGUAGE sql
  IMMUTABLE
  SET search_path = pg_catalog, pg_temp
AS $$
  VALUES
    ('connections', 'server', '%', 80::numeric, 95::numeric, 'above', 'find idle clients in pg_stat_activity; put PgBouncer (transaction mode) in front or raise max_connections'),
    ('longest-transaction', 'server', 's', 300, 1800, 'above', 'see the pid in the detail: pg_cancel_backend(pid), and fix the client that keeps transactions open'),
    ('idle-in-transaction', 'server', 's', 60, 300, 'above', 'pg_terminate_backend(pid) of the idle session; set idle_in_transaction_session_timeout for the app role'),
    ('lock-waits', 'server', '', 5, 20, 'above', 'see the blocking pids in the detail (pg_blocking_pids); end the blocker or retry the DDL later'),
    ('longest-lock-wait', 'server', 's', 10, 60, 'above', 'end the blocking pid named in the detail; run DDL with a short lock_timeout'),
    ('cache-hit-ratio', 'server', '%', 95, 90, 'below', 'raise shared_buffers (bookingdb doctor), or find the statements that read most blocks (bookingdb slow-queries)'),
    ('xid-wraparound', 'server', 'xids', 1300000000, 1400000000, 'above', 'run VACUUM (FREEZE) in the database named in the detail, and end what holds back the xmin horizon'),
    ('xid-wraparound-table', 'server', 'xids', 1300000000, 1400000000, 'above', 'VACUUM (FREEZE, VERBOSE) the table named in the detail'),
    ('multixact-wraparound', 'server', 'mxids', 1300000000, 1400000000, 'above', 'run VACUUM (FREEZE) in the database named in the detail'),
    ('multixact-wraparound-table', 'server', 'mxids', 1300000000, 1400000000, 'above', 'VACUUM (FREEZE, VERBOSE) the table named in the detail'),
    ('invalid-indexes', 'server', '', 1, NULL, 'above', 'DROP INDEX CONCURRENTLY the index named in the detail and create it again (it failed to build)'),
    ('ccnew-indexes', 'server', '', 1, NULL, 'above', 'a REINDEX CONCURRENTLY was interrupted: DROP INDEX CONCURRENTLY the _ccnew/_ccold index named in the detail'),
    ('sequence-exhaustion', 'server', '%', 75, 90, 'above', 'ALTER SEQUENCE ... AS bigint MAXVALUE ... for the sequence named in the detail'),
    ('integer-key-exhaustion', 'server', '%', 75, 90, 'above', 'migrate the column named in the detail to bigint before its sequence passes the type''s maximum'),
    ('dead-tuples', 'server', '%', 20, 50, 'above', 'VACUUM the table named in the detail; lower its autovacuum_vacuum_scale_factor; end long transactions'),
    ('last-vacuum', 'server', 'h', 72, 168, 'above', 'VACUUM the table named in the detail; check that autovacuum is on and not blocked'),
    ('last-analyze', 'server', 'h', 72, 168, 'above', 'ANALYZE the table named in the detail; check that autovacuum is on'),
    ('table-bloat', 'server', 'x', 2, 4, 'above', 'VACUUM (or pg_repack) the table named in the detail; run VACUUM FULL only in a maintenance window'),
    ('index-bloat', 'server', 'x', 2, 4, 'above', 'REINDEX INDEX CONCURRENTLY the index named in the detail'),
    ('replication-lag', 'server', 's', 30, 300, 'above', 'check the standby named in the detail: network, disk, and long queries on it (hot_standby_feedback)'),
    ('replication-lag-bytes', 'server', 'B', 104857600, 1073741824, 'above', 'WAL waits to be replayed on the standby named in the detail: check its disk and CPU, and long queries there (max_standby_streaming_delay)'),
    ('wal-receiver', 'server', '', 1, NULL, 'above', 'this standby is not streaming from its primary: check primary_conninfo, the network and the primary''s pg_hba.conf (replication), and the standby''s log'),
    ('replication-slots-inactive', 'server', '', 1, NULL, 'above', 'reconnect the consumer of the slot named in the detail, or pg_drop_replication_slot() it'),
    ('replication-slot-wal', 'server', 'B', 1073741824, 10737418240, 'above', 'the slot named in the detail retains WAL: reconnect its consumer or drop it; set max_slot_wal_keep_size'),
    ('archiver', 'server', '', 1, 1, 'above', 'archive_command is failing for the WAL file named in the detail: fix it before pg_wal fills the disk'),
    ('checkpoints-requested', 'server', '%', 30, 60, 'above', 'checkpoints are forced by WAL volume: raise max_wal_size (bookingdb doctor)'),
    ('deadlocks', 'server', '', 1, 10, 'above', 'read the deadlock reports in the server log; take locks in one order (book() locks resources in id order)'),
    ('temp-bytes', 'server', 'B', 1073741824, 10737418240, 'above', 'find the statements that spill to disk (bookingdb slow-queries) and raise work_mem for them'),
    ('prepared-transactions', 'server', 's', 60, 300, 'above', 'COMMIT PREPARED or ROLLBACK PREPARED the gid named in the detail'),
    ('pg-stat-statements', 'server', '', 1, NULL, 'above', 'add pg_stat_statements to shared_preload_libraries (restart), then bookingdb deploy creates the extension'),
    ('overlapping-allocations', 'booking', '', NULL, 1, 'above', 'double bookings: restore the exclusion constraint (bookingdb deploy) and resolve the allocations named in the detail'),
    ('tenant-rls', 'booking', '', NULL, 1, 'above', 'a tenant table lacks RLS, FORCE or its policy: run bookingdb deploy, which restores them'),
    ('exclusion-constraint', 'booking', '', NULL, 1, 'above', 'booking_allocations_no_overlap is missing or not valid: run bookingdb deploy'),
    ('app-role-privileges', 'booking', '', NULL, 1, 'above', 'ALTER ROLE ... NOSUPERUSER NOBYPASSRLS / REVOKE bookingdb_owner FROM the login named in the detail'),
    ('expired-holds', 'booking', '', 1, 100, 'above', 'run bookingdb maintain (it expires holds); check that its cron job runs'),
    ('audit-partitions-ahead', 'booking', '', 1, 2, 'above', 'run bookingdb maintain (or bookingdb deploy): it creates the audit-log partitions ahead'),
    ('audit-default-rows', 'booking', '', 1, 10000, 'above', 'run bookingdb maintain: creating the missing months moves these rows out of the default partition'),
    ('erasure-requests-overdue', 'booking', 'd', 20, 30, 'above', 'process the pending erasure requests (GDPR allows one month)')
$$;

-- EXECUTE to monitor only, the health functions' audience.
REVOKE ALL ON FUNCTION ops.health_checks() FROM PUBLIC, bookingdb_owner;
GRANT EXECUTE ON FUNCTION ops.health_checks() TO bookingdb_monitor;
