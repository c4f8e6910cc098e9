-- ops.audit_log has a partition for this month and the next (UTC); rows for a month
-- without one land in the default partition (see ops.ensure_audit_partitions()).
SELECT pg_catalog.format('ops.audit_log has no partition for %s (run ops.ensure_audit_partitions())',
         pg_catalog.to_char(m, 'YYYY-MM')) AS violation
  FROM pg_catalog.generate_series(pg_catalog.date_trunc('month', pg_catalog.now() AT TIME ZONE 'UTC'),
                                  pg_catalog.date_trunc('month', pg_catalog.now() AT TIME ZONE 'UTC') + interval '1 month',
                                  interval '1 month') AS m
 WHERE pg_catalog.to_regclass('ops.audit_log_' || pg_catalog.to_char(m, '"y"YYYY"m"MM')) IS NULL
 ORDER BY 1;
