-- Up Migration
-- Stored metric snapshots (`bookingdb metrics --store`, run by cron every few minutes).
-- One row per snapshot: the whole snapshot as one jsonb document (server metrics, the
-- booking counters of the window and their cumulative totals, per tenant keyed by
-- tenant id), so a new metric needs no migration. The booking counters of a snapshot
-- cover audit-log rows with occurred_at in [counted_from, counted_to); the next
-- snapshot starts where this one ended, so consecutive snapshots neither miss nor
-- double-count a row (see sql/queries/metrics/window.sql for how counted_to is chosen).
-- Nothing here is per tenant as a row (no tenant_id column, no RLS): per-tenant
-- counters are ids and counts inside `metrics`, never PII.
--
-- Retention: `bookingdb maintain` deletes rows with taken_at older than
-- metrics.retentionDays (default 14), in batches, through metric_snapshots_taken_idx;
-- the newest snapshot is always kept, because the next one builds its totals on it.
-- run_id points at the ops.runs row of the `metrics --store` run that wrote it; when
-- maintain prunes that run first, the link becomes NULL.
CREATE TABLE ops.metric_snapshots (
  id            bigint GENERATED ALWAYS AS IDENTITY,
  taken_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
  counted_from  timestamptz NOT NULL,
  counted_to    timestamptz NOT NULL,
  run_id        bigint,
  metrics       jsonb NOT NULL,
  CONSTRAINT metric_snapshots_pkey PRIMARY KEY (id),
  CONSTRAINT metric_snapshots_run_fkey FOREIGN KEY (run_id) REFERENCES ops.runs (id) ON DELETE SET NULL,
  CONSTRAINT metric_snapshots_window_check CHECK (counted_to >= counted_from),
  CONSTRAINT metric_snapshots_metrics_object CHECK (jsonb_typeof(metrics) = 'object')
);
-- the previous snapshot (ORDER BY taken_at DESC LIMIT 1) and retention pruning by age
CREATE INDEX metric_snapshots_taken_idx ON ops.metric_snapshots (taken_at);
-- ON DELETE SET NULL from ops.runs pruning looks snapshots up by run
CREATE INDEX metric_snapshots_run_idx ON ops.metric_snapshots (run_id) WHERE run_id IS NOT NULL;

-- 23P01 conflicts of book/reschedule. Sequences are not transactional: a nextval()
-- made just before the RAISE in booking._make_room survives the rollback of the
-- failed booking, so this counts conflicts without a write that could block or slow
-- book: it runs only on the conflict path, takes no row lock, and writes WAL once per
-- 32 calls (measured: about 7 microseconds a call on a loaded 2-core machine).
-- Read with last_value/is_called (a counter: it only grows; `metrics` reports it as
-- bookingdb_booking_conflicts_total).
CREATE SEQUENCE ops.booking_conflicts AS bigint MINVALUE 0 START WITH 1 NO CYCLE;

-- Down Migration
DROP SEQUENCE ops.booking_conflicts;
DROP TABLE ops.metric_snapshots;
