-- For `bookingdb maintain` prune: deletes up to $2 ops.runs rows started more than $1
-- days ago, oldest first, through runs_started_idx. Never a run still running (its
-- session holds the run lock, classid 'bkru' = 1651208821, objid = id); a `running`
-- row whose lock is gone is an interrupted run and goes like a finished one. Rows
-- locked by another session are skipped, not waited for. Returns the ids it deleted;
-- call again until fewer than $2 come back.
WITH doomed AS (
  SELECT r.id FROM ops.runs r
   WHERE r.started_at < pg_catalog.now() - pg_catalog.make_interval(days => $1::int)
     AND (r.status <> 'running' OR NOT EXISTS (
           SELECT 1 FROM pg_catalog.pg_locks l
            WHERE l.locktype = 'advisory' AND l.granted
              AND l.database = (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database())
              AND l.classid = 1651208821::oid AND l.objid = r.id::oid AND l.objsubid = 1))
   ORDER BY r.started_at
   LIMIT $2::int
     FOR UPDATE SKIP LOCKED
)
DELETE FROM ops.runs r USING doomed d WHERE r.id = d.id
RETURNING r.id
