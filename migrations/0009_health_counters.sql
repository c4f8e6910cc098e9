-- Up Migration
-- The counters health-check compares against on its next run: `deadlocks` and
-- `temp-bytes` report what happened since the previous run (of ops.health_check()
-- from psql or of `bookingdb health-check`), so the previous cumulative value of
-- pg_stat_database is kept here, one row per counter, with the stats_reset it was read
-- under (a statistics reset restarts the count instead of giving a negative delta).
-- Written only by ops.health_private_metric() (SECURITY DEFINER, owned by
-- bookingdb_ops); a row is a number and two timestamps, nothing per tenant.
CREATE TABLE ops.health_counters (
  name        text NOT NULL,
  value       numeric NOT NULL,
  stats_reset timestamptz,
  recorded_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  CONSTRAINT health_counters_pkey PRIMARY KEY (name),
  CONSTRAINT health_counters_name_format CHECK (name ~ '^[a-z][a-z0-9-]{0,62}$')
);

-- Down Migration
DROP TABLE ops.health_counters;
