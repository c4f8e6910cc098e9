-- Writes one snapshot ($1 taken_at, $2 counted_from, $3 counted_to, $4 run id, $5 the
-- snapshot document) and returns its id.
INSERT INTO ops.metric_snapshots (taken_at, counted_from, counted_to, run_id, metrics)
VALUES ($1::timestamptz, $2::timestamptz, $3::timestamptz, $4::bigint, $5::jsonb)
RETURNING id
