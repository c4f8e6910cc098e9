-- For `bookingdb maintain --dry-run` prune: how many ops.runs rows (started more than
-- $1 days ago, not running) and stored metric snapshots (taken more than $2 days ago,
-- never the newest) prune would delete. Index range counts (runs_started_idx,
-- metric_snapshots_taken_idx).
SELECT
  (SELECT pg_catalog.count(*) FROM ops.runs r
    WHERE r.started_at < pg_catalog.now() - pg_catalog.make_interval(days => $1::int)
      AND (r.status <> 'running' OR NOT EXISTS (
            SELECT 1 FROM pg_catalog.pg_locks l
             WHERE l.locktype = 'advisory' AND l.granted
               AND l.database = (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database())
               AND l.classid = 1651208821::oid AND l.objid = r.id::oid AND l.objsubid = 1)))::bigint AS runs,
  (SELECT pg_catalog.count(*) FROM ops.metric_snapshots s
    WHERE s.taken_at < pg_catalog.now() - pg_catalog.make_interval(days => $2::int)
      AND s.id <> ALL (ARRAY(SELECT n.id FROM ops.metric_snapshots n ORDER BY n.taken_at DESC, n.id DESC LIMIT 1)))::bigint AS snapshots
