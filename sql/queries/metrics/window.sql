-- The window of the booking counters: [counted_from, counted_to).
-- counted_to is the start of the oldest transaction still open in this database (its
-- audit rows, not yet committed, are stamped with that start time, so a later window
-- must still see them), never earlier than $3 seconds ago (a transaction open longer
-- than that does not hold the counters back; its rows, if any, are not counted) and
-- never later than now. Only sessions this login may see count (pg_monitor sees all).
-- counted_from is where the previous snapshot ended ($1), but at most $2 minutes back;
-- without a previous snapshot, the last $2 minutes.
-- $1 previous counted_to (NULL: none), $2 window minutes, $3 transaction lag seconds.
WITH open_tx AS (
  SELECT pg_catalog.min(a.xact_start) AS oldest
    FROM pg_catalog.pg_stat_activity a
   WHERE a.datname = pg_catalog.current_database()
     AND a.pid <> pg_catalog.pg_backend_pid()
     AND a.backend_type = 'client backend'
     AND a.xact_start IS NOT NULL
), horizon AS (
  SELECT LEAST(pg_catalog.now(),
               GREATEST(pg_catalog.now() - pg_catalog.make_interval(secs => $3::int),
                        coalesce(o.oldest, pg_catalog.now()))) AS counted_to
    FROM open_tx o
)
SELECT LEAST(h.counted_to,
             GREATEST($1::timestamptz, h.counted_to - pg_catalog.make_interval(mins => $2::int))) AS counted_from,
       h.counted_to,
       pg_catalog.now() AS taken_at
  FROM horizon h
