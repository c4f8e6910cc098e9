-- ops.audit_log has a partition for the current month (UTC). Deploy creates this month
-- and the next three; `bookingdb maintain` should keep creating them ahead. Without
-- one, rows land in the default partition (no outage); this check names the gap.
SELECT pg_catalog.format('ops.audit_log has no partition for %s (run SELECT ops.ensure_audit_partitions())',
         pg_catalog.to_char(m, 'YYYY-MM')) AS violation
  FROM (SELECT pg_catalog.date_trunc('month', pg_catalog.now() AT TIME ZONE 'UTC') AS m) AS months
 WHERE pg_catalog.to_regclass('ops.audit_log_' || pg_catalog.to_char(m, '"y"YYYY"m"MM')) IS NULL;
