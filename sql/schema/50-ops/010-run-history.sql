-- ops.run_history: ops.runs with the state a reader should show. A row still
-- `running` whose advisory lock (classid 'bkru', objid = id, see migration 0007) no
-- backend holds any more is `interrupted`: the process died (kill -9, OOM, reboot)
-- before it could finish the row. Reading pg_locks needs no privilege.
CREATE OR REPLACE VIEW ops.run_history
  WITH (security_invoker = true)
AS
SELECT r.id, r.command, r.task, r.started_at, r.finished_at,
       CASE
         WHEN r.status <> 'running' THEN r.status
         WHEN EXISTS (
           SELECT 1 FROM pg_catalog.pg_locks l
            WHERE l.locktype = 'advisory' AND l.granted
              AND l.database = (SELECT d.oid FROM pg_catalog.pg_database d
                                 WHERE d.datname = pg_catalog.current_database())
              AND l.classid = 1651208821::oid AND l.objid = r.id::oid AND l.objsubid = 1)
           THEN 'running'
         ELSE 'interrupted'
       END AS state,
       coalesce(r.finished_at, pg_catalog.clock_timestamp()) - r.started_at AS duration,
       r.detail, r.client, r.backend_pid
  FROM ops.runs r;

COMMENT ON VIEW ops.run_history IS
  'ops.runs with state running|interrupted|ok|failed|skipped (interrupted: running, but no backend holds the run''s lock)';

-- Who may read and write the ledger. The CLI writes it with the connection it runs
-- the command with (a superuser, or a login in the owner role); monitoring reads it
-- for the freshness checks.
REVOKE ALL ON ops.runs, ops.run_history FROM PUBLIC;
GRANT SELECT ON ops.runs, ops.run_history TO bookingdb_monitor, bookingdb_reporting;
