-- Server and database counters of this database (pg_stat_database, since its stats
-- reset), its size, and the connections of the server by state. No table is read;
-- pg_database_size walks the database directory and takes no lock.
SELECT d.xact_commit::float8 AS xact_commit,
       d.xact_rollback::float8 AS xact_rollback,
       d.blks_hit::float8 AS blks_hit,
       d.blks_read::float8 AS blks_read,
       d.deadlocks::float8 AS deadlocks,
       d.temp_bytes::float8 AS temp_bytes,
       d.temp_files::float8 AS temp_files,
       pg_catalog.pg_database_size(d.datid)::float8 AS database_bytes,
       pg_catalog.current_setting('max_connections')::int AS max_connections,
       (SELECT coalesce(pg_catalog.jsonb_object_agg(s.state, s.n), '{}'::jsonb)
          FROM (SELECT coalesce(a.state, 'unknown') AS state, pg_catalog.count(*) AS n
                  FROM pg_catalog.pg_stat_activity a
                 WHERE a.backend_type = 'client backend'
                 GROUP BY 1) s) AS connections,
       (SELECT pg_catalog.count(*) FROM pg_catalog.pg_stat_activity a
         WHERE a.backend_type = 'client backend' AND a.wait_event_type = 'Lock')::int AS waiting_on_locks
  FROM pg_catalog.pg_stat_database d
 WHERE d.datname = pg_catalog.current_database()
