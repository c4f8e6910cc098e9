-- Replication as this server sees it, from functions and pg_stat_replication only.
-- On a standby (in recovery): WAL received but not yet replayed, in bytes, and the
-- replay delay in seconds: now() minus the commit time of the last replayed
-- transaction, but 0 when everything received is replayed (an idle primary sends
-- nothing to replay: its standby is not behind). NULL without streaming (archive only).
-- On a primary: one entry per standby (also on a cascading standby), WAL not yet
-- replayed by it in bytes and its replay_lag; positions need pg_monitor. A standby is
-- named application_name@client address (the default application_name, walreceiver,
-- is the same for every standby).
WITH r AS (
  SELECT pg_catalog.pg_is_in_recovery() AS in_recovery,
         pg_catalog.pg_last_wal_receive_lsn() AS received,
         pg_catalog.pg_last_wal_replay_lsn() AS replayed
)
SELECT r.in_recovery,
       CASE WHEN r.in_recovery THEN greatest(pg_catalog.pg_wal_lsn_diff(r.received, r.replayed), 0)::float8 END AS replay_lag_bytes,
       CASE WHEN NOT r.in_recovery THEN NULL
            WHEN r.received IS NOT NULL AND r.received <= r.replayed THEN 0::float8
            ELSE greatest(EXTRACT(epoch FROM pg_catalog.now() - pg_catalog.pg_last_xact_replay_timestamp()), 0)::float8 END AS replay_lag_seconds,
       (SELECT coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                 'standby', coalesce(nullif(s.application_name, ''), 'standby') || '@' || coalesce(pg_catalog.host(s.client_addr), 'local'),
                 'state', s.state,
                 'lagBytes', pg_catalog.pg_wal_lsn_diff(CASE WHEN r.in_recovery THEN r.received ELSE pg_catalog.pg_current_wal_lsn() END, s.replay_lsn)::float8,
                 'replayLagSeconds', EXTRACT(epoch FROM s.replay_lag)::float8) ORDER BY s.application_name, s.pid), '[]'::jsonb)
          FROM pg_catalog.pg_stat_replication s) AS standbys
  FROM r
