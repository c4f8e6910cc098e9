-- The newest stored snapshot: where its booking counters ended, and its cumulative
-- totals (total and per tenant), which the next window adds to. Backward scan of
-- metric_snapshots_taken_idx, one row.
SELECT s.id, s.taken_at, s.counted_to, s.metrics -> 'bookings' AS bookings
  FROM ops.metric_snapshots s
 ORDER BY s.taken_at DESC, s.id DESC
 LIMIT 1
