-- For `bookingdb maintain`: deletes up to $2 snapshots taken more than $1 days ago,
-- oldest first, through metric_snapshots_taken_idx, never the newest one (the next
-- snapshot builds its cumulative totals on it). Returns how many it deleted; call
-- again until 0.
WITH newest AS (
  SELECT s.id FROM ops.metric_snapshots s ORDER BY s.taken_at DESC, s.id DESC LIMIT 1
), doomed AS (
  SELECT s.id FROM ops.metric_snapshots s
   WHERE s.taken_at < pg_catalog.now() - pg_catalog.make_interval(days => $1::int)
     AND s.id <> ALL (ARRAY(SELECT id FROM newest))
   ORDER BY s.taken_at
   LIMIT $2::int
)
DELETE FROM ops.metric_snapshots s USING doomed d WHERE s.id = d.id
RETURNING s.id
